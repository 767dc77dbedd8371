"""The contract shared by the API and the worker: request and job models, errors, settings, Redis keys.

This package imports pydantic only (no project package, no torch), so both sides can depend on it.
"""
