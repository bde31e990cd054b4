"""Access to the tender documents after the award (§8.15, [§27], AS-12, D-30).

From the award communication: the participants ranked in the first five see each other's
offers (envelopes B and C) and the awardee's; the others not definitively excluded see the
awardee's offer and the minutes; a definitively excluded participant gets nothing. Envelope A
of the others needs a specific access request (D-30).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from ..models import EnvelopeFile, LotStatus, Participant
from .common import GareError, require_operator

TOP = 5


@dataclass(frozen=True)
class AccessRights:
    offers: frozenset[int]  # participant ids whose B and C this participant may read
    notified: bool


def access_rights(participant: Participant) -> AccessRights:
    from .procedure import current_award, latest_run

    lot = participant.lot
    if lot.status not in (LotStatus.AWARDED, LotStatus.CONTRACT_SIGNED):
        return AccessRights(frozenset(), False)
    if participant.exclusions.filter(is_definitive=True).exists():
        return AccessRights(frozenset(), False)
    award = current_award(lot)
    run = latest_run(lot, "FULL")
    ranked = [int(o["id"]) for o in (run.result.get("offers", []) if run else [])]
    top = set(ranked[:TOP])
    visible = {award.participant_id}
    if participant.pk in top:
        visible |= top
    visible.discard(participant.pk)
    return AccessRights(frozenset(visible), True)


def access_file_content(*, user, participant: Participant, item: EnvelopeFile) -> bytes:
    """A file of another offer, if the access rights allow it (never envelope A)."""
    from .submission import _read_opened

    require_operator(user, participant.operator)
    owner = item.envelope.offer.participant_id
    if item.envelope.type == "A" or owner not in access_rights(participant).offers:
        raise GareError(
            _("Non hai accesso a questo documento: presenta un'istanza di accesso agli atti.")
        )
    return _read_opened(item)
