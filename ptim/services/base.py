"""PTIM services: base (split of the former ptim/services.py)."""

from __future__ import annotations

import logging

from .. import messages as M

logger = logging.getLogger(__name__)

MAX_STIPULA_SIZE = 5 * 1024 * 1024
MAX_TEXT = 4000


class PtimError(Exception):
    """An error the user can fix; `errors` maps field names ('' = whole form) to messages."""

    def __init__(self, message: str = "", *, errors: dict | None = None, code: str = ""):
        self.errors = errors or {"": [message]}
        self.code = code
        super().__init__(message or "; ".join(str(m) for v in self.errors.values() for m in v))

    @property
    def message(self) -> str:
        return "; ".join(str(m) for v in self.errors.values() for m in v)


class Unavailable(PtimError):
    """No operator / insufficient ceiling: message A-03/A-04/A-05 and the DT line."""

    def __init__(self, message: str, *, agreement):
        super().__init__(message, code="unavailable")
        self.agreement = agreement
        self.dt_line = M.dt_line(agreement)
