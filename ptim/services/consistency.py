"""PTIM services: consistency (split of the former ptim/services.py)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from ..amounts import (
    consumption,
    euro,
)
from ..models import (
    Contract,
)

# --- consistency --------------------------------------------------------------------------------


def residual_differences() -> list[str]:
    """Recompute every contract's consumption from its state and variations (R-PTIM-009)."""
    diffs = []
    for contract in Contract.objects.select_related("spending_chapter").iterator():
        expected = consumption(contract)
        if expected != contract.consumed_amount:
            diffs.append(
                _("Contratto n. %(p)s: impegno registrato € %(r)s, ricalcolato € %(e)s")
                % {
                    "p": contract.progressive,
                    "r": euro(contract.consumed_amount),
                    "e": euro(expected),
                }
            )
    return diffs
