"""The HTTP service: a thin FastAPI layer over :mod:`moderation`."""
