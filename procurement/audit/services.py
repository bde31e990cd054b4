"""Recording and verifying audit events."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import GENESIS_HASH, AuditEvent

# Arbitrary constant naming the advisory lock that serialises writers of the chain.
_CHAIN_LOCK_ID = 0x41554449  # "AUDI"


def _normalise(payload: dict[str, Any] | None) -> dict[str, Any]:
    # Round-trip through JSON so the stored payload and the hashed one are identical
    # (Decimals, dates and UUIDs become strings before hashing, not after).
    return json.loads(json.dumps(payload or {}, cls=DjangoJSONEncoder))


def audit_record(
    *,
    action: str,
    actor=None,
    actor_label: str | None = None,
    obj=None,
    organisation=None,
    from_state: str = "",
    to_state: str = "",
    payload: dict[str, Any] | None = None,
    now=None,
) -> AuditEvent:
    """Append one event to the chain. Call it inside the transaction of the change it records."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_ID])
        last = AuditEvent.objects.order_by("-id").only("hash").first()
        if organisation is None and obj is not None:
            organisation = getattr(obj, "organisation", None)
        event = AuditEvent(
            created_at=now or timezone.now(),
            actor=actor if actor is not None and actor.pk else None,
            actor_label=actor_label or (str(actor) if actor is not None else _("Sistema")),
            organisation=organisation,
            content_type=ContentType.objects.get_for_model(obj, for_concrete_model=False)
            if obj is not None
            else None,
            object_id=str(obj.pk) if obj is not None else "",
            object_repr=str(obj)[:255] if obj is not None else "",
            action=action,
            from_state=from_state or "",
            to_state=to_state or "",
            payload=_normalise(payload),
            prev_hash=last.hash if last else GENESIS_HASH,
        )
        event.hash = event.compute_hash()
        event.save()
    return event


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_bad_id: int | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None


def audit_verify_chain(*, batch_size: int = 2000) -> ChainReport:
    """Walk the whole chain in id order; report the first event whose hash or link is wrong."""
    expected_prev = GENESIS_HASH
    checked = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size):
        if event.prev_hash != expected_prev:
            return ChainReport(checked, event.id, _("collegamento alla riga precedente alterato"))
        if event.compute_hash() != event.hash:
            return ChainReport(checked, event.id, _("contenuto alterato"))
        expected_prev = event.hash
        checked += 1
    return ChainReport(checked, None, "")
