"""Kernel factories; each workflow app adds its own module (tests/factories/ptim.py, ...)."""
