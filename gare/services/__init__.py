"""Service functions of the tenders app, one per workflow step (see the submodules)."""

from .common import GareError

__all__ = ["GareError"]
