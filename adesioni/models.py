"""Negozio Elettronico: framework contracts, adhesions, supply orders with derived CIG, esiti.

State fields are `FSMField(protected=True)`; transition methods only change state, the services in
`services.py` lock, check permissions, save, audit and schedule side effects.
"""

from __future__ import annotations

import re
import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

CENT = Decimal("0.01")
ADHESION_CODE_RE = re.compile(r"^A\d{6}/\d{4}$")
ORDER_NUMBER_RE = re.compile(r"^O\d{6}/\d{4}$")


def round_cents(value: Decimal) -> Decimal:
    """Half-up to the cent (D-ADE-13): never binary floating point."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


class ContractKind(models.TextChoices):
    FRAMEWORK_AGREEMENT = "FRAMEWORK_AGREEMENT", _("Accordo quadro")
    CONVENTION = "CONVENTION", _("Convenzione")


class ContractStatus(models.TextChoices):
    DRAFT = "DRAFT", _("In preparazione")
    PUBLISHED = "PUBLISHED", _("Pubblicato")
    CLOSED = "CLOSED", _("Chiuso")


class Hypothesis(models.TextChoices):
    A = "A", _("Ipotesi A – proroga semplificata")
    B = "B", _("Ipotesi B")


class DocumentKind(models.TextChoices):
    EXPRESSION_OF_INTEREST = "EXPRESSION_OF_INTEREST", _("Manifestazione di interesse")
    NEEDS_PLAN = "NEEDS_PLAN", _("Piano dei Fabbisogni")
    NEEDS_PROJECT = "NEEDS_PROJECT", _("Progetto dei Fabbisogni")
    ADHESION_ACT = "ADHESION_ACT", _("Atto di adesione – contratto attuativo")
    DATA_PROTECTION_AGREEMENT = "DATA_PROTECTION_AGREEMENT", _("Accordo Data Protection")
    TRACEABILITY_REQUEST = "TRACEABILITY_REQUEST", _("Richiesta tracciabilità")
    CONTRACT_DOCUMENT = "CONTRACT_DOCUMENT", _("Documento del contratto")
    TEMPLATE = "TEMPLATE", _("Modello")
    ATTACHMENT = "ATTACHMENT", _("Allegato")


class FrameworkContract(ConcurrentTransitionMixin, models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("tipologia"), max_length=30, choices=ContractKind.choices)
    title = models.CharField(_("oggetto"), max_length=500)
    description = models.TextField(_("descrizione"), blank=True)
    issuer = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="issued_contracts",
        verbose_name=_("amministrazione banditrice"),
    )
    issuer_cost_centre = models.ForeignKey(
        "accounts.CostCentre",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("CdC banditore"),
    )
    issuer_rup = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("RUP dell'accordo quadro"),
    )
    supplier = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="supplied_contracts",
        verbose_name=_("fornitore aggiudicatario"),
    )
    #: [{"name", "tax_code", "role": "LEAD"|"MEMBER"}]; empty for a single operator.
    supplier_members = models.JSONField(_("componenti RTI"), default=list, blank=True)
    supplier_pec = models.EmailField(_("PEC del fornitore"))
    parent_cig = models.CharField(_("CIG principale"), max_length=10)
    cup = models.CharField(_("CUP"), max_length=15, blank=True)
    contract_amount = models.DecimalField(
        _("importo del contratto"), max_digits=14, decimal_places=2
    )
    status = FSMField(
        _("stato"), default=ContractStatus.DRAFT, choices=ContractStatus.choices, protected=True
    )
    published_at = models.DateTimeField(_("pubblicato il"), null=True, blank=True)
    closed_at = models.DateTimeField(_("chiuso il"), null=True, blank=True)
    expiry_at = models.DateTimeField(_("scadenza"), null=True, blank=True)
    round_count = models.PositiveSmallIntegerField(
        _("numero di fasi (round)"), default=1, validators=[MinValueValidator(1)]
    )
    is_extension = models.BooleanField(_("proroga"), default=False)
    suggested_adhesion_end = models.DateField(_("scadenza suggerita dell'adesione"), null=True)
    #: [{"pct": "4.900", "effective_from": "2023-04-01", "act_reference": "..."}]
    price_adjustments = models.JSONField(_("adeguamenti prezzi"), default=list, blank=True)
    background_acts = models.JSONField(_("atti di riferimento"), default=list, blank=True)
    support_text = models.TextField(_("assistenza"), blank=True)
    created_at = models.DateTimeField(_("creato il"), auto_now_add=True)
    updated_at = models.DateTimeField(_("aggiornato il"), auto_now=True)

    class Meta:
        verbose_name = _("contratto del negozio elettronico")
        verbose_name_plural = _("contratti del negozio elettronico")
        ordering = ["-published_at", "title"]
        indexes = [models.Index(fields=["status", "-published_at"])]

    def __str__(self) -> str:
        return self.title

    @transition(field=status, source=ContractStatus.DRAFT, target=ContractStatus.PUBLISHED)
    def publish(self) -> None:
        pass

    @transition(field=status, source=ContractStatus.PUBLISHED, target=ContractStatus.CLOSED)
    def close(self) -> None:
        pass

    def price_adjustments_display(self) -> list[dict]:
        """The price adjustments in Italian form: "4,9" and "01/04/2023" (R-ADE-009)."""
        import datetime

        from django.utils.formats import number_format

        rows = []
        for adj in self.price_adjustments or []:
            try:
                pct = number_format(Decimal(str(adj.get("pct"))).normalize(), use_l10n=True)
            except (ArithmeticError, ValueError, TypeError):
                pct = str(adj.get("pct", ""))
            try:
                since = datetime.date.fromisoformat(str(adj.get("effective_from"))).strftime(
                    "%d/%m/%Y"
                )
            except ValueError:
                since = str(adj.get("effective_from", ""))
            rows.append({"pct": pct, "since": since, "act": adj.get("act_reference", "")})
        return rows

    def is_expired(self, now) -> bool:
        return self.expiry_at is not None and self.expiry_at <= now

    def is_open(self, now) -> bool:
        return self.status == ContractStatus.PUBLISHED and not self.is_expired(now)


class ContractDocument(models.Model):
    contract = models.ForeignKey(
        FrameworkContract, on_delete=models.CASCADE, related_name="documents"
    )
    kind = models.CharField(_("tipo"), max_length=30, choices=DocumentKind.choices)
    title = models.CharField(_("titolo"), max_length=255)
    version = models.ForeignKey(
        "documents.DocumentVersion", on_delete=models.PROTECT, null=True, blank=True
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("documentazione allegata")
        verbose_name_plural = _("documentazione allegata")
        ordering = ["position", "title"]

    def __str__(self) -> str:
        return self.title


class RequirementBase(models.Model):
    code = models.CharField(_("codice"), max_length=20)
    label = models.CharField(_("descrizione"), max_length=255)
    document_kind = models.CharField(_("tipo"), max_length=30, choices=DocumentKind.choices)
    hypotheses = models.CharField(_("ipotesi"), max_length=4, default="AB")
    mandatory = models.BooleanField(_("obbligatorio"), default=True)
    signature_required = models.BooleanField(_("firma digitale richiesta"), default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.label

    def applies_to(self, hypothesis: str) -> bool:
        return hypothesis in self.hypotheses


class RoundRequirement(RequirementBase):
    contract = models.ForeignKey(
        FrameworkContract, on_delete=models.CASCADE, related_name="round_requirements"
    )
    round_no = models.PositiveSmallIntegerField(_("round"), default=0)

    class Meta:
        verbose_name = _("richiesta documenti per adesione")
        verbose_name_plural = _("richieste documenti per adesione")
        ordering = ["round_no", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "round_no", "code"], name="ade_round_req_unique"
            )
        ]


class OrderRequirement(RequirementBase):
    contract = models.ForeignKey(
        FrameworkContract, on_delete=models.CASCADE, related_name="order_requirements"
    )

    class Meta:
        verbose_name = _("richiesta per ordinativi di fornitura")
        verbose_name_plural = _("richieste per ordinativi di fornitura")
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "code"], name="ade_order_req_unique")
        ]


class ContractEnabledUser(models.Model):
    """A user of the banditore enabled on the contract ("UTENTI ABILITATI AD OPERARE")."""

    contract = models.ForeignKey(
        FrameworkContract, on_delete=models.CASCADE, related_name="enabled_users"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # The banditore's CdC the user acts for on this contract (spec §3.3); empty = the whole
    # administration. While set, the user acts only as long as a membership covers that CdC.
    cost_centre = models.ForeignKey(
        "accounts.CostCentre",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("centro di costo"),
    )
    can_evaluate = models.BooleanField(_("valuta adesioni e ordinativi"), default=False)

    class Meta:
        verbose_name = _("utente abilitato")
        verbose_name_plural = _("utenti abilitati")
        constraints = [
            models.UniqueConstraint(fields=["contract", "user"], name="ade_enabled_user_unique")
        ]

    def __str__(self) -> str:
        return str(self.user)


class CounterKind(models.TextChoices):
    ADHESION = "ADHESION", _("Adesione")
    ORDER = "ORDER", _("Ordinativo")


class ContractCounter(models.Model):
    def __str__(self) -> str:
        return f"{self.kind} {self.year}"

    """Platform-wide yearly series of adhesion codes and order numbers (D-ADE-06, D-ADE-12)."""

    kind = models.CharField(max_length=10, choices=CounterKind.choices)
    year = models.PositiveSmallIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("contatore")
        verbose_name_plural = _("contatori")
        constraints = [models.UniqueConstraint(fields=["kind", "year"], name="ade_counter_unique")]


# --- adhesions -------------------------------------------------------------------------------


class AdhesionStatus(models.TextChoices):
    DRAFT = "DRAFT", _("Bozza")
    SENT = "SENT", _("Inviata – in attesa di approvazione")
    APPROVED = "APPROVED", _("Approvata")
    DELETED = "DELETED", _("Eliminata")


class DraftOrigin(models.TextChoices):
    NEW = "NEW", _("Nuova")
    REFUSED = "REFUSED", _("Non approvata")
    WITHDRAWN = "WITHDRAWN", _("Invio ritirato")
    NEXT_ROUND = "NEXT_ROUND", _("Round successivo")


class RoundOutcome(models.TextChoices):
    PENDING = "PENDING", _("In attesa di valutazione")
    APPROVED = "APPROVED", _("Approvato")
    REFUSED = "REFUSED", _("Non approvato")
    WITHDRAWN = "WITHDRAWN", _("Ritirato")


class Adhesion(ConcurrentTransitionMixin, models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    contract = models.ForeignKey(
        FrameworkContract, on_delete=models.PROTECT, related_name="adhesions"
    )
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="adhesions",
        verbose_name=_("amministrazione aderente"),
    )
    cost_centre = models.ForeignKey(
        "accounts.CostCentre",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("CdC aderente"),
    )
    code = models.CharField(
        _("codice di adesione"),
        max_length=12,
        unique=True,
        validators=[RegexValidator(ADHESION_CODE_RE)],
    )
    code_year = models.PositiveSmallIntegerField()
    code_seq = models.PositiveIntegerField()
    hypothesis = models.CharField(_("ipotesi"), max_length=1, choices=Hypothesis.choices)
    amount = models.DecimalField(_("importo di adesione"), max_digits=14, decimal_places=2)
    planned_end_date = models.DateField(
        _("data di scadenza prevista dell'adesione"), null=True, blank=True
    )
    status = FSMField(
        _("stato"), default=AdhesionStatus.DRAFT, choices=AdhesionStatus.choices, protected=True
    )
    draft_origin = models.CharField(
        _("origine della bozza"), max_length=12, choices=DraftOrigin.choices, default="NEW"
    )
    current_round = models.PositiveSmallIntegerField(_("round corrente"), default=0)
    first_sent_at = models.DateTimeField(_("primo invio"), null=True, blank=True)
    last_sent_at = models.DateTimeField(_("data di invio"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approvata il"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("eliminata il"), null=True, blank=True)
    amount_helper = models.JSONField(_("calcolo dell'importo"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("creata il"))

    class Meta:
        verbose_name = _("adesione")
        verbose_name_plural = _("adesioni")
        ordering = ["-code_year", "-code_seq"]
        constraints = [
            models.UniqueConstraint(fields=["code_year", "code_seq"], name="ade_code_unique"),
            # One draft per (contract, CdC_Aderente) (D-ADE-07); an adhesion without a CdC
            # belongs to the organisation as a whole.
            models.UniqueConstraint(
                fields=["contract", "organisation"],
                condition=models.Q(status="DRAFT", cost_centre__isnull=True),
                name="ade_one_draft_per_adherent",
                violation_error_message=_("Esiste già un'adesione in bozza per questo contratto."),
            ),
            models.UniqueConstraint(
                fields=["contract", "cost_centre"],
                condition=models.Q(status="DRAFT", cost_centre__isnull=False),
                name="ade_one_draft_per_cost_centre",
                violation_error_message=_("Esiste già un'adesione in bozza per questo contratto."),
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def status_label(self) -> str:
        return AdhesionStatus(self.status).label

    @property
    def is_read_only_draft(self) -> bool:
        return self.status == AdhesionStatus.DRAFT and self.first_sent_at is not None

    @transition(field=status, source=AdhesionStatus.DRAFT, target=AdhesionStatus.SENT)
    def send(self) -> None:
        pass

    @transition(field=status, source=AdhesionStatus.SENT, target=AdhesionStatus.DRAFT)
    def back_to_draft(self, origin: str) -> None:
        self.draft_origin = origin

    @transition(field=status, source=AdhesionStatus.SENT, target=AdhesionStatus.APPROVED)
    def approve(self) -> None:
        pass

    @transition(field=status, source=AdhesionStatus.DRAFT, target=AdhesionStatus.DELETED)
    def delete_draft(self) -> None:
        pass


class AdhesionDocument(models.Model):
    def __str__(self) -> str:
        return str(self.version_id)

    adhesion = models.ForeignKey(Adhesion, on_delete=models.CASCADE, related_name="documents")
    round_no = models.PositiveSmallIntegerField(default=0)
    requirement = models.ForeignKey(RoundRequirement, on_delete=models.PROTECT)
    version = models.ForeignKey("documents.DocumentVersion", on_delete=models.PROTECT)
    is_current = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("documento dell'adesione")
        verbose_name_plural = _("documenti dell'adesione")
        ordering = ["round_no", "requirement__position"]


class AdhesionSubmission(models.Model):
    def __str__(self) -> str:
        return f"{self.adhesion_id} r{self.round_no}/{self.attempt_no}"

    """One per "INVIA" (append-only): what was sent, and how the banditore decided."""

    adhesion = models.ForeignKey(Adhesion, on_delete=models.CASCADE, related_name="submissions")
    round_no = models.PositiveSmallIntegerField()
    attempt_no = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField()
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(
        max_length=10, choices=RoundOutcome.choices, default=RoundOutcome.PENDING
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    documents_manifest = models.JSONField(default=list)

    class Meta:
        verbose_name = _("invio dell'adesione")
        verbose_name_plural = _("invii delle adesioni")
        ordering = ["adhesion", "round_no", "attempt_no"]
        constraints = [
            models.UniqueConstraint(
                fields=["adhesion", "round_no", "attempt_no"], name="ade_submission_unique"
            )
        ]


# --- supply orders ---------------------------------------------------------------------------


class OrderStatus(models.TextChoices):
    DRAFT = "DRAFT", _("Bozza")
    CIG_CONFIRMATION_PENDING = "CIG_CONFIRMATION_PENDING", _("Conferma appalto in corso")
    CIG_CONFIRMED = "CIG_CONFIRMED", _("Appalto confermato")
    CIG_RETRIEVAL_PENDING = "CIG_RETRIEVAL_PENDING", _("Recupero CIG in corso")
    CIG_ACQUIRED = "CIG_ACQUIRED", _("CIG acquisito")
    READY_TO_SEND = "READY_TO_SEND", _("Pronto per l'invio")
    SENT = "SENT", _("Inviato – in attesa del nulla osta di Regione")
    APPROVED = "APPROVED", _("Approvato")
    REFUSED = "REFUSED", _("Rifiutato")
    ANNULLED = "ANNULLED", _("Annullato")
    DELETED = "DELETED", _("Eliminato")


POST_CIG_STATES = [
    OrderStatus.CIG_ACQUIRED,
    OrderStatus.READY_TO_SEND,
    OrderStatus.SENT,
    OrderStatus.REFUSED,
    OrderStatus.APPROVED,
]


class SupplyOrder(ConcurrentTransitionMixin, models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    contract = models.ForeignKey(FrameworkContract, on_delete=models.PROTECT, related_name="orders")
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="supply_orders",
        verbose_name=_("amministrazione aderente"),
    )
    cost_centre = models.ForeignKey(
        "accounts.CostCentre", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    adhesion = models.ForeignKey(
        Adhesion, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    number = models.CharField(
        _("numero"), max_length=12, unique=True, validators=[RegexValidator(ORDER_NUMBER_RE)]
    )
    number_year = models.PositiveSmallIntegerField()
    number_seq = models.PositiveIntegerField()
    hypothesis = models.CharField(_("ipotesi"), max_length=1, choices=Hypothesis.choices)
    status = FSMField(
        _("stato"), default=OrderStatus.DRAFT, choices=OrderStatus.choices, protected=True
    )
    rup = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("RUP")
    )
    pcp_appalto = models.OneToOneField(
        "pcp.PcpAppalto", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    derived_cig = models.CharField(_("CIG derivato"), max_length=10, blank=True)
    lines_total = models.DecimalField(
        _("totale dell'ordine"), max_digits=14, decimal_places=2, default=Decimal("0.00")
    )
    lines_locked_at = models.DateTimeField(null=True, blank=True)
    last_anac_error = models.JSONField(null=True, blank=True)
    summary_generated = models.ForeignKey(
        "documents.DocumentVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    summary_render_error = models.TextField(blank=True)
    summary_signed = models.ForeignKey(
        "documents.DocumentVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    sent_at = models.DateTimeField(_("data di invio"), null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(_("approvato il"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    refused_at = models.DateTimeField(null=True, blank=True)
    refusal_reason = models.TextField(blank=True)
    annulled_at = models.DateTimeField(_("annullato il"), null=True, blank=True)
    pec_reminder_acknowledged_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("creato il"))

    class Meta:
        verbose_name = _("ordinativo di fornitura")
        verbose_name_plural = _("ordinativi di fornitura")
        ordering = ["-number_year", "-number_seq"]
        constraints = [
            models.UniqueConstraint(fields=["number_year", "number_seq"], name="ade_order_unique")
        ]
        indexes = [
            models.Index(fields=["contract", "status"]),
            models.Index(fields=["contract", "-number_year", "-number_seq"]),
            models.Index(fields=["organisation", "status"]),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def status_label(self) -> str:
        return OrderStatus(self.status).label

    @property
    def lines_locked(self) -> bool:
        return self.status != OrderStatus.DRAFT

    @transition(field=status, source=OrderStatus.DRAFT, target=OrderStatus.CIG_CONFIRMATION_PENDING)
    def start_confirmation(self) -> None:
        pass

    @transition(
        field=status,
        source=OrderStatus.CIG_CONFIRMATION_PENDING,
        target=OrderStatus.CIG_CONFIRMED,
    )
    def confirmation_ok(self) -> None:
        pass

    @transition(field=status, source=OrderStatus.CIG_CONFIRMATION_PENDING, target=OrderStatus.DRAFT)
    def confirmation_ko(self) -> None:
        pass

    @transition(
        field=status, source=OrderStatus.CIG_CONFIRMED, target=OrderStatus.CIG_RETRIEVAL_PENDING
    )
    def start_retrieval(self) -> None:
        pass

    @transition(
        field=status, source=OrderStatus.CIG_RETRIEVAL_PENDING, target=OrderStatus.CIG_ACQUIRED
    )
    def retrieval_ok(self, cig: str) -> None:
        self.derived_cig = cig

    @transition(
        field=status, source=OrderStatus.CIG_RETRIEVAL_PENDING, target=OrderStatus.CIG_CONFIRMED
    )
    def retrieval_ko(self) -> None:
        pass

    @transition(field=status, source=OrderStatus.CIG_ACQUIRED, target=OrderStatus.READY_TO_SEND)
    def signed_summary_uploaded(self) -> None:
        pass

    @transition(field=status, source=OrderStatus.READY_TO_SEND, target=OrderStatus.SENT)
    def send(self) -> None:
        pass

    @transition(field=status, source=OrderStatus.SENT, target=OrderStatus.APPROVED)
    def approve(self) -> None:
        pass

    @transition(field=status, source=OrderStatus.SENT, target=OrderStatus.REFUSED)
    def refuse(self) -> None:
        pass

    @transition(field=status, source=OrderStatus.REFUSED, target=OrderStatus.READY_TO_SEND)
    def reopen(self) -> None:
        pass

    @transition(field=status, source=POST_CIG_STATES, target=OrderStatus.ANNULLED)
    def annul(self) -> None:
        pass

    @transition(field=status, source=OrderStatus.DRAFT, target=OrderStatus.DELETED)
    def delete_draft(self) -> None:
        pass


class OrderLine(models.Model):
    order = models.ForeignKey(SupplyOrder, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    description = models.CharField(_("descrizione"), max_length=500)
    unit_price = models.DecimalField(
        _("importo unitario"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    quantity = models.DecimalField(_("quantità"), max_digits=12, decimal_places=3)
    line_total = models.DecimalField(_("totale riga"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("riga dell'ordine")
        verbose_name_plural = _("righe dell'ordine")
        ordering = ["order", "position"]

    def __str__(self) -> str:
        return self.description


class CigRequest(models.Model):
    """The "Richiedi CIG" form: the data of the AD4 scheda (§6.4)."""

    order = models.OneToOneField(SupplyOrder, on_delete=models.CASCADE, related_name="cig_request")
    lot_identifier = models.CharField(max_length=64, default="LOT-0001")
    oggetto_appalto = models.CharField(_("oggetto dell'appalto"), max_length=500)
    oggetto_lotto = models.CharField(_("oggetto del lotto"), max_length=500)
    oggetto_contratto = models.CharField(_("oggetto del contratto"), max_length=10)
    lot_amount = models.DecimalField(
        _("totale dell'ordine (lotto)"), max_digits=14, decimal_places=2
    )
    data_adesione = models.DateField(_("data di adesione"))
    data_aggiudicazione = models.DateField(_("data di aggiudicazione"))
    cpv_prevalente = models.CharField(_("CPV prevalente"), max_length=10)
    cod_nuts = models.CharField(_("codice NUTS"), max_length=5)
    cod_istat = models.CharField(_("codice ISTAT del comune"), max_length=6)
    ccnl = models.CharField(_("CCNL"), max_length=20)
    categoria = models.CharField(_("categoria"), max_length=10, default="FS")
    tipo_finanziamento = models.CharField(_("tipo di finanziamento"), max_length=5, default="A")
    funzioni_svolte = models.CharField(_("funzioni svolte"), max_length=2, default="3")
    afferente_pnrr = models.BooleanField(_("afferente a investimenti PNRR"), default=False)
    acquisizione_cup = models.BooleanField(_("acquisizione CUP"), default=False)
    cup_lotto = models.CharField(_("CUP del lotto"), max_length=15, blank=True)
    relazione_unica_procedure = models.BooleanField(
        _("relazione unica sulle procedure"), default=True
    )
    opere_urbanizzazione_scomputo = models.BooleanField(
        _("opere di urbanizzazione a scomputo"), default=False
    )
    subappalto = models.CharField(_("subappalto"), max_length=10, default="no")
    cost_centre_code = models.CharField(_("codice centro di costo"), max_length=50)

    class Meta:
        verbose_name = _("richiesta CIG")
        verbose_name_plural = _("richieste CIG")

    def __str__(self) -> str:
        return f"{self.order} – {self.oggetto_appalto}"


class OrderDocument(models.Model):
    def __str__(self) -> str:
        return str(self.version_id)

    order = models.ForeignKey(SupplyOrder, on_delete=models.CASCADE, related_name="documents")
    requirement = models.ForeignKey(OrderRequirement, on_delete=models.PROTECT)
    version = models.ForeignKey("documents.DocumentVersion", on_delete=models.PROTECT)
    is_current = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("documento dell'ordinativo")
        verbose_name_plural = _("documenti dell'ordinativo")
        ordering = ["requirement__position", "-id"]


class OutcomeStatus(models.TextChoices):
    DRAFT = "DRAFT", _("Bozza")
    PUBLISHED = "PUBLISHED", _("Pubblicato")


class OutcomeNotice(ConcurrentTransitionMixin, models.Model):
    """The "esito" of an approved order, public in "Aggiudicazioni e affidamenti"."""

    order = models.OneToOneField(SupplyOrder, on_delete=models.PROTECT, related_name="outcome")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT)
    status = FSMField(
        _("stato"), default=OutcomeStatus.DRAFT, choices=OutcomeStatus.choices, protected=True
    )
    award_date = models.DateField(_("data di aggiudicazione"))
    duration_from = models.DateField(_("durata dal"), null=True, blank=True)
    duration_to = models.DateField(_("durata al"))
    notes = models.TextField(_("note"), blank=True)
    published_at = models.DateTimeField(_("pubblicato il"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    annulled_flag_at = models.DateTimeField(_("annullato il"), null=True, blank=True)

    class Meta:
        verbose_name = _("esito")
        verbose_name_plural = _("esiti")
        ordering = ["-published_at"]

    def __str__(self) -> str:
        return str(self.order)

    @transition(field=status, source=OutcomeStatus.DRAFT, target=OutcomeStatus.PUBLISHED)
    def publish(self) -> None:
        pass


class MessageKind(models.TextChoices):
    COMMUNICATION = "COMMUNICATION", _("Comunicazione")
    CLARIFICATION = "CLARIFICATION", _("Chiarimento")
    SYSTEM = "SYSTEM", _("Notifica automatica")


class Party(models.TextChoices):
    ISSUER = "ISSUER", _("Banditore")
    ADHERENT = "ADHERENT", _("Amministrazione aderente")
    SUPPLIER = "SUPPLIER", _("Fornitore")
    SYSTEM = "SYSTEM", _("Sistema")


class ContractMessage(models.Model):
    """A message of the contract's "Comunicazioni" module (sent or automatic)."""

    contract = models.ForeignKey(
        FrameworkContract, on_delete=models.CASCADE, related_name="messages"
    )
    kind = models.CharField(_("tipo"), max_length=15, choices=MessageKind.choices)
    sender_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sender_party = models.CharField(_("mittente"), max_length=10, choices=Party.choices)
    sender_organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recipient_organisations = models.ManyToManyField(
        "accounts.Organisation", related_name="+", verbose_name=_("destinatari")
    )
    recipient_users = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)
    subject = models.CharField(_("oggetto"), max_length=255)
    body = models.TextField(_("testo"))
    attachment = models.ForeignKey(
        "documents.DocumentVersion", on_delete=models.PROTECT, null=True, blank=True
    )
    in_reply_to = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replies"
    )
    event_code = models.CharField(max_length=5, blank=True)
    related_ref = models.CharField(max_length=40, blank=True)
    read_by = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)
    sent_at = models.DateTimeField(_("inviato il"))

    class Meta:
        verbose_name = _("comunicazione")
        verbose_name_plural = _("comunicazioni")
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return self.subject

    @property
    def awaiting_reply(self) -> bool:
        return self.kind == MessageKind.CLARIFICATION and not self.replies.exists()
