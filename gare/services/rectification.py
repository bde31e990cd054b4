"""Rectification of a clerical error after the deadline (S-30, D-35, AS-15).

Until the opening session of the envelope concerned, the bidder may ask to rectify a clerical
error without revealing it; the SA gives instructions and a time limit; the bidder files a
sealed note kept with the envelope; the commission assesses it when the envelope is opened.
"""

from __future__ import annotations

import json

from django.db import transaction
from django.utils.translation import gettext as _

from .. import sealing
from ..models import EnvelopeState, RectificationRequest
from .common import GareError, audit, communication_send, fmt_dt, require_operator, require_staff
from .submission import economic_data_clean, envelope_data


def _envelope(participant, envelope_type):
    return participant.current_offer.envelopes.get(type=envelope_type)


def rectification_request(*, user, participant, envelope_type: str, now) -> RectificationRequest:
    require_operator(user, participant.operator)
    if envelope_type not in ("B", "C"):
        raise GareError(_("La rettifica riguarda la busta tecnica o quella economica."))
    if _envelope(participant, envelope_type).state == EnvelopeState.OPENED:
        raise GareError(
            _("La busta %(t)s è già stata aperta in seduta: la rettifica non è più ammessa.")
            % {"t": envelope_type}
        )
    with transaction.atomic():
        item = RectificationRequest.objects.create(
            participant=participant, envelope_type=envelope_type, requested_at=now
        )
        audit(
            action="richiesta di rettifica",
            actor=user,
            obj=participant,
            tender=participant.lot.tender,
            now=now,
            payload={"envelope": envelope_type},
        )
    return item


def rectification_instruct(*, user, item: RectificationRequest, instructions: str, deadline, now):
    tender = item.participant.lot.tender
    require_staff(user, tender)
    if deadline <= now:
        raise GareError(_("Il termine per la nota deve essere futuro."))
    with transaction.atomic():
        item = RectificationRequest.objects.select_for_update().get(pk=item.pk)
        item.instructions = instructions
        item.deadline = deadline
        item.save()
        communication_send(
            user=user,
            tender=tender,
            operator=item.participant.operator,
            kind="RECTIFICATION",
            subject=_("Istruzioni per la rettifica – gara %(code)s") % {"code": tender.code},
            body=_("%(i)s Deposita la nota sigillata entro il %(d)s.")
            % {"i": instructions, "d": fmt_dt(deadline)},
            now=now,
        )
    return item


def rectification_file_note(*, user, item: RectificationRequest, note: str, now):
    item = RectificationRequest.objects.select_related("participant__operator").get(pk=item.pk)
    require_operator(user, item.participant.operator)
    if item.deadline is None or now >= item.deadline:
        raise GareError(_("Il termine per depositare la nota è scaduto o non è stato fissato."))
    envelope = _envelope(item.participant, item.envelope_type)
    if envelope.state == EnvelopeState.OPENED:
        raise GareError(_("La busta è già stata aperta: la nota non è più ammessa."))
    tender = item.participant.lot.tender
    with transaction.atomic():
        item = RectificationRequest.objects.select_for_update().get(pk=item.pk)
        item.sealed_note = sealing.seal(tender, note.encode(), context=f"rect:{item.pk}")
        item.note_filed_at = now
        item.save()
        audit(
            action="nota di rettifica depositata",
            actor=user,
            obj=item.participant,
            tender=tender,
            now=now,
        )
    return item


def rectification_note(item: RectificationRequest) -> str:
    """The note, readable only once its envelope has been opened in session."""
    if _envelope(item.participant, item.envelope_type).state != EnvelopeState.OPENED:
        raise sealing.SealedError(_("La nota resta sigillata fino all'apertura della busta."))
    tender = item.participant.lot.tender
    return sealing.unseal(tender, item.sealed_note, context=f"rect:{item.pk}").decode()


def rectification_decide(
    *, user, item: RectificationRequest, accepted: bool, field: str = "", value: str = "", now
):
    """Accepted: the structured value is corrected with a reference to the note (C only)."""
    tender = item.participant.lot.tender
    require_staff(user, tender)
    envelope = _envelope(item.participant, item.envelope_type)
    if envelope.state != EnvelopeState.OPENED:
        raise GareError(_("La rettifica si valuta all'apertura della busta."))
    with transaction.atomic():
        item = RectificationRequest.objects.select_for_update().get(pk=item.pk)
        item.outcome = "ACCEPTED" if accepted else "REJECTED_SUBSTANTIAL"
        item.decided_at = now
        item.save()
        payload = {"outcome": item.outcome}
        if accepted and field and item.envelope_type == "C":
            data = envelope_data(envelope)
            corrected = economic_data_clean(item.participant.lot, {**data, field: value})
            corrections = [
                *data.get("corrections", []),
                {
                    "field": field,
                    "old": data.get(field),
                    "new": corrected[field],
                    "rectification": item.pk,
                },
            ]
            corrected["corrections"] = corrections
            envelope.sealed_data = sealing.seal(
                tender, json.dumps(corrected).encode(), context=f"data:{envelope.pk}"
            )
            envelope.save(update_fields=["sealed_data"])
            payload.update(field=field, old=data.get(field), new=corrected[field])
        audit(
            action="rettifica valutata",
            actor=user,
            obj=item.participant,
            tender=tender,
            now=now,
            payload=payload,
        )
    return item
