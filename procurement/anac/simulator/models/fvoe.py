"""State of the simulated FVOE: access requests and authorisations, operators' files (documents),
document requests to certifying bodies, and the scripted behaviour of each operator.

Codes are those of ANAC's code lists (specs/tipologiche): statoAutorizzazione (01–06),
statoDocumento (1–3), tipoDocumento, statoRichiestaDocumento (001–005).

Nothing runs in the background: every request that reads an authorisation or a document request
first applies what is due at that moment (`settle`), so time-machine drives the lifecycle.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import models
from django.utils import timezone

REQUESTED, AUTHORISED, REVOKED, DENIED, EXPIRED, CANCELLED = "01", "02", "03", "04", "05", "06"
LIVE_STATES = {REQUESTED, AUTHORISED}
# statoRichiestaDocumento
WAITING, RECEIVED, FORWARDED, ANSWERED, NEGATIVE = "001", "002", "003", "004", "005"


class SimFvoeSettings(models.Model):
    """Timings of the simulated FVOE (one row, pk=1), changed through the control API."""

    # A request nobody answers expires (05) after one month [SCEN-FASC].
    pending_expiry_seconds = models.PositiveIntegerField(default=30 * 24 * 3600)
    # What an operator without a script does: "manual" waits for the control API / page.
    default_behaviour = models.CharField(max_length=16, default="manual")
    default_after_seconds = models.PositiveIntegerField(default=0)
    # A document request moves one state (001→002→003→004/005) every this many seconds.
    docreq_step_seconds = models.PositiveIntegerField(default=60)
    # Documents put in an operator's file the first time it is looked at.
    default_document_types = models.JSONField(default=list)
    # ANAC maintenance window of the FVOE services: every operation answers 503 meanwhile.
    maintenance_from = models.DateTimeField(null=True, blank=True)
    maintenance_until = models.DateTimeField(null=True, blank=True)
    # Lost answers of the next `fault_count` calls of `fault_operation` (a POST):
    # "lost_response" = ANAC registers the request but the gateway answers 504;
    # "lost_request" = 504 and nothing is registered.
    fault_operation = models.CharField(max_length=60, blank=True)
    fault_kind = models.CharField(max_length=16, blank=True)
    fault_count = models.PositiveIntegerField(default=0)

    class Meta:
        app_label = "anac_simulator"

    def __str__(self) -> str:
        return "Configurazione FVOE del simulatore"

    def in_maintenance(self, now) -> bool:
        return bool(
            self.maintenance_until
            and self.maintenance_until > now
            and (self.maintenance_from is None or self.maintenance_from <= now)
        )

    @classmethod
    def current(cls) -> SimFvoeSettings:
        obj, _created = cls.objects.get_or_create(
            pk=1, defaults={"default_document_types": ["00008", "00033", "00034"]}
        )
        return obj


class SimFvoeOperatorScript(models.Model):
    """How one operator (by tax code) answers, so that tests and the demo are deterministic.

    behaviour: "approve" / "deny" (after `after_seconds`), "never" (no answer: the request
    expires), "manual" (waits for the control API), "not_in_schede" (richiesta-accesso refused
    with SCH01). Document requests of the types in `negative_types` end 005, the others 004.
    """

    APPROVE, DENY, NEVER, MANUAL, NOT_IN_SCHEDE = (
        "approve",
        "deny",
        "never",
        "manual",
        "not_in_schede",
    )
    BEHAVIOURS = (APPROVE, DENY, NEVER, MANUAL, NOT_IN_SCHEDE)

    tax_code = models.CharField(max_length=32, unique=True)
    behaviour = models.CharField(max_length=16, default=MANUAL)
    after_seconds = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=255, blank=True)
    negative_types = models.JSONField(default=list)
    document_types = models.JSONField(null=True, blank=True)  # None: the default set

    class Meta:
        app_label = "anac_simulator"

    def __str__(self) -> str:
        return f"{self.tax_code}: {self.behaviour}"


class SimFvoeAccessRequest(models.Model):
    """One richiesta-accesso-fvoe call (one idRichiesta for one or more operators)."""

    id_richiesta = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    id_appalto = models.UUIDField()
    data_inizio = models.DateTimeField()
    data_fine = models.DateTimeField(null=True, blank=True)
    requester_tax_code = models.CharField(max_length=32, blank=True)  # richiedente
    requester_ausa = models.CharField(max_length=20, blank=True)
    user_tax_code = models.CharField(max_length=32, blank=True)  # userCodiceFiscale of the JWS
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "anac_simulator"
        ordering = ["-created", "-pk"]

    def __str__(self) -> str:
        return f"Richiesta accesso {self.id_richiesta}"


class SimFvoeAuthorization(models.Model):
    """The operator's answer for one (appalto, operator) pair of a request."""

    request = models.ForeignKey(
        SimFvoeAccessRequest, on_delete=models.CASCADE, related_name="authorizations"
    )
    id_autorizzazione = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    id_appalto = models.UUIDField(db_index=True)
    operator_tax_code = models.CharField(max_length=32, db_index=True)
    stato = models.CharField(max_length=2, default=REQUESTED)
    motivo = models.CharField(max_length=255, blank=True)
    autorizzante = models.CharField(max_length=32, blank=True)
    chiave_accesso = models.UUIDField(null=True, blank=True, unique=True)
    created = models.DateTimeField(default=timezone.now)
    changed = models.DateTimeField(default=timezone.now)
    # The scripted answer and when it becomes visible (null: none scheduled).
    scripted_stato = models.CharField(max_length=2, blank=True)
    scripted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "anac_simulator"
        ordering = ["-created", "-pk"]

    def __str__(self) -> str:
        return f"{self.operator_tax_code} {self.id_appalto} ({self.stato})"

    @property
    def expires_at(self):
        settings = SimFvoeSettings.current()
        return self.created + timedelta(seconds=settings.pending_expiry_seconds)

    def settle(self, now) -> bool:
        """Applies what is due at `now`: the scripted answer, expiry. True if it changed."""
        changed = False
        expires_at = self.expires_at
        scripted_at = self.scripted_at
        if (
            self.stato == REQUESTED
            and scripted_at
            and scripted_at <= now
            and scripted_at < expires_at
        ):
            self.set_state(self.scripted_stato, scripted_at, reason=self.motivo)
            changed = True
        if self.stato == REQUESTED and expires_at <= now:
            self.set_state(EXPIRED, expires_at)
            changed = True
        data_fine = self.request.data_fine
        if self.stato == AUTHORISED and data_fine and data_fine <= now:
            self.set_state(EXPIRED, data_fine)
            changed = True
        if changed:
            self.save()
        return changed

    def set_state(self, stato: str, when, *, reason: str = "") -> None:
        self.stato = stato
        self.changed = when
        self.scripted_stato = ""
        self.scripted_at = None
        if reason:
            self.motivo = reason[:255]
        if stato == AUTHORISED:
            self.autorizzante = self.operator_tax_code
            if self.chiave_accesso is None:
                self.chiave_accesso = uuid.uuid4()


class SimFvoeDocument(models.Model):
    """A document of an operator's file. `content` is a PDF rendered at the first retrieval."""

    id_documento = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    operator_tax_code = models.CharField(max_length=32, db_index=True)
    tipo = models.CharField(max_length=8)  # tipoDocumento
    stato = models.CharField(max_length=1, default="1")  # statoDocumento
    oggetto = models.CharField(max_length=4096, blank=True)
    inserted = models.DateTimeField(default=timezone.now)
    issued = models.DateTimeField(default=timezone.now)
    valid_until = models.DateTimeField(null=True, blank=True)
    numero_protocollo = models.CharField(max_length=32, blank=True)
    created_by = models.CharField(max_length=32, blank=True)
    content = models.BinaryField(null=True, blank=True)
    # Retrieval fault: "" none, "size" (declared size wrong), or an errori code answered with
    # 400 (e.g. "FVX21" back end unavailable, "FVX58" empty file).
    fault = models.CharField(max_length=8, blank=True)
    # The document request whose answer produced it, if any.
    request_item = models.OneToOneField(
        "SimFvoeDocumentRequestItem",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="produced_document",
    )

    class Meta:
        app_label = "anac_simulator"
        ordering = ["inserted", "pk"]

    def __str__(self) -> str:
        return f"{self.tipo} {self.operator_tax_code}"

    @property
    def file_name(self) -> str:
        return f"{self.tipo}_{self.operator_tax_code}_{str(self.id_documento)[:8]}.pdf"


class SimFvoeDocumentRequest(models.Model):
    """One richiedi-documenti call."""

    id_richiesta = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    authorization = models.ForeignKey(
        SimFvoeAuthorization, on_delete=models.CASCADE, related_name="document_requests"
    )
    tipo = models.CharField(max_length=8)
    dati_richiesta = models.JSONField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)
    step_seconds = models.PositiveIntegerField(default=60)
    outcome = models.CharField(max_length=3, default=ANSWERED)  # 004 or 005

    class Meta:
        app_label = "anac_simulator"
        ordering = ["-created", "-pk"]

    def __str__(self) -> str:
        return f"Richiesta documento {self.tipo} {self.id_richiesta}"

    def stato_at(self, now) -> str:
        """001 → 002 → 003 → outcome, one step every `step_seconds`."""
        steps = int((now - self.created).total_seconds() // max(self.step_seconds, 1))
        if steps >= 3:
            return self.outcome
        return (WAITING, RECEIVED, FORWARDED)[max(steps, 0)]


class SimFvoeDocumentRequestItem(models.Model):
    """One subject of a document request (the operator, or each person of datiSoggetti)."""

    request = models.ForeignKey(
        SimFvoeDocumentRequest, on_delete=models.CASCADE, related_name="items"
    )
    subject_tax_code = models.CharField(max_length=32)

    class Meta:
        app_label = "anac_simulator"
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.request} {self.subject_tax_code}"
