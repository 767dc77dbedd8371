"""The GPU worker: an RQ SimpleWorker that owns the model manager and runs jobs in-process."""
