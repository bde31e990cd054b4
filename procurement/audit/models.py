"""Append-only audit trail with a hash chain: every row carries the hash of the one before it."""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


class AppendOnlyError(Exception):
    pass


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Gli eventi di audit non possono essere modificati.")

    def delete(self):
        raise AppendOnlyError("Gli eventi di audit non possono essere cancellati.")

    def for_object(self, obj):
        return self.filter(
            content_type=ContentType.objects.get_for_model(obj, for_concrete_model=False),
            object_id=str(obj.pk),
        )


class AuditEvent(models.Model):
    created_at = models.DateTimeField(_("data e ora"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("autore"),
    )
    actor_label = models.CharField(
        _("autore (descrizione)"),
        max_length=255,
        help_text=_("Nome dell'utente, oppure 'Sistema' / 'Schedulatore' per i job."),
    )
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organizzazione"),
    )
    content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(_("oggetto"), max_length=255, blank=True)
    action = models.CharField(_("azione"), max_length=100)
    from_state = models.CharField(_("stato precedente"), max_length=50, blank=True)
    to_state = models.CharField(_("nuovo stato"), max_length=50, blank=True)
    payload = models.JSONField(_("dati"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("evento di audit")
        verbose_name_plural = _("eventi di audit")
        ordering = ["id"]
        indexes = [models.Index(fields=["content_type", "object_id", "id"])]

    def canonical(self) -> bytes:
        """The bytes the hash covers: every field but the hash itself, in a stable form."""
        data = {
            "prev_hash": self.prev_hash,
            "created_at": self.created_at.isoformat(),
            "actor": self.actor_id,
            "actor_label": self.actor_label,
            "organisation": self.organisation_id,
            "content_type": self.content_type_id,
            "object_id": self.object_id,
            "object_repr": self.object_repr,
            "action": self.action,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "payload": self.payload,
        }
        return json.dumps(
            data, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()

    def compute_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("Gli eventi di audit non possono essere modificati.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Gli eventi di audit non possono essere cancellati.")

    def __str__(self) -> str:
        return f"{self.created_at:%d/%m/%Y %H:%M} {self.actor_label}: {self.action}"
