"""PTIM "Gestione Contratti": framework agreements, operators, contracts and their bookings.

Residual availabilities are never stored: they are computed from `Contract.consumed_amount`
(written by the services in the same transaction as every state change, see `amounts.py`) and
checked by `manage.py ptim_check_residuals`, which recomputes every consumption from scratch.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

MONEY = {"max_digits": 14, "decimal_places": 2}
ZERO = Decimal("0.00")


class UserType(models.TextChoices):
    PROVVEDITORATO = "PROVVEDITORATO", _("Provveditorato")
    MIC = "MIC", _("MIC")
    DIFESA = "DIFESA", _("Ministero della Difesa")
    AGENZIA_DT = "AGENZIA_DT", _("Agenzia del Demanio – Direzione Territoriale")
    AGENZIA_DG = "AGENZIA_DG", _("Agenzia del Demanio – Direzione Generale")
    CORTE_DEI_CONTI = "CORTE_DEI_CONTI", _("Corte dei Conti")
    AMMINISTRAZIONE_USUARIA = "AMMINISTRAZIONE_USUARIA", _("Amministrazione usuaria")


class ContractState(models.TextChoices):
    BOOKED = "BOOKED", _("Prenotato")
    ACCEPTED = "ACCEPTED", _("Accettato")
    DEFINITIVE = "DEFINITIVE", _("Definitivo")
    ANNULLED = "ANNULLED", _("Annullato")
    RESCINDED = "RESCINDED", _("Rescisso/Risolto")


class ContractOrigin(models.TextChoices):
    FIRST_BOOKING = "FIRST_BOOKING", _("Prima prenotazione")
    REBOOKING = "REBOOKING", _("Riprenotazione")
    CLEARANCE_REPLACEMENT = "CLEARANCE_REPLACEMENT", _("Prenotazione per decadenza NOS/NOSI")


class AnnulmentKind(models.TextChoices):
    MANUAL = "MANUAL", _("Annullamento manuale (DT)")
    BOOKING_EXPIRED = (
        "BOOKING_EXPIRED",
        _("Annullamento automatico per scadenza del termine di accettazione"),
    )
    STIPULA_EXPIRED = (
        "STIPULA_EXPIRED",
        _("Annullamento automatico per scadenza del termine di stipula"),
    )
    CLEARANCE_LAPSED = "CLEARANCE_LAPSED", _("Annullamento automatico per decadenza del NOS/NOSI")
    NO_OPERATOR_AVAILABLE = (
        "NO_OPERATOR_AVAILABLE",
        _("Annullamento per assenza di operatori disponibili"),
    )


class BookingOutcome(models.TextChoices):
    CURRENT = "CURRENT", _("In corso")
    WAIVED = "WAIVED", _("Rinuncia")
    ENDED = "ENDED", _("Conclusa")


class ClearanceKind(models.TextChoices):
    NOS = "NOS", "NOS"
    NOSI = "NOSI", "NOSI"


class ClearanceLevel(models.IntegerChoices):
    RISERVATISSIMO = 1, _("Riservatissimo")
    SEGRETO = 2, _("Segreto")
    SEGRETISSIMO = 3, _("Segretissimo")


class OperatorStatus(models.TextChoices):
    ACTIVE = "ACTIVE", _("Attivo")
    EXCLUDED = "EXCLUDED", _("Escluso dalla selezione")
    ANNULLED = "ANNULLED", _("Annullato")


class OperatorEventKind(models.TextChoices):
    EXCLUSION_AUTO = "EXCLUSION_AUTO", _("Esclusione automatica")
    EXCLUSION_MANUAL = "EXCLUSION_MANUAL", _("Esclusione manuale")
    READMISSION = "READMISSION", _("Riammissione")
    ANNULMENT = "ANNULMENT", _("Annullamento operatore")


class VariationKind(models.TextChoices):
    VARIANT = "VARIANT", _("Variante in corso d'opera")
    COMPLEMENTARY_WORKS = "COMPLEMENTARY_WORKS", _("Lavori complementari")
    PRICE_COMPENSATION = (
        "PRICE_COMPENSATION",
        _("Compensazione prezzi ex art. 1-septies del D.L. n. 73 del 2021"),
    )


class ReceiptKind(models.TextChoices):
    BOOKING = "BOOKING", _("Ricevuta di prenotazione")
    UNAVAILABILITY = "UNAVAILABILITY", _("Ricevuta – nessun operatore disponibile")


# --- reference data ---------------------------------------------------------------------------


class ReferencePeriod(models.Model):
    label = models.CharField(_("periodo"), max_length=9, unique=True)
    start_year = models.PositiveSmallIntegerField(_("anno iniziale"))
    end_year = models.PositiveSmallIntegerField(_("anno finale"))
    selectable = models.BooleanField(_("selezionabile"), default=True)

    class Meta:
        verbose_name = _("periodo di riferimento")
        verbose_name_plural = _("periodi di riferimento")
        ordering = ["-start_year"]

    def __str__(self):
        return self.label


class Lot(models.Model):
    period = models.ForeignKey(ReferencePeriod, on_delete=models.PROTECT, related_name="lots")
    number = models.PositiveSmallIntegerField(_("numero"))
    min_amount = models.DecimalField(_("importo minimo"), **MONEY)
    max_amount = models.DecimalField(_("importo massimo"), **MONEY)
    categories = models.CharField(_("categorie"), max_length=50, default="OG1, OG2, OG11")

    class Meta:
        verbose_name = _("lotto")
        verbose_name_plural = _("lotti")
        ordering = ["period", "number"]
        constraints = [
            models.UniqueConstraint(fields=["period", "number"], name="ptim_lot_unique"),
        ]

    @property
    def label(self):
        return _("Lotto %(n)s") % {"n": self.number}

    def __str__(self):
        return str(self.label)


class TerritorialArea(models.Model):
    code = models.SlugField(_("codice"), max_length=50, unique=True)
    name = models.CharField(_("denominazione"), max_length=100)

    class Meta:
        verbose_name = _("ambito territoriale")
        verbose_name_plural = _("ambiti territoriali")
        ordering = ["name"]

    def __str__(self):
        return self.name


class SpendingChapter(models.Model):
    code = models.CharField(_("codice"), max_length=20, unique=True)
    label = models.CharField(_("denominazione"), max_length=50)
    requires_plan_data = models.BooleanField(_("richiede identificativo e piano"), default=False)
    identifier_label = models.CharField(_("etichetta identificativo"), max_length=50, blank=True)
    allowed_user_types = models.JSONField(_("tipologie utente ammesse"), default=list)
    ordering = models.PositiveSmallIntegerField(_("ordine"), default=0)

    class Meta:
        verbose_name = _("capitolo di spesa")
        verbose_name_plural = _("capitoli di spesa")
        ordering = ["ordering", "code"]

    def __str__(self):
        return self.label


class InterventionCategory(models.Model):
    label = models.CharField(_("denominazione"), max_length=150, unique=True)
    active = models.BooleanField(_("attiva"), default=True)

    class Meta:
        verbose_name = _("categoria dell'intervento")
        verbose_name_plural = _("categorie dell'intervento")
        ordering = ["label"]

    def __str__(self):
        return self.label


class InterventionType(models.Model):
    label = models.CharField(_("denominazione"), max_length=150, unique=True)
    is_centralised_maintenance = models.BooleanField(
        _("intervento del Sistema Accentrato"), default=False
    )

    class Meta:
        verbose_name = _("tipologia intervento")
        verbose_name_plural = _("tipologie intervento")
        ordering = ["-is_centralised_maintenance", "label"]

    def __str__(self):
        return self.label


class OrganisationProfile(models.Model):
    """What PTIM needs to know about a contracting authority (D-21)."""

    organisation = models.OneToOneField(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="ptim_profile"
    )
    user_type = models.CharField(_("tipologia utente"), max_length=30, choices=UserType.choices)
    institutional_email = models.EmailField(_("mail istituzionale"), blank=True)
    territorial_areas = models.ManyToManyField(
        TerritorialArea, blank=True, verbose_name=_("competenza territoriale")
    )
    is_national = models.BooleanField(_("competenza nazionale"), default=False)

    class Meta:
        verbose_name = _("profilo PTIM dell'organizzazione")
        verbose_name_plural = _("profili PTIM delle organizzazioni")

    def __str__(self):
        return f"{self.organisation} ({self.get_user_type_display()})"


class Directorate(models.Model):
    """A Direzione Territoriale of the Agency: the competent DT of its agreements.

    A DT may be a whole organisation (cost_centre empty) or one cost centre of the Agency.
    """

    name = models.CharField(_("denominazione"), max_length=255)
    institutional_email = models.EmailField(_("mail Direzione Territoriale"))
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    cost_centre = models.ForeignKey(
        "accounts.CostCentre", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    territorial_areas = models.ManyToManyField(
        TerritorialArea, blank=True, verbose_name=_("ambiti territoriali")
    )

    class Meta:
        verbose_name = _("Direzione Territoriale")
        verbose_name_plural = _("Direzioni Territoriali")
        ordering = ["name"]

    def __str__(self):
        return self.name


# --- framework agreements ---------------------------------------------------------------------


class FrameworkAgreement(models.Model):
    identifier = models.CharField(_("identificativo"), max_length=50, unique=True)
    name = models.CharField(_("denominazione"), max_length=255)
    period = models.ForeignKey(ReferencePeriod, on_delete=models.PROTECT, verbose_name=_("periodo"))
    lots = models.ManyToManyField(Lot, verbose_name=_("lotti"), related_name="agreements")
    territorial_area = models.ForeignKey(
        TerritorialArea, on_delete=models.PROTECT, verbose_name=_("ambito territoriale")
    )
    directorate = models.ForeignKey(
        Directorate, on_delete=models.PROTECT, verbose_name=_("DT competente")
    )
    referent_name = models.CharField(_("Referente A.Q."), max_length=150)
    referent_email = models.EmailField(_("mail Referente A.Q."))
    price_list = models.CharField(_("prezziario"), max_length=255)
    valid_from = models.DateField(_("valido dal"))
    valid_until = models.DateField(_("valido fino al"))
    cancelled = models.BooleanField(_("annullato"), default=False)
    base_amount = models.DecimalField(_("massimale a base di gara"), **MONEY)
    increase_pct = models.DecimalField(
        _("percentuale di incremento"), max_digits=5, decimal_places=2, default=Decimal("50.00")
    )
    increase_amount = models.DecimalField(_("incremento applicato"), default=ZERO, **MONEY)
    created_at = models.DateTimeField(_("creato il"), auto_now_add=True)

    class Meta:
        verbose_name = _("accordo quadro")
        verbose_name_plural = _("accordi quadro")
        ordering = ["identifier"]

    def __str__(self):
        return f"{self.identifier} – {self.name}"

    def is_in_force(self, on) -> bool:
        return not self.cancelled and self.valid_from <= on <= self.valid_until

    @property
    def total_ceiling(self) -> Decimal:
        return self.base_amount + self.increase_amount


class ChapterCeiling(models.Model):
    agreement = models.ForeignKey(
        FrameworkAgreement, on_delete=models.CASCADE, related_name="ceilings"
    )
    chapter = models.ForeignKey(SpendingChapter, on_delete=models.PROTECT)
    amount = models.DecimalField(_("massimale"), **MONEY)

    class Meta:
        verbose_name = _("massimale per capitolo di spesa")
        verbose_name_plural = _("massimali per capitolo di spesa")
        constraints = [
            models.UniqueConstraint(fields=["agreement", "chapter"], name="ptim_ceiling_unique"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="ptim_ceiling_nonneg"),
        ]

    def __str__(self):
        return f"{self.agreement.identifier} · {self.chapter}"


class CeilingIncrease(models.Model):
    agreement = models.OneToOneField(
        FrameworkAgreement, on_delete=models.CASCADE, related_name="ceiling_increase"
    )
    pct = models.DecimalField(_("percentuale"), max_digits=5, decimal_places=2)
    amount = models.DecimalField(_("importo"), **MONEY)
    trigger = models.CharField(_("presupposto"), max_length=30)
    reference_amount = models.DecimalField(_("importo di riferimento"), **MONEY)
    motivation = models.TextField(_("motivazione"), max_length=4000)
    applied_at = models.DateTimeField(_("applicato il"))
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    shares = models.JSONField(_("quote"), default=dict)

    class Meta:
        verbose_name = _("incremento del massimale")
        verbose_name_plural = _("incrementi del massimale")

    def __str__(self):
        return f"{self.agreement.identifier} +{self.pct}%"


class EconomicOperator(models.Model):
    name = models.CharField(_("ragione sociale"), max_length=255)
    tax_code = models.CharField(_("codice fiscale"), max_length=16, unique=True)
    vat_number = models.CharField(_("partita IVA"), max_length=11, blank=True)
    pec = models.EmailField(_("PEC"), blank=True)
    email = models.EmailField(_("e-mail"), blank=True)

    class Meta:
        verbose_name = _("operatore economico")
        verbose_name_plural = _("operatori economici")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def holds(self, level: int | None, on) -> bool:
        """A NOS/NOSI valid on `on` with level >= `level` (D-24)."""
        if not level:
            return True
        return (
            self.clearances.filter(level__gte=level, issued_on__lte=on, valid_until__gte=on)
            .filter(Q(annulled_on__isnull=True) | Q(annulled_on__gt=on))
            .exists()
        )


class SecurityClearance(models.Model):
    operator = models.ForeignKey(
        EconomicOperator, on_delete=models.CASCADE, related_name="clearances"
    )
    kind = models.CharField(_("tipo"), max_length=4, choices=ClearanceKind.choices)
    level = models.PositiveSmallIntegerField(_("classifica"), choices=ClearanceLevel.choices)
    reference = models.CharField(_("estremi"), max_length=100, blank=True)
    issued_on = models.DateField(_("rilasciato il"))
    valid_until = models.DateField(_("valido fino al"))
    annulled_on = models.DateField(_("annullato il"), null=True, blank=True)

    class Meta:
        verbose_name = _("abilitazione NOS/NOSI")
        verbose_name_plural = _("abilitazioni NOS/NOSI")

    def __str__(self):
        return f"{self.kind} {self.get_level_display()} ({self.operator})"


class AgreementOperator(models.Model):
    agreement = models.ForeignKey(
        FrameworkAgreement, on_delete=models.CASCADE, related_name="operators"
    )
    operator = models.ForeignKey(
        EconomicOperator, on_delete=models.PROTECT, related_name="memberships"
    )
    score = models.DecimalField(_("punteggio di gara"), max_digits=7, decimal_places=3)
    ranking_position = models.PositiveSmallIntegerField(_("posizione in graduatoria"))
    discount_pct = models.DecimalField(_("ribasso"), max_digits=7, decimal_places=4)
    base_threshold = models.DecimalField(_("soglia"), **MONEY)
    increase_share = models.DecimalField(_("quota incremento"), default=ZERO, **MONEY)
    status = models.CharField(
        _("stato"), max_length=10, choices=OperatorStatus.choices, default=OperatorStatus.ACTIVE
    )
    status_changed_at = models.DateTimeField(_("stato cambiato il"), null=True, blank=True)
    last_readmitted_at = models.DateTimeField(_("ultima riammissione"), null=True, blank=True)

    class Meta:
        verbose_name = _("operatore dell'accordo quadro")
        verbose_name_plural = _("operatori dell'accordo quadro")
        ordering = ["agreement", "-score", "ranking_position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "operator"], name="ptim_aqop_unique"),
            models.UniqueConstraint(
                fields=["agreement", "ranking_position"], name="ptim_aqop_position_unique"
            ),
        ]

    def __str__(self):
        return f"{self.operator} ({self.agreement.identifier})"

    @property
    def threshold(self) -> Decimal:
        return self.base_threshold + self.increase_share


class AgreementOperatorEvent(models.Model):
    membership = models.ForeignKey(
        AgreementOperator, on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("tipo"), max_length=20, choices=OperatorEventKind.choices)
    motivation = models.TextField(_("motivazione"), max_length=4000)
    at = models.DateTimeField(_("data"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    trigger_refusal = models.ForeignKey(
        "Refusal", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("esclusione/riammissione")
        verbose_name_plural = _("esclusioni e riammissioni")
        ordering = ["at", "pk"]

    # --- contracts --------------------------------------------------------------------------------

    def __str__(self):
        return f"{self.get_kind_display()} – {self.membership}"


class ProgressiveCounter(models.Model):
    last_root = models.PositiveIntegerField(_("ultimo progressivo"), default=0)

    class Meta:
        verbose_name = _("contatore dei progressivi")
        verbose_name_plural = _("contatore dei progressivi")

    def __str__(self):
        return str(self.last_root)


class Contract(ConcurrentTransitionMixin, models.Model):
    progressive_root = models.PositiveIntegerField(_("progressivo (radice)"))
    rebooking_index = models.PositiveSmallIntegerField(_("indice di riprenotazione"), default=0)
    progressive = models.CharField(_("progressivo contratto"), max_length=12, unique=True)
    origin = models.CharField(
        _("origine"),
        max_length=30,
        choices=ContractOrigin.choices,
        default=ContractOrigin.FIRST_BOOKING,
    )
    predecessor = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="successor",
        verbose_name=_("contratto annullato riprenotato"),
    )
    agreement = models.ForeignKey(
        FrameworkAgreement, on_delete=models.PROTECT, related_name="contracts"
    )
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT)
    period = models.ForeignKey(ReferencePeriod, on_delete=models.PROTECT)
    territorial_area = models.ForeignKey(TerritorialArea, on_delete=models.PROTECT)
    contracting_authority = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="ptim_contracts",
        verbose_name=_("stazione appaltante"),
    )
    sa_user_type = models.CharField(_("tipologia utente"), max_length=30, choices=UserType.choices)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    # amounts (input)
    works_amount = models.DecimalField(_("importo lavori soggetto a ribasso"), **MONEY)
    safety_costs = models.DecimalField(_("oneri/costi non soggetti a ribasso"), **MONEY)
    og1_amount = models.DecimalField(_("importo OG1"), **MONEY)
    og2_amount = models.DecimalField(_("importo OG2"), **MONEY)
    og11_amount = models.DecimalField(_("importo OG11"), **MONEY)
    # amounts (derived, written by the services)
    planned_amount = models.DecimalField(_("importo dei lavori pianificato"), **MONEY)
    prevalent_amount = models.DecimalField(_("importo categoria prevalente"), **MONEY)
    total_amount = models.DecimalField(_("importo complessivo dell'appalto"), **MONEY)
    consumed_amount = models.DecimalField(_("importo che impegna le soglie"), default=ZERO, **MONEY)
    required_clearance = models.PositiveSmallIntegerField(
        _("classifica NOS/NOSI richiesta"), choices=ClearanceLevel.choices, null=True, blank=True
    )
    measured_basis_confirmed = models.BooleanField(_("importi a misura"), default=False)
    # descriptive
    description = models.TextField(_("descrizione dell'intervento"), max_length=4000)
    intervention_category = models.ForeignKey(InterventionCategory, on_delete=models.PROTECT)
    spending_chapter = models.ForeignKey(SpendingChapter, on_delete=models.PROTECT)
    intervention_identifier = models.CharField(
        _("identificativo intervento"), max_length=50, blank=True
    )
    plan_year = models.PositiveSmallIntegerField(_("piano generale (anno)"), null=True, blank=True)
    # The MU identifier while the contract is not annulled: unique among active contracts (D-20).
    active_mu_identifier = models.CharField(max_length=50, null=True, blank=True, unique=True)
    intervention_type = models.ForeignKey(
        InterventionType, on_delete=models.PROTECT, null=True, blank=True
    )
    notes = models.TextField(_("note"), max_length=4000, blank=True)
    # RUP / office
    rup_first_name = models.CharField(_("nome RUP/Referente"), max_length=100)
    rup_last_name = models.CharField(_("cognome RUP/Referente"), max_length=100)
    rup_role = models.CharField(_("qualifica"), max_length=20, default="RUP")
    rup_phone = models.CharField(_("telefono"), max_length=30)
    rup_email = models.EmailField(_("mail personale d'ufficio del RUP/Referente"))
    office_name = models.CharField(_("Ufficio/Reparto"), max_length=255)
    office_email = models.EmailField(_("mail istituzionale dell'Ufficio"))
    # state
    state = FSMField(
        _("stato"), default=ContractState.BOOKED, choices=ContractState.choices, protected=True
    )
    membership = models.ForeignKey(
        AgreementOperator,
        on_delete=models.PROTECT,
        related_name="contracts",
        verbose_name=_("operatore"),
    )
    booked_at = models.DateTimeField(_("prenotato il"))
    booking_date = models.DateField(_("data di prenotazione"))
    acceptance_deadline = models.DateField(_("termine di accettazione"))
    accepted_at = models.DateTimeField(_("accettato il"), null=True, blank=True)
    acceptance_document = models.ForeignKey(
        "documents.StoredDocument",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    stipula_deadline = models.DateField(_("termine di stipula"), null=True, blank=True)
    extension_granted_at = models.DateTimeField(_("proroga concessa il"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confermato il"), null=True, blank=True)
    stipula_document = models.ForeignKey(
        "documents.StoredDocument",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    annulled_at = models.DateTimeField(_("annullato il"), null=True, blank=True)
    annulment_kind = models.CharField(
        _("tipo di annullamento"), max_length=30, choices=AnnulmentKind.choices, blank=True
    )
    annulment_reason = models.TextField(_("causale annullamento"), max_length=4000, blank=True)
    annulled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    annulment_request_document = models.ForeignKey(
        "documents.StoredDocument",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("istanza di annullamento della S.A."),
    )
    rescission_reason = models.TextField(_("motivazioni"), max_length=4000, blank=True)
    rescission_date = models.DateField(_("data rescissione/risoluzione"), null=True, blank=True)
    amount_paid = models.DecimalField(_("importi corrisposti"), null=True, blank=True, **MONEY)
    amount_due = models.DecimalField(_("importi da corrispondere"), null=True, blank=True, **MONEY)
    rescission_document = models.ForeignKey(
        "documents.StoredDocument",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    rescinded_at = models.DateTimeField(_("rescisso il"), null=True, blank=True)
    created_at = models.DateTimeField(_("creato il"), auto_now_add=True)

    class Meta:
        verbose_name = _("contratto")
        verbose_name_plural = _("contratti")
        ordering = ["-progressive_root", "-rebooking_index"]
        constraints = [
            models.UniqueConstraint(
                fields=["progressive_root", "rebooking_index"], name="ptim_contract_progressive"
            ),
            models.CheckConstraint(
                condition=Q(works_amount__gt=0), name="ptim_contract_works_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["agreement", "state"]),
            models.Index(fields=["contracting_authority", "state"]),
        ]

    def __str__(self):
        return _("Contratto n. %(p)s") % {"p": self.progressive}

    @property
    def organisation(self):
        return self.contracting_authority

    # FSM transitions: they only change state; the services save, audit and notify.
    @transition(field=state, source=ContractState.BOOKED, target=ContractState.ACCEPTED)
    def accept(self):
        pass

    @transition(field=state, source=ContractState.ACCEPTED, target=ContractState.DEFINITIVE)
    def confirm(self):
        pass

    @transition(
        field=state,
        source=[ContractState.BOOKED, ContractState.ACCEPTED],
        target=ContractState.ANNULLED,
    )
    def annul(self):
        pass

    @transition(field=state, source=ContractState.DEFINITIVE, target=ContractState.RESCINDED)
    def rescind(self):
        pass

    @property
    def is_active(self) -> bool:
        return self.state != ContractState.ANNULLED


class OperatorBooking(models.Model):
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="bookings")
    membership = models.ForeignKey(
        AgreementOperator, on_delete=models.PROTECT, related_name="bookings"
    )
    booked_at = models.DateTimeField(_("prenotato il"))
    booking_date = models.DateField(_("data di prenotazione"))
    total_amount = models.DecimalField(_("importo complessivo dell'appalto"), **MONEY)
    outcome = models.CharField(
        _("esito"), max_length=10, choices=BookingOutcome.choices, default=BookingOutcome.CURRENT
    )
    ended_at = models.DateTimeField(_("conclusa il"), null=True, blank=True)

    class Meta:
        verbose_name = _("prenotazione dell'operatore")
        verbose_name_plural = _("prenotazioni degli operatori")
        ordering = ["booked_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract"],
                condition=Q(outcome="CURRENT"),
                name="ptim_one_current_booking",
            )
        ]

    def __str__(self):
        return f"{self.membership.operator} – {self.contract.progressive}"


class Receipt(models.Model):
    """Booking / unavailability receipt, rendered by WeasyPrint after commit."""

    kind = models.CharField(_("tipo"), max_length=20, choices=ReceiptKind.choices)
    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="receipts", null=True, blank=True
    )
    booking = models.ForeignKey(
        OperatorBooking, on_delete=models.CASCADE, null=True, blank=True, related_name="receipts"
    )
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT)
    context = models.JSONField(_("dati"), default=dict)
    created_at = models.DateTimeField(_("creata il"))
    file = models.FileField(_("file"), upload_to="ptim/receipts/%Y/%m/", blank=True)
    sha256 = models.CharField(_("impronta SHA-256"), max_length=64, blank=True)
    rendered_at = models.DateTimeField(_("generata il"), null=True, blank=True)

    class Meta:
        verbose_name = _("ricevuta")
        verbose_name_plural = _("ricevute")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.context.get('progressive', '')}"


class Refusal(models.Model):
    booking = models.OneToOneField(
        OperatorBooking, on_delete=models.PROTECT, related_name="refusal"
    )
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="refusals")
    membership = models.ForeignKey(
        AgreementOperator, on_delete=models.PROTECT, related_name="refusals"
    )
    booked_at = models.DateTimeField(_("data prenotazione"))
    waiver_document = models.ForeignKey(
        "documents.StoredDocument", on_delete=models.PROTECT, related_name="+"
    )
    is_lapse_declaration = models.BooleanField(
        _("dichiarazione di inutile decorso del termine"), default=False
    )
    inserted_at = models.DateTimeField(_("inserito il"))
    inserted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    handling_deadline = models.DateField(_("termine di gestione"))
    justified = models.BooleanField(_("rifiuto giustificato"), null=True, blank=True)
    motivation = models.TextField(_("motivazione"), max_length=4000, blank=True)
    handled_at = models.DateTimeField(_("gestito il"), null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    expiry_notified_at = models.DateTimeField(_("scadenza notificata il"), null=True, blank=True)
    unlocked_at = models.DateTimeField(_("sbloccato il"), null=True, blank=True)
    unlock_date = models.DateField(_("data di sblocco"), null=True, blank=True)
    unlock_motivation = models.TextField(_("motivazione sblocco"), max_length=4000, blank=True)
    unlocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("rifiuto")
        verbose_name_plural = _("rifiuti")
        ordering = ["booked_at", "pk"]

    def __str__(self):
        return f"{self.membership.operator} – {self.contract.progressive}"


class Variation(models.Model):
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="variations")
    kind = models.CharField(_("tipologia variazione"), max_length=30, choices=VariationKind.choices)
    description = models.TextField(_("descrizione"), max_length=4000)
    works_amount = models.DecimalField(_("importo lavori soggetto a ribasso"), **MONEY)
    non_discounted_amount = models.DecimalField(_("importo lavori non soggetto a ribasso"), **MONEY)
    planned_amount = models.DecimalField(_("importo dei lavori pianificato"), **MONEY)
    total_amount = models.DecimalField(_("importo complessivo"), **MONEY)
    documents = models.ManyToManyField(
        "documents.StoredDocument", related_name="+", verbose_name=_("documenti autorizzativi")
    )
    created_at = models.DateTimeField(_("inserita il"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(_("modificata il"), null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    annulled_at = models.DateTimeField(_("annullata il"), null=True, blank=True)
    annulled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    annulment_note = models.TextField(_("nota di annullamento"), max_length=4000, blank=True)

    class Meta:
        verbose_name = _("variazione")
        verbose_name_plural = _("variazioni")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.get_kind_display()} – {self.contract.progressive}"


class AvailabilityShortfall(models.Model):
    at = models.DateTimeField(_("data"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT)
    agreement = models.ForeignKey(FrameworkAgreement, on_delete=models.CASCADE)
    works_amount = models.DecimalField(_("importo lavori"), **MONEY)
    safety_costs = models.DecimalField(_("oneri"), **MONEY)
    planned_amount = models.DecimalField(_("importo pianificato"), **MONEY)
    reason = models.CharField(_("causa"), max_length=30)
    message = models.TextField(_("messaggio mostrato"))

    class Meta:
        verbose_name = _("prenotazione non riuscita per indisponibilità")
        verbose_name_plural = _("prenotazioni non riuscite per indisponibilità")
        ordering = ["-at"]

    def __str__(self):
        return f"{self.agreement.identifier} – {self.at:%d/%m/%Y}"


class GuideDocument(models.Model):
    """A version of the "GUIDA OPERATIVA" (D-50): published by DG users, never overwritten; the
    latest is served from the toolbar."""

    version = models.PositiveIntegerField(_("versione"), unique=True)
    document = models.ForeignKey(
        "documents.StoredDocument", on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("note di versione"), max_length=255, blank=True)
    published_at = models.DateTimeField(_("pubblicata il"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("versione della guida operativa")
        verbose_name_plural = _("versioni della guida operativa")
        ordering = ["-version"]

    def __str__(self):
        return _("Guida operativa v%(v)s") % {"v": self.version}
