"""The ``sdqueue`` command: the composition root that may import both the API and the worker."""
