"""The HTTP API: an async FastAPI app that validates, enqueues and reports jobs. It never imports torch."""
