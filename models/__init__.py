"""Model registry (torch-free: ``models.registry``) and loading/generation (torch: the other modules).

Only ``registry`` may be imported by the API process; every other module here imports torch lazily.
"""
