"""The PCP *appalto* record shared by adesioni, gare and fvoe (ANAC Piattaforma Contratti Pubblici).

The ANAC client (procurement.anac) fills `id_appalto`, the ANAC states and the CIGs of the lots;
the workflow apps own the procedure that the appalto belongs to, through a generic link.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from procurement.accounts.querysets import OrganisationScopedQuerySet


class AppaltoState(models.TextChoices):
    NONE = "NONE", _("Non ancora trasmesso")
    CREATED = "CREATED", _("Creato su PCP")
    CONFIRMATION_PENDING = "CONFIRMATION_PENDING", _("Conferma in corso")
    CONFIRMED = "CONFIRMED", _("Confermato")
    CIG_ASSIGNED = "CIG_ASSIGNED", _("CIG acquisito")
    CANCELLED = "CANCELLED", _("Cancellato")


class AnacAppaltoState(models.TextChoices):
    """ANAC's code list statoAppalto."""

    IN_LAV = "IN_LAV", _("In lavorazione")
    CONF = "CONF", _("Confermato")
    CANC = "CANC", _("Cancellato")
    IN_ATT_PUBB = "IN_ATT_PUBB", _("In attesa di pubblicazione")
    IN_STOP_PUBB = "IN_STOP_PUBB", _("Pubblicazione sospesa")
    PUBB = "PUBB", _("Pubblicato")


class PcpAppaltoQuerySet(OrganisationScopedQuerySet):
    """Appalti of the organisations a user belongs to."""


class PcpAppalto(ConcurrentTransitionMixin, models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="appalti",
        verbose_name=_("stazione appaltante"),
    )
    codice_appalto = models.CharField(
        _("codice appalto"), max_length=64, unique=True, default=uuid.uuid4, editable=False
    )
    id_appalto = models.UUIDField(_("idAppalto ANAC"), null=True, blank=True, unique=True)
    scheda_code = models.CharField(_("scheda"), max_length=20, blank=True)
    subject = models.CharField(_("oggetto"), max_length=500)
    amount = models.DecimalField(
        _("importo"), max_digits=15, decimal_places=2, null=True, blank=True
    )
    rup = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="appalti_as_rup",
        verbose_name=_("RUP"),
    )
    sa_tax_code = models.CharField(_("codice fiscale SA"), max_length=16)
    sa_ausa_code = models.CharField(_("codice AUSA SA"), max_length=10, blank=True)
    rp_tax_code = models.CharField(_("codice fiscale RUP"), max_length=16)
    local_state = FSMField(
        _("stato"), default=AppaltoState.NONE, choices=AppaltoState.choices, protected=True
    )
    anac_state = models.CharField(
        _("stato ANAC"), max_length=20, choices=AnacAppaltoState.choices, blank=True
    )
    owner_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    owner_id = models.CharField(max_length=64, blank=True)
    owner = GenericForeignKey("owner_type", "owner_id")
    #: The notice (avviso) of a P* scheda: its idAvviso comes with the AP_CONF outcome and is
    #: then sent to pubblica-avviso; avviso_state is ANAC's statoAvviso.
    id_avviso = models.UUIDField(_("idAvviso ANAC"), null=True, blank=True)
    avviso_state = models.CharField(_("stato avviso ANAC"), max_length=16, blank=True)
    last_sent_payload_sha256 = models.CharField(
        _("SHA-256 dell'ultima scheda inviata"), max_length=64, blank=True
    )
    last_confirm_ack_at = models.DateTimeField(
        _("ultima conferma acquisita il"), null=True, blank=True
    )
    created_at = models.DateTimeField(_("creato il"), auto_now_add=True)
    updated_at = models.DateTimeField(_("aggiornato il"), auto_now=True)
    archived_at = models.DateTimeField(_("archiviato il"), null=True, blank=True)

    objects = PcpAppaltoQuerySet.as_manager()

    class Meta:
        verbose_name = _("appalto PCP")
        verbose_name_plural = _("appalti PCP")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner_type", "owner_id"])]

    def __str__(self) -> str:
        return f"{self.subject} ({self.get_local_state_display()})"

    # Transitions only change state; services save, audit and schedule side effects.
    @transition(field=local_state, source=AppaltoState.NONE, target=AppaltoState.CREATED)
    def mark_created(self, id_appalto) -> None:
        self.id_appalto = id_appalto

    @transition(
        field=local_state, source=AppaltoState.CREATED, target=AppaltoState.CONFIRMATION_PENDING
    )
    def mark_confirmation_pending(self) -> None:
        pass

    @transition(
        field=local_state, source=AppaltoState.CONFIRMATION_PENDING, target=AppaltoState.CONFIRMED
    )
    def mark_confirmed(self) -> None:
        pass

    @transition(
        field=local_state, source=AppaltoState.CONFIRMATION_PENDING, target=AppaltoState.CREATED
    )
    def mark_confirmation_refused(self) -> None:
        """A KO of conferma-appalto: the appalto stays IN_LAV at ANAC and can be modified."""

    @transition(field=local_state, source=AppaltoState.CONFIRMED, target=AppaltoState.CIG_ASSIGNED)
    def mark_cig_assigned(self) -> None:
        pass

    @transition(
        field=local_state,
        source=[
            AppaltoState.NONE,
            AppaltoState.CREATED,
            AppaltoState.CONFIRMED,
            AppaltoState.CIG_ASSIGNED,
        ],
        target=AppaltoState.CANCELLED,
    )
    def mark_cancelled(self) -> None:
        pass


class PcpLot(models.Model):
    appalto = models.ForeignKey(
        PcpAppalto, on_delete=models.CASCADE, related_name="lots", verbose_name=_("appalto")
    )
    lot_identifier = models.CharField(_("identificativo lotto"), max_length=64)
    cig = models.CharField(_("CIG"), max_length=10, blank=True)
    anac_state = models.CharField(_("stato ANAC"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("lotto PCP")
        verbose_name_plural = _("lotti PCP")
        constraints = [
            models.UniqueConstraint(
                fields=["appalto", "lot_identifier"], name="pcp_lot_unique_per_appalto"
            ),
            models.UniqueConstraint(
                fields=["cig"], condition=~models.Q(cig=""), name="pcp_lot_cig_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.cig or self.lot_identifier


class SchedaStatus(models.TextChoices):
    DRAFT = "DRAFT", _("Bozza")
    SENDING = "SENDING", _("Invio in corso")
    CONFIRMED = "CONFIRMED", _("Confermata")
    ERROR = "ERROR", _("Errore")
    DELETED = "DELETED", _("Eliminata")


LIVE_SCHEDA_STATES = [
    SchedaStatus.DRAFT,
    SchedaStatus.SENDING,
    SchedaStatus.CONFIRMED,
    SchedaStatus.ERROR,
]

# Schede of the execution phase (orchestrator phase "esecuzione") and S3: after one of them has
# been sent, ANN is no longer allowed (R-ADE-105) for its CIG (for every CIG if it has none).
EXECUTION_PHASE_CODES = {"SC1", "I1", "S1", "S2", "S3", "S4", "CO1", "CO2", "SA1", "M1", "M2"}


class PcpScheda(ConcurrentTransitionMixin, models.Model):
    """A post-publication scheda of an appalto (ANN, SC1, ...): local draft, then sent to PCP."""

    appalto = models.ForeignKey(
        PcpAppalto, on_delete=models.PROTECT, related_name="schede", verbose_name=_("appalto")
    )
    code = models.CharField(_("codice scheda"), max_length=16)
    #: The CIG (lot) the scheda concerns, from its ``anacForm.cig``; blank when the scheda has
    #: no top-level CIG (it then concerns the whole appalto).
    cig = models.CharField(_("CIG"), max_length=10, blank=True)
    version = models.CharField(_("versione"), max_length=8, default="1.0")
    id_scheda = models.UUIDField(_("idScheda ANAC"), null=True, blank=True, unique=True)
    status = FSMField(
        _("stato"), default=SchedaStatus.DRAFT, choices=SchedaStatus.choices, protected=True
    )
    anac_state = models.CharField(_("stato ANAC"), max_length=8, blank=True)
    payload = models.JSONField(_("contenuto"), default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("creata da"),
    )
    created_at = models.DateTimeField(_("creata il"))
    sent_at = models.DateTimeField(_("inviata il"), null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("inviata da"),
    )
    confirmed_at = models.DateTimeField(_("confermata il"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("eliminata il"), null=True, blank=True)
    last_errors = models.JSONField(_("ultimi errori"), default=list, blank=True)

    class Meta:
        verbose_name = _("scheda PCP")
        verbose_name_plural = _("schede PCP")
        ordering = ["-created_at", "-id"]
        constraints = [
            # ANAC's ANN cancels one lot: a multi-lot appalto has one ANN per CIG.
            models.UniqueConstraint(
                fields=["appalto", "cig"],
                condition=models.Q(code="ANN", status__in=LIVE_SCHEDA_STATES),
                name="pcp_one_live_ann_per_cig",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.get_status_display()})"

    @property
    def organisation(self):
        return self.appalto.organisation

    @transition(
        field=status, source=[SchedaStatus.DRAFT, SchedaStatus.ERROR], target=SchedaStatus.SENDING
    )
    def mark_sending(self) -> None:
        pass

    @transition(field=status, source=SchedaStatus.SENDING, target=SchedaStatus.CONFIRMED)
    def mark_confirmed(self) -> None:
        pass

    @transition(field=status, source=SchedaStatus.SENDING, target=SchedaStatus.ERROR)
    def mark_error(self) -> None:
        pass

    @transition(
        field=status, source=[SchedaStatus.DRAFT, SchedaStatus.ERROR], target=SchedaStatus.DELETED
    )
    def mark_deleted(self) -> None:
        pass


class ProcedureRoleKind(models.TextChoices):
    """Roles a user may hold on one procedure (appalto), on top of the organisation profile.

    The names are those of the manual (fvoe spec §1.2, seed [FV-PROF]): "RUP RdO" (the RUP of the
    contracting authority that runs the procedure), "RUP PdG" (the RUP of the proposing body).
    """

    RUP_RDO = "RUP_RDO", _("RUP RdO")
    RUP_PDG = "RUP_PDG", _("RUP PdG")
    OPERATORE = "OPERATORE", _("Operatore")


class ProcedureRole(models.Model):
    """An explicit grant of a procedure role (services: procedure_role_grant / _revoke).

    The appalto's own RUP (and the user whose tax code is the appalto's RP at ANAC) holds
    RUP_RDO implicitly, without a row (see pcp.selectors.procedure_roles_of).
    """

    appalto = models.ForeignKey(
        PcpAppalto,
        on_delete=models.CASCADE,
        related_name="procedure_roles",
        verbose_name=_("appalto"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="procedure_roles",
        verbose_name=_("utente"),
    )
    role = models.CharField(_("ruolo"), max_length=20, choices=ProcedureRoleKind.choices)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assegnato da"),
    )
    created_at = models.DateTimeField(_("assegnato il"))

    class Meta:
        verbose_name = _("ruolo sulla procedura")
        verbose_name_plural = _("ruoli sulla procedura")
        ordering = ["appalto", "user__last_name", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["appalto", "user", "role"], name="pcp_procedure_role_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()}"

    @property
    def organisation(self):
        return self.appalto.organisation
