"""Exceptions of the evaluation engine; every message is Italian."""

from collections.abc import Iterable

from gare.evaluation._i18n import _


class EvaluationError(Exception):
    """Base error: carries the list of problems found (each an Italian sentence)."""

    heading = ""

    def __init__(self, problems: Iterable[str] | str):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = tuple(problems)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return (
            "\n".join([self.heading, *(f"- {p}" for p in self.problems)])
            if self.heading
            else "\n".join(self.problems)
        )

    def __str__(self) -> str:
        return self.message


class SchemeError(EvaluationError):
    """The scheme cannot be evaluated deterministically (``EvaluationScheme.validate``)."""

    @property
    def heading(self) -> str:  # type: ignore[override]
        return _("Lo schema di valutazione non è valutabile in modo deterministico:")


class OfferInputError(EvaluationError):
    """The offers' data are incomplete or inconsistent with the scheme."""

    @property
    def heading(self) -> str:  # type: ignore[override]
        return _("I dati delle offerte non sono completi o non sono coerenti con lo schema:")
