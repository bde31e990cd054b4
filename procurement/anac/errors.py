"""What can go wrong when calling ANAC, and the Italian text of ANAC's error codes."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .specs import description

# Codes meaning "the RUP is not registered or profiled on ANAC's services for this authority".
NOT_AUTHORISED_CODES = {"SEC01", "SEC02", "SEC05", "SEC09", "SEC16", "ERR1", "AUT01"}


@dataclass(frozen=True)
class AnacErrorItem:
    codice: str
    dettaglio: str = ""

    @property
    def descrizione(self) -> str:
        return description("errori", self.codice) or description("erroriEC", self.codice)

    def __str__(self) -> str:
        text = f"{self.codice}: {self.descrizione or _('errore non censito')}"
        return f"{text} ({self.dettaglio})" if self.dettaglio else text


def error_items(body) -> list[AnacErrorItem]:
    if not isinstance(body, dict):
        return []
    items = []
    for raw in body.get("errori") or []:
        if isinstance(raw, dict) and raw.get("codice"):
            items.append(AnacErrorItem(str(raw["codice"]), str(raw.get("dettaglio") or "")))
    return items


class AnacError(Exception):
    """Base class. `final` tells whether retrying the same request can change the outcome."""

    final = True

    def __init__(self, message: str, *, status: int | None = None, body=None):
        super().__init__(message)
        self.status = status
        self.body = body


class AnacRejected(AnacError):
    """ANAC answered and said no (4xx with errori): a KO to show to the user."""

    def __init__(self, message: str, *, status: int, body, errors: list[AnacErrorItem]):
        super().__init__(message, status=status, body=body)
        self.errors = errors

    @property
    def not_authorised(self) -> bool:
        return any(e.codice in NOT_AUTHORISED_CODES for e in self.errors) or self.status in {
            401,
            403,
        }


class AnacNotFound(AnacRejected):
    """404: for an outcome just acknowledged this means "not known yet"."""


class AnacRateLimited(AnacError):
    final = False

    def __init__(self, message: str, *, retry_after: float, status: int = 429, body=None):
        super().__init__(message, status=status, body=body)
        self.retry_after = retry_after


class AnacUnavailable(AnacError):
    """5xx or connection error after the retries allowed: try again later."""

    final = False


class AnacUnknownOutcome(AnacError):
    """A POST timed out or the connection broke: ANAC may or may not have acted. Reconcile."""

    final = False
