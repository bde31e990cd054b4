"""Tenders (open procedure): configuration, sealed offers, sessions, evaluation and award.

State machines follow spec §5: `Tender.status` (§5.2), `Lot.status` (§5.3) and
`Participant.status` (§5.4). Transition methods only check the source state and change it; the
services in `gare/services/` lock, save, audit and schedule side effects.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from procurement.accounts.querysets import OrganisationScopedQuerySet

MONEY = {"max_digits": 14, "decimal_places": 2}
PCT = {"max_digits": 5, "decimal_places": 2}


class TenderStatus(models.TextChoices):
    DRAFT = "DRAFT", _("Bozza")
    PUBLISHED = "PUBLISHED", _("Pubblicata")
    SUSPENDED = "SUSPENDED", _("Sospesa")
    SUBMISSION_CLOSED = "SUBMISSION_CLOSED", _("Termine offerte scaduto")
    IN_EVALUATION = "IN_EVALUATION", _("In valutazione")
    CONCLUDED = "CONCLUDED", _("Conclusa")
    CANCELLED = "CANCELLED", _("Annullata")


class LotStatus(models.TextChoices):
    OPEN_FOR_SUBMISSION = "OPEN_FOR_SUBMISSION", _("Aperto alla presentazione delle offerte")
    DESERTED = "DESERTED", _("Deserto")
    AWAITING_FIRST_SESSION = "AWAITING_FIRST_SESSION", _("In attesa della prima seduta")
    ADMIN_CHECK = "ADMIN_CHECK", _("Verifica amministrativa")
    ADMISSIONS_DECIDED = "ADMISSIONS_DECIDED", _("Ammissioni deliberate")
    TECH_OPENING = "TECH_OPENING", _("Apertura offerte tecniche")
    TECH_EVALUATION = "TECH_EVALUATION", _("Valutazione tecnica")
    TECH_SCORES_PUBLISHED = "TECH_SCORES_PUBLISHED", _("Punteggi tecnici pubblicati")
    ECON_OPENING = "ECON_OPENING", _("Apertura offerte economiche")
    RANKED = "RANKED", _("Graduatoria formata")
    TIE_BREAK = "TIE_BREAK", _("Parità in corso di risoluzione")
    ANOMALY_REVIEW = "ANOMALY_REVIEW", _("Verifica di anomalia")
    PROPOSED = "PROPOSED", _("Proposta di aggiudicazione")
    VERIFICATION = "VERIFICATION", _("Verifica dei requisiti")
    AWARDED = "AWARDED", _("Aggiudicato")
    CONTRACT_SIGNED = "CONTRACT_SIGNED", _("Contratto stipulato")
    NOT_AWARDED = "NOT_AWARDED", _("Non aggiudicato")


class ParticipantStatus(models.TextChoices):
    SUBMITTED = "SUBMITTED", _("Offerta presentata")
    WITHDRAWN = "WITHDRAWN", _("Offerta ritirata")
    UNDER_ADMIN_CHECK = "UNDER_ADMIN_CHECK", _("In verifica amministrativa")
    REMEDY_PENDING = "REMEDY_PENDING", _("Soccorso istruttorio in corso")
    SINGLE_CENTRE_REVIEW = "SINGLE_CENTRE_REVIEW", _("Verifica di unico centro decisionale")
    ADMITTED = "ADMITTED", _("Ammesso")
    EXCLUDED = "EXCLUDED", _("Escluso")
    AWARDEE = "AWARDEE", _("Aggiudicatario")
    RENOUNCED = "RENOUNCED", _("Rinunciatario (validità dell'offerta non confermata)")


class ParticipationForm(models.TextChoices):
    SINGLE = "SINGLE", _("Impresa singola")
    RTI_CONSTITUTED = "RTI_CONSTITUTED", _("RTI costituito")
    RTI_TO_BE_CONSTITUTED = "RTI_TO_BE_CONSTITUTED", _("RTI costituendo")
    ORDINARY_CONSORTIUM_CONSTITUTED = (
        "ORDINARY_CONSORTIUM_CONSTITUTED",
        _("Consorzio ordinario costituito"),
    )
    ORDINARY_CONSORTIUM_TO_BE_CONSTITUTED = (
        "ORDINARY_CONSORTIUM_TO_BE_CONSTITUTED",
        _("Consorzio ordinario costituendo"),
    )
    GEIE = "GEIE", _("GEIE")
    NETWORK_LEGAL_ENTITY = "NETWORK_LEGAL_ENTITY", _("Rete-soggetto")
    NETWORK_CONTRACT = "NETWORK_CONTRACT", _("Rete-contratto")
    NETWORK_AS_RTI_CONSTITUTED = "NETWORK_AS_RTI_CONSTITUTED", _("Rete come RTI costituito")
    NETWORK_AS_RTI_TO_BE_CONSTITUTED = (
        "NETWORK_AS_RTI_TO_BE_CONSTITUTED",
        _("Rete come RTI costituendo"),
    )
    CONSORTIUM_COOPERATIVES = "CONSORTIUM_COOPERATIVES", _("Consorzio fra società cooperative")
    CONSORTIUM_ARTISANS = "CONSORTIUM_ARTISANS", _("Consorzio tra imprese artigiane")
    STABLE_CONSORTIUM = "STABLE_CONSORTIUM", _("Consorzio stabile")


class WorkCategoryRole(models.TextChoices):
    PREVALENT = "PREVALENT", _("Prevalente")
    SEPARABLE = "SEPARABLE", _("Scorporabile")


class SoaClass(models.TextChoices):
    I = "I", "I"  # noqa: E741 (the legal name of the class)
    II = "II", "II"
    III = "III", "III"
    III_BIS = "III_BIS", "III-bis"
    IV = "IV", "IV"
    IV_BIS = "IV_BIS", "IV-bis"
    V = "V", "V"
    VI = "VI", "VI"
    VII = "VII", "VII"
    VIII = "VIII", "VIII"


class TenderQuerySet(OrganisationScopedQuerySet):
    """Tenders of the organisations a user acts for (the SUA running them)."""


class Tender(ConcurrentTransitionMixin, models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="gare_tenders",
        verbose_name=_("stazione appaltante"),
    )
    delegating_entity = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="gare_delegated_tenders",
        verbose_name=_("ente committente"),
    )
    code = models.CharField(_("numero procedura"), max_length=30)
    title = models.CharField(_("oggetto"), max_length=500)
    description = models.TextField(_("descrizione"), blank=True)
    decision_to_contract_ref = models.CharField(_("determina a contrarre"), max_length=255)
    procedure_type = models.CharField(_("procedura"), max_length=30, default="OPEN")
    award_criterion = models.CharField(
        _("criterio di aggiudicazione"), max_length=40, default="BEST_PRICE_QUALITY_RATIO"
    )
    contract_type = models.CharField(_("tipo di contratto"), max_length=20, default="WORKS")
    cup = models.CharField(_("CUP"), max_length=15, blank=True)
    competent_court = models.CharField(_("foro competente"), max_length=100, blank=True)
    questions_deadline = models.DateTimeField(_("termine per i chiarimenti"), null=True)
    answers_min_days_before = models.PositiveSmallIntegerField(
        _("giorni minimi tra risposte e termine offerte"), default=6
    )
    site_visit_request_deadline = models.DateField(
        _("termine richiesta sopralluogo"), null=True, blank=True
    )
    offer_deadline = models.DateTimeField(_("termine di presentazione delle offerte"), null=True)
    first_session_at = models.DateTimeField(_("prima seduta pubblica"), null=True)
    offer_validity_days = models.PositiveSmallIntegerField(
        _("validità dell'offerta (giorni)"), default=180
    )
    max_file_size_mb = models.PositiveSmallIntegerField(
        _("dimensione massima per file (MB)"), default=15
    )
    max_envelope_size_mb = models.PositiveSmallIntegerField(
        _("dimensione massima per busta (MB)"), default=50
    )
    standstill_days = models.PositiveSmallIntegerField(_("termine dilatorio (giorni)"), default=32)
    signature_max_days_after_award = models.PositiveSmallIntegerField(
        _("termine per la stipula (giorni)"), default=60
    )
    scheme = models.JSONField(_("schema di valutazione"), default=dict, blank=True)
    #: The tender's data key, wrapped (AES-GCM) by the sealing key that lives outside the database.
    wrapped_key = models.BinaryField(
        _("chiave dati cifrata"), null=True, blank=True, editable=False
    )
    is_template = models.BooleanField(_("modello"), default=False)
    status = FSMField(
        _("stato"), default=TenderStatus.DRAFT, choices=TenderStatus.choices, protected=True
    )
    published_at = models.DateTimeField(_("pubblicata il"), null=True, blank=True)
    #: The kernel's PCP appalto of the tender (R-GARE-145): the CIG of each lot comes from it.
    pcp_appalto = models.OneToOneField(
        "pcp.PcpAppalto",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="gare_tender",
        verbose_name=_("appalto PCP"),
    )
    #: Set when the RUP asked to publish: the tender is published when ANAC acknowledges the notice.
    publication_requested_at = models.DateTimeField(
        _("pubblicazione richiesta il"), null=True, blank=True
    )
    cancelled_at = models.DateTimeField(_("annullata il"), null=True, blank=True)
    cancellation_act = models.CharField(_("atto di annullamento"), max_length=255, blank=True)
    cancellation_reason = models.TextField(_("motivazione dell'annullamento"), blank=True)
    publication_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("pubblicazione richiesta da"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("creata da"),
    )
    created_at = models.DateTimeField(_("creata il"), auto_now_add=True)
    updated_at = models.DateTimeField(_("aggiornata il"), auto_now=True)

    objects = TenderQuerySet.as_manager()

    class Meta:
        verbose_name = _("gara")
        verbose_name_plural = _("gare")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.code} – {self.title[:80]}"

    @property
    def answers_deadline(self):
        from . import deadlines

        return deadlines.answers_deadline(self)

    @transition(field=status, source=TenderStatus.DRAFT, target=TenderStatus.PUBLISHED)
    def publish(self) -> None:
        pass

    @transition(field=status, source=TenderStatus.PUBLISHED, target=TenderStatus.SUBMISSION_CLOSED)
    def close_submission(self) -> None:
        pass

    @transition(field=status, source=TenderStatus.SUBMISSION_CLOSED, target=TenderStatus.PUBLISHED)
    def reopen(self) -> None:
        pass

    @transition(field=status, source=TenderStatus.PUBLISHED, target=TenderStatus.SUSPENDED)
    def suspend(self) -> None:
        pass

    @transition(field=status, source=TenderStatus.SUSPENDED, target=TenderStatus.PUBLISHED)
    def resume(self) -> None:
        pass

    @transition(
        field=status, source=TenderStatus.SUBMISSION_CLOSED, target=TenderStatus.IN_EVALUATION
    )
    def start_evaluation(self) -> None:
        pass

    @transition(
        field=status,
        source=[TenderStatus.IN_EVALUATION, TenderStatus.SUBMISSION_CLOSED],
        target=TenderStatus.CONCLUDED,
    )
    def conclude(self) -> None:
        pass

    @transition(
        field=status,
        source=[
            TenderStatus.DRAFT,
            TenderStatus.PUBLISHED,
            TenderStatus.SUSPENDED,
            TenderStatus.SUBMISSION_CLOSED,
            TenderStatus.IN_EVALUATION,
        ],
        target=TenderStatus.CANCELLED,
    )
    def cancel(self) -> None:
        """§5.2: any non-terminal state, by a formal act (self-protection / revocation)."""


class Lot(ConcurrentTransitionMixin, models.Model):
    S = LotStatus
    tender = models.ForeignKey(
        Tender, on_delete=models.CASCADE, related_name="lots", verbose_name=_("gara")
    )
    number = models.PositiveSmallIntegerField(_("numero"), default=1)
    title = models.CharField(_("denominazione"), max_length=500)
    cig = models.CharField(_("CIG"), max_length=10, blank=True)
    #: True when the CIG was returned by ANAC's PCP (then read-only), False when typed by hand
    #: (allowed only in the simulator environment, D-57).
    cig_from_pcp = models.BooleanField(_("CIG acquisito da PCP"), default=False)
    #: A transition waiting for ANAC's acknowledgement of its scheda (award: A2_29/A1_29,
    #: signature: SC1): {"action": ..., "scheda": <PcpScheda pk>, ...}; empty when none.
    pcp_pending = models.JSONField(_("in attesa di ANAC"), default=dict, blank=True)
    cpv_main = models.CharField(_("CPV principale"), max_length=20, blank=True)
    nuts_code = models.CharField(_("codice NUTS"), max_length=10, blank=True)
    works_amount = models.DecimalField(_("importo dei lavori soggetto a ribasso"), **MONEY)
    safety_costs = models.DecimalField(_("oneri della sicurezza non soggetti a ribasso"), **MONEY)
    labour_cost_estimate = models.DecimalField(_("costo stimato della manodopera"), **MONEY)
    ccnl_code = models.CharField(_("CCNL (codice CNEL)"), max_length=10, blank=True)
    duration_days = models.PositiveIntegerField(_("durata dei lavori (giorni)"))
    guarantee_rate = models.DecimalField(
        _("garanzia provvisoria (%)"), default=Decimal("2.00"), **PCT
    )
    anac_contribution_amount = models.DecimalField(
        _("contributo ANAC"), default=Decimal("0.00"), **MONEY
    )
    stamp_duty_amount = models.DecimalField(
        _("imposta di bollo"), default=Decimal("16.00"), **MONEY
    )
    status = FSMField(
        _("stato"), default=LotStatus.OPEN_FOR_SUBMISSION, choices=LotStatus.choices, protected=True
    )
    evaluation_concluded_at = models.DateTimeField(
        _("valutazione conclusa il"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("lotto")
        verbose_name_plural = _("lotti")
        ordering = ["tender", "number"]
        constraints = [
            models.UniqueConstraint(fields=["tender", "number"], name="gare_lot_number_unique")
        ]

    def __str__(self) -> str:
        return _("Lotto %(n)s – CIG %(cig)s") % {"n": self.number, "cig": self.cig or "—"}

    @property
    def organisation(self):
        return self.tender.organisation

    @property
    def total_amount(self) -> Decimal:
        return self.works_amount + self.safety_costs

    # --- transitions (§5.3) ---------------------------------------------------------------
    @transition(field=status, source=S.OPEN_FOR_SUBMISSION, target=S.AWAITING_FIRST_SESSION)
    def close_with_offers(self) -> None:
        pass

    @transition(field=status, source=S.OPEN_FOR_SUBMISSION, target=S.DESERTED)
    def close_deserted(self) -> None:
        pass

    @transition(
        field=status, source=[S.AWAITING_FIRST_SESSION, S.DESERTED], target=S.OPEN_FOR_SUBMISSION
    )
    def reopen(self) -> None:
        pass

    @transition(field=status, source=S.AWAITING_FIRST_SESSION, target=S.ADMIN_CHECK)
    def start_admin_check(self) -> None:
        pass

    @transition(field=status, source=S.ADMIN_CHECK, target=S.ADMISSIONS_DECIDED)
    def decide_admissions(self) -> None:
        pass

    @transition(field=status, source=S.ADMISSIONS_DECIDED, target=S.NOT_AWARDED)
    def nobody_admitted(self) -> None:
        pass

    @transition(field=status, source=S.ADMISSIONS_DECIDED, target=S.TECH_OPENING)
    def open_technical(self) -> None:
        pass

    @transition(field=status, source=S.TECH_OPENING, target=S.TECH_EVALUATION)
    def start_technical_evaluation(self) -> None:
        pass

    @transition(field=status, source=S.TECH_EVALUATION, target=S.TECH_SCORES_PUBLISHED)
    def publish_technical(self) -> None:
        pass

    @transition(field=status, source=S.TECH_SCORES_PUBLISHED, target=S.ECON_OPENING)
    def open_economic(self) -> None:
        pass

    @transition(
        field=status,
        source=[
            S.ECON_OPENING,
            S.TIE_BREAK,
            S.ANOMALY_REVIEW,
            S.PROPOSED,
            S.VERIFICATION,
            S.AWARDED,
            S.RANKED,
        ],
        target=S.RANKED,
    )
    def rank(self) -> None:
        pass

    @transition(field=status, source=S.RANKED, target=S.TIE_BREAK)
    def start_tie_break(self) -> None:
        pass

    @transition(field=status, source=S.RANKED, target=S.ANOMALY_REVIEW)
    def start_anomaly_review(self) -> None:
        pass

    @transition(field=status, source=S.RANKED, target=S.PROPOSED)
    def propose(self) -> None:
        pass

    @transition(field=status, source=S.PROPOSED, target=S.VERIFICATION)
    def start_verification(self) -> None:
        pass

    @transition(field=status, source=S.VERIFICATION, target=S.AWARDED)
    def award(self) -> None:
        pass

    @transition(field=status, source=S.AWARDED, target=S.CONTRACT_SIGNED)
    def sign_contract(self) -> None:
        pass

    @transition(field=status, source=[S.RANKED, S.PROPOSED, S.VERIFICATION], target=S.NOT_AWARDED)
    def not_award(self) -> None:
        pass


class LotWorkCategory(models.Model):
    lot = models.ForeignKey(
        Lot, on_delete=models.CASCADE, related_name="categories", verbose_name=_("lotto")
    )
    category = models.CharField(_("categoria"), max_length=10)
    description = models.CharField(_("descrizione"), max_length=255, blank=True)
    role = models.CharField(_("qualificazione"), max_length=10, choices=WorkCategoryRole.choices)
    soa_class = models.CharField(_("classifica SOA"), max_length=8, choices=SoaClass.choices)
    amount = models.DecimalField(_("importo"), **MONEY)
    subcontract_max_pct = models.DecimalField(
        _("subappalto massimo (%)"), default=Decimal("100.00"), **PCT
    )

    class Meta:
        verbose_name = _("categoria di lavori")
        verbose_name_plural = _("categorie di lavori")
        ordering = ["lot", "-role", "category"]

    def __str__(self) -> str:
        return f"{self.category} {self.get_soa_class_display()}"

    @property
    def share_pct(self) -> Decimal:
        from .deadlines import q2

        if not self.lot.works_amount:
            return Decimal("0.00")
        return q2(self.amount * 100 / self.lot.works_amount)


class DocumentKind(models.TextChoices):
    CONTRACT_NOTICE = "CONTRACT_NOTICE", _("Bando di gara")
    TENDER_RULES = "TENDER_RULES", _("Disciplinare di gara")
    TEMPLATE = "TEMPLATE", _("Modello (allegato)")
    SPECIFICATIONS = "SPECIFICATIONS", _("Capitolato")
    DETAILED_DESIGN = "DETAILED_DESIGN", _("Progetto esecutivo")
    DRAFT_CONTRACT = "DRAFT_CONTRACT", _("Schema di contratto")
    OTHER = "OTHER", _("Altro")


#: Publication needs at least these (spec §5.2: "all documents a)–g) uploaded"; D-xx: the two
#: documents without which nobody can bid).
REQUIRED_DOCUMENT_KINDS = (DocumentKind.CONTRACT_NOTICE, DocumentKind.TENDER_RULES)


class TenderDocument(models.Model):
    tender = models.ForeignKey(
        Tender, on_delete=models.CASCADE, related_name="documents", verbose_name=_("gara")
    )
    kind = models.CharField(_("tipo"), max_length=20, choices=DocumentKind.choices)
    title = models.CharField(_("titolo"), max_length=255)
    document = models.ForeignKey(
        "documents.StoredDocument",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("documento"),
    )
    created_at = models.DateTimeField(_("caricato il"))

    class Meta:
        verbose_name = _("documento di gara")
        verbose_name_plural = _("documenti di gara")
        ordering = ["tender", "kind", "created_at"]

    def __str__(self) -> str:
        return self.title


# --- participation and sealed offers -----------------------------------------------------


class Participant(ConcurrentTransitionMixin, models.Model):
    S = ParticipantStatus
    lot = models.ForeignKey(
        Lot, on_delete=models.CASCADE, related_name="participants", verbose_name=_("lotto")
    )
    operator = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="gare_participations",
        verbose_name=_("operatore economico"),
    )
    form = models.CharField(
        _("forma di partecipazione"),
        max_length=40,
        choices=ParticipationForm.choices,
        default=ParticipationForm.SINGLE,
    )
    members = models.JSONField(_("componenti"), default=list, blank=True)
    display_name = models.CharField(_("denominazione"), max_length=255)
    status = FSMField(
        _("stato"),
        default=ParticipantStatus.SUBMITTED,
        choices=ParticipantStatus.choices,
        protected=True,
    )
    current_offer = models.ForeignKey(
        "Offer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("offerta valida"),
    )
    checklist_note = models.TextField(_("esito verifica amministrativa"), blank=True)
    created_at = models.DateTimeField(_("creato il"), auto_now_add=True)

    class Meta:
        verbose_name = _("concorrente")
        verbose_name_plural = _("concorrenti")
        ordering = ["lot", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["lot", "operator"], name="gare_one_participant_per_oe")
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def organisation(self):
        return self.lot.tender.organisation

    @transition(field=status, source=[S.SUBMITTED, S.WITHDRAWN], target=S.SUBMITTED)
    def resubmit(self) -> None:
        pass

    @transition(field=status, source=S.SUBMITTED, target=S.WITHDRAWN)
    def withdraw(self) -> None:
        pass

    @transition(field=status, source=S.SUBMITTED, target=S.UNDER_ADMIN_CHECK)
    def start_admin_check(self) -> None:
        pass

    @transition(
        field=status, source=[S.UNDER_ADMIN_CHECK, S.REMEDY_PENDING], target=S.REMEDY_PENDING
    )
    def await_remedy(self) -> None:
        pass

    @transition(
        field=status,
        source=[S.UNDER_ADMIN_CHECK, S.REMEDY_PENDING],
        target=S.SINGLE_CENTRE_REVIEW,
    )
    def review_single_centre(self) -> None:
        pass

    @transition(field=status, source=S.SINGLE_CENTRE_REVIEW, target=S.UNDER_ADMIN_CHECK)
    def back_to_admin_check(self) -> None:
        pass

    @transition(
        field=status,
        source=[S.UNDER_ADMIN_CHECK, S.REMEDY_PENDING, S.SINGLE_CENTRE_REVIEW],
        target=S.ADMITTED,
    )
    def admit(self) -> None:
        pass

    @transition(
        field=status,
        source=[
            S.UNDER_ADMIN_CHECK,
            S.REMEDY_PENDING,
            S.SINGLE_CENTRE_REVIEW,
            S.ADMITTED,
            S.AWARDEE,
        ],
        target=S.EXCLUDED,
    )
    def exclude(self) -> None:
        pass

    @transition(
        field=status,
        source=[
            S.SUBMITTED,
            S.UNDER_ADMIN_CHECK,
            S.REMEDY_PENDING,
            S.SINGLE_CENTRE_REVIEW,
            S.ADMITTED,
        ],
        target=S.RENOUNCED,
    )
    def renounce(self) -> None:
        """No confirmation of the offer's validity by the reply deadline (R-GARE-074, S-28)."""

    @transition(field=status, source=S.ADMITTED, target=S.AWARDEE)
    def make_awardee(self) -> None:
        pass


class OfferStatus(models.TextChoices):
    DRAFT = "DRAFT", _("In preparazione")
    SUBMITTED = "SUBMITTED", _("Presentata")
    SUPERSEDED = "SUPERSEDED", _("Sostituita")
    WITHDRAWN = "WITHDRAWN", _("Ritirata")


class Offer(models.Model):
    """One version of a bidder's offer; only the last one submitted counts (S-19)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lot = models.ForeignKey(
        Lot, on_delete=models.CASCADE, related_name="offers", verbose_name=_("lotto")
    )
    operator = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="gare_offers",
        verbose_name=_("operatore economico"),
    )
    participant = models.ForeignKey(
        Participant,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="offers",
        verbose_name=_("concorrente"),
    )
    form = models.CharField(
        _("forma di partecipazione"),
        max_length=40,
        choices=ParticipationForm.choices,
        default=ParticipationForm.SINGLE,
    )
    members = models.JSONField(_("componenti"), default=list, blank=True)
    version_no = models.PositiveIntegerField(_("versione"), default=0)
    status = models.CharField(
        _("stato"), max_length=12, choices=OfferStatus.choices, default=OfferStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("utente"),
    )
    created_at = models.DateTimeField(_("creata il"))
    submitted_at = models.DateTimeField(_("presentata il"), null=True, blank=True)
    receipt_no = models.CharField(_("numero ricevuta"), max_length=40, blank=True)
    manifest_sha256 = models.CharField(_("impronta complessiva"), max_length=64, blank=True)
    withdrawn_at = models.DateTimeField(_("ritirata il"), null=True, blank=True)
    withdrawal_receipt_no = models.CharField(_("ricevuta di ritiro"), max_length=40, blank=True)
    unsigned_confirmed = models.BooleanField(
        _("presentata nonostante firme mancanti o non valide"), default=False
    )

    class Meta:
        verbose_name = _("offerta")
        verbose_name_plural = _("offerte")
        ordering = ["lot", "operator", "-version_no"]
        constraints = [
            models.UniqueConstraint(
                fields=["lot", "operator"],
                condition=models.Q(status="SUBMITTED"),
                name="gare_one_submitted_offer",
            ),
            models.UniqueConstraint(
                fields=["lot", "operator"],
                condition=models.Q(status="DRAFT"),
                name="gare_one_draft_offer",
            ),
        ]

    def __str__(self) -> str:
        return _("Offerta di %(oe)s (v%(v)s)") % {"oe": self.operator, "v": self.version_no}


class EnvelopeType(models.TextChoices):
    A_ADMIN = "A", _("Busta A – Documentazione amministrativa")
    B_TECHNICAL = "B", _("Busta B – Offerta tecnica")
    C_ECONOMIC = "C", _("Busta C – Offerta economica")


class EnvelopeState(models.TextChoices):
    EDITABLE = "EDITABLE", _("Modificabile")
    SEALED = "SEALED", _("Sigillata")
    OPENED = "OPENED", _("Aperta")


class Envelope(models.Model):
    offer = models.ForeignKey(
        Offer, on_delete=models.CASCADE, related_name="envelopes", verbose_name=_("offerta")
    )
    type = models.CharField(_("busta"), max_length=1, choices=EnvelopeType.choices)
    state = models.CharField(
        _("stato"), max_length=10, choices=EnvelopeState.choices, default=EnvelopeState.EDITABLE
    )
    #: Structured content (All. 2 tabular answers in B, All. 4 figures in C), encrypted.
    sealed_data = models.BinaryField(_("dati cifrati"), null=True, blank=True, editable=False)
    sha256 = models.CharField(_("impronta"), max_length=64, blank=True)
    sealed_at = models.DateTimeField(_("sigillata il"), null=True, blank=True)
    opened_at = models.DateTimeField(_("aperta il"), null=True, blank=True)
    opened_in_session = models.ForeignKey(
        "Session",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("aperta nella seduta"),
    )

    class Meta:
        verbose_name = _("busta")
        verbose_name_plural = _("buste")
        ordering = ["offer", "type"]
        constraints = [
            models.UniqueConstraint(fields=["offer", "type"], name="gare_one_envelope_per_type")
        ]

    def __str__(self) -> str:
        return self.get_type_display()

    @property
    def size_bytes(self) -> int:
        return sum(f.size for f in self.files.all())


class EnvelopeFile(models.Model):
    """A file of an envelope, stored encrypted (AES-GCM, the tender's data key)."""

    envelope = models.ForeignKey(
        Envelope, on_delete=models.CASCADE, related_name="files", verbose_name=_("busta")
    )
    requirement_code = models.CharField(_("documento richiesto"), max_length=40)
    original_name = models.CharField(_("nome del file"), max_length=255)
    size = models.PositiveBigIntegerField(_("dimensione (byte)"))
    sha256 = models.CharField(_("impronta SHA-256"), max_length=64)
    content_type = models.CharField(_("tipo"), max_length=100)
    signature_ok = models.BooleanField(_("firma valida"), default=False)
    signature_report = models.JSONField(_("verifica della firma"), default=dict)
    storage_name = models.CharField(_("file cifrato"), max_length=255, editable=False)
    uploaded_at = models.DateTimeField(_("caricato il"))

    class Meta:
        verbose_name = _("file di busta")
        verbose_name_plural = _("file di busta")
        ordering = ["envelope", "uploaded_at"]

    def __str__(self) -> str:
        return self.original_name


class AttemptOutcome(models.TextChoices):
    ACCEPTED = "ACCEPTED", _("Accettata")
    REJECTED_LATE = "REJECTED_LATE", _("Rifiutata: fuori termine")
    REJECTED_VALIDATION = "REJECTED_VALIDATION", _("Rifiutata: controlli non superati")
    WITHDRAWN = "WITHDRAWN", _("Ritiro")


class SubmissionAttempt(models.Model):
    lot = models.ForeignKey(
        Lot, on_delete=models.CASCADE, related_name="+", verbose_name=_("lotto")
    )
    operator = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("operatore"),
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("ora del server"))
    outcome = models.CharField(_("esito"), max_length=20, choices=AttemptOutcome.choices)
    message = models.TextField(_("messaggio"), blank=True)

    class Meta:
        verbose_name = _("tentativo di invio")
        verbose_name_plural = _("tentativi di invio")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.operator} {self.at:%d/%m/%Y %H:%M:%S} {self.get_outcome_display()}"


# --- clarifications and communications -------------------------------------------------------


class ClarificationStatus(models.TextChoices):
    RECEIVED = "RECEIVED", _("Ricevuta")
    PUBLISHED = "PUBLISHED", _("Risposta pubblicata")


class Clarification(models.Model):
    tender = models.ForeignKey(
        Tender, on_delete=models.CASCADE, related_name="clarifications", verbose_name=_("gara")
    )
    operator = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("operatore"),
    )
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    asked_at = models.DateTimeField(_("ricevuta il"))
    question_text = models.TextField(_("quesito (originale, riservato)"))
    published_question_text = models.TextField(_("quesito pubblicato (anonimo)"), blank=True)
    answer_text = models.TextField(_("risposta"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(_("pubblicata il"), null=True, blank=True)
    late_override = models.BooleanField(_("pubblicata oltre il termine (deroga)"), default=False)
    status = models.CharField(
        _("stato"),
        max_length=10,
        choices=ClarificationStatus.choices,
        default=ClarificationStatus.RECEIVED,
    )

    class Meta:
        verbose_name = _("chiarimento")
        verbose_name_plural = _("chiarimenti")
        ordering = ["tender", "asked_at"]

    def __str__(self) -> str:
        return (self.published_question_text or self.question_text)[:80]


class Communication(models.Model):
    """An individual communication to one participant (or operator), with its receipt."""

    tender = models.ForeignKey(
        Tender, on_delete=models.CASCADE, related_name="communications", verbose_name=_("gara")
    )
    operator = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("destinatario"),
    )
    kind = models.CharField(_("tipo"), max_length=40)
    subject = models.CharField(_("oggetto"), max_length=255)
    body = models.TextField(_("testo"))
    sent_at = models.DateTimeField(_("inviata il"))
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    receipt_no = models.CharField(_("numero ricevuta"), max_length=40)
    read_at = models.DateTimeField(_("letta il"), null=True, blank=True)
    legal_deadline = models.DateTimeField(_("termine di legge per l'invio"), null=True, blank=True)

    class Meta:
        verbose_name = _("comunicazione")
        verbose_name_plural = _("comunicazioni")
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return self.subject

    @property
    def sent_within_deadline(self) -> bool:
        return self.legal_deadline is None or self.sent_at <= self.legal_deadline


# --- sessions, checks, exclusions ---------------------------------------------------------


class SessionKind(models.TextChoices):
    ADMIN_OPENING = "ADMIN_OPENING", _("Apertura della documentazione amministrativa")
    TECH_OPENING = "TECH_OPENING", _("Apertura delle offerte tecniche")
    ECON_OPENING = "ECON_OPENING", _("Apertura delle offerte economiche")
    IMPROVEMENT_OPENING = "IMPROVEMENT_OPENING", _("Apertura delle offerte migliorative")
    DRAW = "DRAW", _("Sorteggio pubblico")


class Session(models.Model):
    lot = models.ForeignKey(
        Lot, on_delete=models.CASCADE, related_name="sessions", verbose_name=_("lotto")
    )
    kind = models.CharField(_("tipo"), max_length=30, choices=SessionKind.choices)
    is_public = models.BooleanField(_("pubblica"), default=True)
    scheduled_at = models.DateTimeField(_("convocata per"), null=True, blank=True)
    notice_sent_at = models.DateTimeField(_("avviso inviato il"), null=True, blank=True)
    started_at = models.DateTimeField(_("iniziata il"), null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    events = models.JSONField(_("cronologia"), default=list, blank=True)

    class Meta:
        verbose_name = _("seduta")
        verbose_name_plural = _("sedute")
        ordering = ["lot", "started_at"]

    def __str__(self) -> str:
        return self.get_kind_display()


class CheckOutcome(models.TextChoices):
    TO_CHECK = "TO_CHECK", _("Da verificare")
    OK = "OK", _("Regolare")
    MISSING = "MISSING", _("Mancante")
    IRREGULAR = "IRREGULAR", _("Irregolare")
    NOT_APPLICABLE = "NOT_APPLICABLE", _("Non pertinente")


class AdminCheckItem(models.Model):
    """One line of a participant's administrative checklist (R-GARE-086, §3.3.9).

    `prefilled` is what the platform could verify by itself (presence, signatures); `outcome`
    is the board member's confirmed finding, with `remediable` proposed from Appendix B.
    """

    participant = models.ForeignKey(
        Participant,
        on_delete=models.CASCADE,
        related_name="check_items",
        verbose_name=_("concorrente"),
    )
    code = models.CharField(_("voce"), max_length=40)
    label = models.CharField(_("descrizione"), max_length=255)
    prefilled = models.CharField(
        _("esito proposto dalla piattaforma"), max_length=16, choices=CheckOutcome.choices
    )
    prefill_note = models.CharField(_("rilievo automatico"), max_length=500, blank=True)
    outcome = models.CharField(
        _("esito"), max_length=16, choices=CheckOutcome.choices, default=CheckOutcome.TO_CHECK
    )
    remediable = models.BooleanField(_("sanabile con soccorso istruttorio"), default=True)
    note = models.TextField(_("note"), blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    confirmed_at = models.DateTimeField(_("confermato il"), null=True, blank=True)

    class Meta:
        verbose_name = _("voce della verifica amministrativa")
        verbose_name_plural = _("voci della verifica amministrativa")
        ordering = ["participant", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "code"], name="gare_check_item_once")
        ]

    def __str__(self) -> str:
        return f"{self.label}: {self.get_outcome_display()}"


class RemedyKind(models.TextChoices):
    REMEDY = "REMEDY", _("Soccorso istruttorio")
    FURTHER_CLARIFICATION = "FURTHER_CLARIFICATION", _("Ulteriori chiarimenti sul soccorso")


class RemedyRequest(models.Model):
    participant = models.ForeignKey(
        Participant,
        on_delete=models.CASCADE,
        related_name="remedies",
        verbose_name=_("concorrente"),
    )
    kind = models.CharField(
        _("tipo"), max_length=24, choices=RemedyKind.choices, default=RemedyKind.REMEDY
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="clarifications",
        verbose_name=_("soccorso a cui si riferisce"),
    )
    check_codes = models.JSONField(_("voci della verifica"), default=list, blank=True)
    items = models.TextField(_("documenti e irregolarità da sanare"))
    sent_at = models.DateTimeField(_("inviata il"))
    deadline = models.DateTimeField(_("termine"))
    response_text = models.TextField(_("risposta"), blank=True)
    responded_at = models.DateTimeField(_("risposta il"), null=True, blank=True)
    outcome = models.CharField(_("esito"), max_length=20, blank=True)
    decided_at = models.DateTimeField(_("esito il"), null=True, blank=True)

    class Meta:
        verbose_name = _("soccorso istruttorio")
        verbose_name_plural = _("soccorsi istruttori")
        ordering = ["participant", "sent_at"]

    def __str__(self) -> str:
        return _("Soccorso istruttorio a %(p)s") % {"p": self.participant}


class Exclusion(models.Model):
    participant = models.ForeignKey(
        Participant,
        on_delete=models.CASCADE,
        related_name="exclusions",
        verbose_name=_("concorrente"),
    )
    phase = models.CharField(_("fase"), max_length=20)
    grounds = models.TextField(_("motivi"))
    # The ground's code of Appendix C (e.g. ANAC_FEE_INADMISSIBLE) when the platform knows it.
    code = models.CharField(_("codice del motivo"), max_length=40, blank=True)
    adopted_at = models.DateTimeField(_("adottata il"))
    adopted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    communication = models.ForeignKey(
        Communication, on_delete=models.PROTECT, null=True, related_name="+"
    )
    communication_deadline = models.DateTimeField(_("comunicazione entro il"))
    is_definitive = models.BooleanField(_("definitiva (non impugnata o confermata)"), default=False)

    class Meta:
        verbose_name = _("esclusione")
        verbose_name_plural = _("esclusioni")
        ordering = ["adopted_at"]

    def __str__(self) -> str:
        return _("Esclusione di %(p)s") % {"p": self.participant}


class SingleCentreCase(models.Model):
    """Same OE in several participants: 5 days to show the tender was not affected (R-GARE-034)."""

    lot = models.ForeignKey(
        Lot, on_delete=models.CASCADE, related_name="single_centre_cases", verbose_name=_("lotto")
    )
    participants = models.ManyToManyField(
        Participant, related_name="single_centre_cases", verbose_name=_("concorrenti")
    )
    shared = models.JSONField(_("codici fiscali in comune"), default=list)
    detected_at = models.DateTimeField(_("rilevato il"))
    notice_sent_at = models.DateTimeField(_("avviso inviato il"), null=True, blank=True)
    reply_deadline = models.DateTimeField(
        _("termine per le controdeduzioni"), null=True, blank=True
    )
    outcome = models.CharField(_("esito"), max_length=20, blank=True)
    reasons = models.TextField(_("motivazione"), blank=True)
    decided_at = models.DateTimeField(_("deciso il"), null=True, blank=True)

    class Meta:
        verbose_name = _("caso di unico centro decisionale")
        verbose_name_plural = _("casi di unico centro decisionale")
        ordering = ["lot", "detected_at"]

    def __str__(self) -> str:
        return _("Unico centro decisionale: %(ids)s") % {"ids": ", ".join(self.shared)}


class TenderSuspension(models.Model):
    """Suspension of the submission phase for a platform malfunction (§5.2, R-GARE-009, D-44)."""

    tender = models.ForeignKey(
        Tender, on_delete=models.CASCADE, related_name="suspensions", verbose_name=_("gara")
    )
    reason = models.TextField(_("cause del malfunzionamento"))
    malfunction_from = models.DateTimeField(_("malfunzionamento dal"))
    malfunction_to = models.DateTimeField(_("malfunzionamento fino al"), null=True, blank=True)
    suspended_at = models.DateTimeField(_("sospesa il"))
    suspended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    deadline_at_suspension = models.DateTimeField(_("termine delle offerte alla sospensione"))
    resumed_at = models.DateTimeField(_("ripresa il"), null=True, blank=True)
    new_deadline = models.DateTimeField(_("nuovo termine delle offerte"), null=True, blank=True)
    notice_amendment_ref = models.CharField(_("rettifica del bando"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("sospensione della procedura")
        verbose_name_plural = _("sospensioni della procedura")
        ordering = ["tender", "suspended_at"]

    def __str__(self) -> str:
        return _("Sospensione del %(d)s") % {"d": self.suspended_at}


# --- commission, coefficients, scoring -------------------------------------------------------


class CommissionMember(models.Model):
    lot = models.ForeignKey(
        Lot, on_delete=models.CASCADE, related_name="commission", verbose_name=_("lotto")
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    is_president = models.BooleanField(_("presidente"), default=False)
    appointed_at = models.DateTimeField(_("nominato il"))
    declaration_signed_at = models.DateTimeField(
        _("dichiarazione di assenza di incompatibilità resa il"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("componente della commissione")
        verbose_name_plural = _("commissione giudicatrice")
        ordering = ["lot", "-is_president", "appointed_at"]
        constraints = [
            models.UniqueConstraint(fields=["lot", "user"], name="gare_commissioner_once")
        ]

    def __str__(self) -> str:
        return str(self.user)


class Coefficient(models.Model):
    member = models.ForeignKey(
        CommissionMember,
        on_delete=models.CASCADE,
        related_name="coefficients",
        verbose_name=_("commissario"),
    )
    participant = models.ForeignKey(
        Participant,
        on_delete=models.CASCADE,
        related_name="coefficients",
        verbose_name=_("concorrente"),
    )
    criterion = models.CharField(_("criterio"), max_length=20)
    value = models.DecimalField(_("coefficiente"), max_digits=3, decimal_places=2)
    entered_at = models.DateTimeField(_("inserito il"))

    class Meta:
        verbose_name = _("coefficiente")
        verbose_name_plural = _("coefficienti")
        constraints = [
            models.UniqueConstraint(
                fields=["member", "participant", "criterion"], name="gare_one_coefficient"
            )
        ]

    def __str__(self) -> str:
        return f"{self.criterion} {self.value}"


class CriterionReopening(models.Model):
    """A criterion reopened by the president after the technical scores (AS-13 (4), D-33).

    The corrected coefficients produce a new versioned ScoreRun with reason CORRECTION; the runs
    before it stay stored and visible.
    """

    lot = models.ForeignKey(
        Lot, on_delete=models.CASCADE, related_name="reopenings", verbose_name=_("lotto")
    )
    criterion = models.CharField(_("criterio"), max_length=20)
    reason = models.TextField(_("motivo"))
    opened_at = models.DateTimeField(_("riaperto il"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(_("richiuso il"), null=True, blank=True)
    run = models.ForeignKey(
        "ScoreRun", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("riapertura di un criterio")
        verbose_name_plural = _("riaperture di criteri")
        ordering = ["lot", "opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["lot", "criterion"],
                condition=models.Q(closed_at__isnull=True),
                name="gare_one_open_reopening_per_criterion",
            )
        ]

    def __str__(self) -> str:
        return _("Riapertura del criterio %(c)s") % {"c": self.criterion}


class ScoreRun(models.Model):
    lot = models.ForeignKey(
        Lot, on_delete=models.CASCADE, related_name="runs", verbose_name=_("lotto")
    )
    version = models.PositiveIntegerField(_("versione"))
    reason = models.CharField(_("motivo"), max_length=40)
    stage = models.CharField(_("fase"), max_length=12, default="FULL")
    created_at = models.DateTimeField(_("calcolata il"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    admitted = models.JSONField(_("concorrenti ammessi"), default=list)
    result = models.JSONField(_("risultato"), default=dict)
    supersedes = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sostituisce il calcolo"),
    )
    note = models.TextField(_("motivazione"), blank=True)

    class Meta:
        verbose_name = _("calcolo dei punteggi")
        verbose_name_plural = _("calcoli dei punteggi")
        ordering = ["lot", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["lot", "version"], name="gare_run_version_unique")
        ]

    def __str__(self) -> str:
        return _("Calcolo v%(v)s") % {"v": self.version}


class ImprovementOffer(models.Model):
    participant = models.ForeignKey(
        Participant,
        on_delete=models.CASCADE,
        related_name="improvements",
        verbose_name=_("concorrente"),
    )
    requested_at = models.DateTimeField(_("richiesta il"))
    deadline = models.DateTimeField(_("termine"))
    # Sealed like the envelopes until the opening session (R-GARE-117): `discount` stays empty
    # until `improvements_open` decrypts `sealed_discount`.
    sealed_discount = models.BinaryField(
        _("ribasso migliorativo cifrato"), null=True, blank=True, editable=False
    )
    discount = models.DecimalField(_("ribasso migliorativo"), null=True, blank=True, **PCT)
    submitted_at = models.DateTimeField(_("presentata il"), null=True, blank=True)
    opened_at = models.DateTimeField(_("aperta il"), null=True, blank=True)

    class Meta:
        verbose_name = _("offerta migliorativa")
        verbose_name_plural = _("offerte migliorative")

    def __str__(self) -> str:
        return _("Offerta migliorativa di %(p)s") % {"p": self.participant}


class AnomalyReview(models.Model):
    lot = models.ForeignKey(Lot, on_delete=models.CASCADE, related_name="anomaly_reviews")
    participant = models.ForeignKey(
        Participant,
        on_delete=models.CASCADE,
        related_name="anomaly_reviews",
        verbose_name=_("concorrente"),
    )
    opened_at = models.DateTimeField(_("aperta il"))
    components = models.TextField(_("componenti ritenute anomale"))
    request_received_at = models.DateTimeField(_("richiesta ricevuta il"))
    deadline = models.DateTimeField(_("termine per le spiegazioni"))
    explanations = models.TextField(_("spiegazioni"), blank=True)
    answered_at = models.DateTimeField(_("spiegazioni presentate il"), null=True, blank=True)
    outcome = models.CharField(_("esito"), max_length=20, blank=True)
    decided_at = models.DateTimeField(_("conclusa il"), null=True, blank=True)

    class Meta:
        verbose_name = _("verifica di anomalia")
        verbose_name_plural = _("verifiche di anomalia")

    def __str__(self) -> str:
        return _("Verifica di anomalia di %(p)s") % {"p": self.participant}


class Award(models.Model):
    """Award proposal, requirement verification and award of one lot (§5.3 L19–L24)."""

    lot = models.ForeignKey(Lot, on_delete=models.CASCADE, related_name="awards")
    participant = models.ForeignKey(
        Participant,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("aggiudicatario proposto"),
    )
    run = models.ForeignKey(ScoreRun, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(_("proposta il"))
    verification_started_at = models.DateTimeField(_("verifica avviata il"), null=True, blank=True)
    verification_outcome = models.CharField(_("esito della verifica"), max_length=20, blank=True)
    verification_note = models.TextField(_("note sulla verifica"), blank=True)
    adopted_at = models.DateTimeField(_("aggiudicata il"), null=True, blank=True)
    last_communication_sent_at = models.DateTimeField(
        _("ultima comunicazione inviata il"), null=True, blank=True
    )
    signed_on = models.DateField(_("contratto stipulato il"), null=True, blank=True)
    superseded_at = models.DateTimeField(_("superata il"), null=True, blank=True)

    class Meta:
        verbose_name = _("aggiudicazione")
        verbose_name_plural = _("aggiudicazioni")

    def __str__(self) -> str:
        return _("Aggiudicazione a %(p)s") % {"p": self.participant}


class RectificationRequest(models.Model):
    """Request to rectify a clerical error in envelope B or C after the deadline (S-30, D-35)."""

    participant = models.ForeignKey(
        Participant,
        on_delete=models.CASCADE,
        related_name="rectifications",
        verbose_name=_("concorrente"),
    )
    envelope_type = models.CharField(_("busta"), max_length=1)
    requested_at = models.DateTimeField(_("richiesta il"))
    instructions = models.TextField(_("istruzioni della stazione appaltante"), blank=True)
    deadline = models.DateTimeField(_("termine per la nota"), null=True, blank=True)
    sealed_note = models.BinaryField(_("nota cifrata"), null=True, blank=True, editable=False)
    note_filed_at = models.DateTimeField(_("nota depositata il"), null=True, blank=True)
    outcome = models.CharField(_("esito"), max_length=24, blank=True)
    decided_at = models.DateTimeField(_("valutata il"), null=True, blank=True)

    class Meta:
        verbose_name = _("rettifica di errore materiale")
        verbose_name_plural = _("rettifiche di errori materiali")

    def __str__(self) -> str:
        return _("Rettifica busta %(t)s di %(p)s") % {
            "t": self.envelope_type,
            "p": self.participant,
        }


# --- documents produced by the procedure (R-GARE-084) ------------------------------------------


class GareDocumentKind(models.TextChoices):
    MINUTES = "MINUTES", _("Verbale di seduta")
    AWARD_PROPOSAL = "AWARD_PROPOSAL", _("Proposta di aggiudicazione")
    AWARD_DECISION = "AWARD_DECISION", _("Provvedimento di aggiudicazione")


class GareDocumentStatus(models.TextChoices):
    PENDING = "PENDING", _("In preparazione")
    DRAFT = "DRAFT", _("Bozza da firmare")
    SIGNED = "SIGNED", _("Firmato")


class GareDocument(models.Model):
    """A minutes or award PDF of the procedure file: rendered after commit by a task, stored in
    the kernel's documents with its SHA-256, then signed by the president (uploaded back).

    ``key`` names the document across its versions (``minutes:<session>``,
    ``award_proposal:<award>``, ``award_decision:<award>``); a new render after a later step
    (e.g. the ranking after the economic opening) is a new version, earlier ones stay as they are.
    """

    lot = models.ForeignKey(
        Lot, on_delete=models.CASCADE, related_name="documents", verbose_name=_("lotto")
    )
    kind = models.CharField(_("tipo"), max_length=20, choices=GareDocumentKind.choices)
    key = models.CharField(_("chiave"), max_length=60, editable=False)
    version = models.PositiveIntegerField(_("versione"), default=1)
    session = models.ForeignKey(
        Session, on_delete=models.PROTECT, null=True, blank=True, related_name="documents"
    )
    award = models.ForeignKey(
        Award, on_delete=models.PROTECT, null=True, blank=True, related_name="documents"
    )
    run = models.ForeignKey(
        ScoreRun, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        _("stato"),
        max_length=10,
        choices=GareDocumentStatus.choices,
        default=GareDocumentStatus.PENDING,
    )
    generated = models.ForeignKey(
        "documents.DocumentVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("PDF generato"),
    )
    sha256 = models.CharField(_("impronta SHA-256 del PDF generato"), max_length=64, blank=True)
    signed = models.ForeignKey(
        "documents.DocumentVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("PDF firmato"),
    )
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("firmato da"),
    )
    signed_at = models.DateTimeField(_("firma caricata il"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("richiesto da"),
    )
    created_at = models.DateTimeField(_("richiesto il"))
    rendered_at = models.DateTimeField(_("generato il"), null=True, blank=True)
    render_error = models.TextField(_("errore di generazione"), blank=True)
    # Minutes only: the free-text parts written by the board (premessa, dichiarazioni,
    # osservazioni), keyed as in services/documents.MINUTES_TEXTS. Each edit is a new version;
    # a regeneration after a later step carries them over.
    texts = models.JSONField(_("parti di testo libero"), default=dict, blank=True)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("testo modificato da"),
    )
    edited_at = models.DateTimeField(_("testo modificato il"), null=True, blank=True)

    class Meta:
        verbose_name = _("documento della procedura")
        verbose_name_plural = _("documenti della procedura")
        ordering = ["lot", "created_at", "version"]
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="gare_document_key_version")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version}"


# --- offer validity (R-GARE-074, D-50, AS-15) ----------------------------------------------------


class ValidityReminder(models.Model):
    """One reminder to the RPA/RUP per lot and threshold (30 or 10 days before the expiry)."""

    lot = models.ForeignKey(Lot, on_delete=models.CASCADE, related_name="validity_reminders")
    days_before = models.PositiveSmallIntegerField(_("giorni prima della scadenza"))
    validity_until = models.DateField(_("validità delle offerte fino al"))
    sent_at = models.DateTimeField(_("inviato il"))

    class Meta:
        verbose_name = _("promemoria di scadenza della validità")
        verbose_name_plural = _("promemoria di scadenza della validità")
        constraints = [
            models.UniqueConstraint(
                fields=["lot", "days_before", "validity_until"], name="gare_validity_reminder_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.lot} – {self.days_before}"


class ValidityExtensionRequest(models.Model):
    """Request to all remaining participants to extend the offer (and guarantee) validity."""

    lot = models.ForeignKey(
        Lot, on_delete=models.CASCADE, related_name="validity_requests", verbose_name=_("lotto")
    )
    new_validity_date = models.DateField(_("nuova scadenza della validità"))
    reply_deadline = models.DateTimeField(_("termine per la conferma"))
    sent_at = models.DateTimeField(_("inviata il"))
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(_("chiusa il"), null=True, blank=True)

    class Meta:
        verbose_name = _("richiesta di proroga della validità")
        verbose_name_plural = _("richieste di proroga della validità")
        ordering = ["lot", "-sent_at"]

    def __str__(self) -> str:
        return _("Proroga della validità al %(d)s") % {
            "d": self.new_validity_date.strftime("%d/%m/%Y")
        }


class ValidityReply(models.Model):
    request = models.ForeignKey(
        ValidityExtensionRequest, on_delete=models.CASCADE, related_name="replies"
    )
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="validity_replies"
    )
    confirmed_at = models.DateTimeField(_("confermata il"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    renounced_at = models.DateTimeField(_("rinuncia registrata il"), null=True, blank=True)
    #: D-24, §7.5: the guarantee extended (or a new one, running from the offer submission date)
    #: to the new validity date, uploaded with the confirmation; its SHA-256 is kept on the row.
    guarantee = models.ForeignKey(
        "documents.DocumentVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("garanzia provvisoria prorogata"),
    )
    guarantee_sha256 = models.CharField(
        _("impronta SHA-256 della garanzia"), max_length=64, blank=True
    )

    class Meta:
        verbose_name = _("risposta alla proroga della validità")
        verbose_name_plural = _("risposte alla proroga della validità")
        constraints = [
            models.UniqueConstraint(
                fields=["request", "participant"], name="gare_validity_reply_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.request} – {self.participant}"


# --- FVOE checks through the kernel client (R-GARE-146, D-57) -----------------------------------


class FvoeCheckStatus(models.TextChoices):
    """One FVOE access request of the platform: the row is also the outbox of the ANAC call."""

    QUEUED = "QUEUED", _("In coda di invio")
    SENDING = "SENDING", _("In invio ad ANAC")
    UNKNOWN = "UNKNOWN", _("Esito dell'invio incerto")
    REQUESTED = "REQUESTED", _("In attesa dell'autorizzazione dell'operatore")
    AUTHORISED = "AUTHORISED", _("Autorizzata: fascicolo accessibile")
    REFUSED = "REFUSED", _("Accesso negato, revocato o scaduto")
    REJECTED = "REJECTED", _("Richiesta respinta da ANAC")


class VerificationOutcome(models.TextChoices):
    PENDING = "PENDING", _("In corso")
    POSITIVE = "POSITIVE", _("Positivo")
    NEGATIVE = "NEGATIVE", _("Negativo")


class RequirementVerification(models.Model):
    """The requirement verification of the proposed awardee through FVOE (§24, R-GARE-132/146).

    One row per access request to the awardee's file (members of a grouping, executors and
    auxiliaries included): ANAC's idRichiesta, the state of each subject's authorisation
    (``subjects``), the documents received (``documents``, stored in the kernel with their
    SHA-256) and the outcome recorded by the RUP/RPA. The identity sent to ANAC is the RUP's,
    taken from his strong session when he starts the check and reused by the background polls.
    """

    lot = models.ForeignKey(
        Lot, on_delete=models.CASCADE, related_name="fvoe_verifications", verbose_name=_("lotto")
    )
    award = models.ForeignKey(
        Award,
        on_delete=models.PROTECT,
        related_name="fvoe_verifications",
        verbose_name=_("proposta di aggiudicazione"),
    )
    participant = models.ForeignKey(
        Participant,
        on_delete=models.PROTECT,
        related_name="fvoe_verifications",
        verbose_name=_("aggiudicatario proposto"),
    )
    cig = models.CharField(_("CIG"), max_length=10, blank=True)
    id_appalto = models.CharField(_("idAppalto ANAC"), max_length=64)
    status = models.CharField(
        _("stato"), max_length=12, choices=FvoeCheckStatus.choices, default=FvoeCheckStatus.QUEUED
    )
    id_richiesta = models.CharField(_("idRichiesta ANAC"), max_length=64, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("avviata da"),
    )
    # The identity of the tracking JWS (the RUP's), stored as AnacOperation does.
    actor_tax_code = models.CharField(_("codice fiscale del RUP"), max_length=16)
    actor_role = models.CharField(_("ruolo"), max_length=4, default="RP")
    actor_loa = models.CharField(_("LoA"), max_length=1)
    actor_idp = models.CharField(_("IdP"), max_length=8)
    sa_ausa_code = models.CharField(_("codice AUSA"), max_length=10, blank=True)
    sa_tax_code = models.CharField(_("codice fiscale della SA"), max_length=16, blank=True)
    access_start_at = models.DateTimeField(_("autorizzazione richiesta dal"))
    created_at = models.DateTimeField(_("creata il"))
    sent_at = models.DateTimeField(_("inviata il"), null=True, blank=True)
    acked_at = models.DateTimeField(_("acquisita da ANAC il"), null=True, blank=True)
    authorised_at = models.DateTimeField(_("autorizzata il"), null=True, blank=True)
    documents_retrieved_at = models.DateTimeField(
        _("documenti acquisiti il"), null=True, blank=True
    )
    last_polled_at = models.DateTimeField(_("ultima verifica il"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("prossimo tentativo il"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("tentativi"), default=0)
    #: First failed call because FVOE (or one of ANAC's back ends) was not available: the
    #: malfunction of §24 that opens the self-declaration fallback 30 days after the proposal.
    unavailable_since = models.DateTimeField(_("FVOE non disponibile dal"), null=True, blank=True)
    last_error = models.TextField(_("ultimo errore"), blank=True)
    outcome = models.CharField(
        _("esito"),
        max_length=10,
        choices=VerificationOutcome.choices,
        default=VerificationOutcome.PENDING,
    )
    outcome_note = models.TextField(_("motivazione dell'esito"), blank=True)
    outcome_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("esito registrato da"),
    )
    outcome_at = models.DateTimeField(_("esito registrato il"), null=True, blank=True)

    class Meta:
        verbose_name = _("verifica dei requisiti (FVOE)")
        verbose_name_plural = _("verifiche dei requisiti (FVOE)")
        ordering = ["lot", "-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return _("Verifica FVOE di %(p)s") % {"p": self.participant}

    @property
    def actor(self):
        from procurement.anac.identity import Actor

        return Actor(
            tax_code=self.actor_tax_code,
            role=self.actor_role,
            loa=self.actor_loa,
            idp_type=self.actor_idp,
            sa_ausa=self.sa_ausa_code,
            sa_tax_code=self.sa_tax_code,
        )


class VerificationSubjectRole(models.TextChoices):
    BIDDER = "BIDDER", _("Concorrente")
    LEAD = "LEAD", _("Mandataria / capofila")
    MEMBER = "MEMBER", _("Mandante / componente")
    COMMON_BODY = "COMMON_BODY", _("Organo comune")
    EXECUTOR = "EXECUTOR", _("Consorziata esecutrice")
    AUXILIARY = "AUXILIARY", _("Ausiliaria")


class RequirementVerificationSubject(models.Model):
    """One economic operator whose file is requested, with its authorisation at ANAC."""

    verification = models.ForeignKey(
        RequirementVerification, on_delete=models.CASCADE, related_name="subjects"
    )
    tax_code = models.CharField(_("codice fiscale"), max_length=16)
    name = models.CharField(_("denominazione"), max_length=255)
    role = models.CharField(
        _("ruolo"), max_length=12, choices=VerificationSubjectRole.choices, default="BIDDER"
    )
    # statoAutorizzazione as received (01–06), with its Italian label; "" before the first check.
    auth_state = models.CharField(_("stato dell'autorizzazione"), max_length=2, blank=True)
    auth_state_label = models.CharField(_("descrizione dello stato"), max_length=100, blank=True)
    auth_reason = models.CharField(_("motivo"), max_length=500, blank=True)
    authorised_at = models.DateTimeField(_("autorizzato il"), null=True, blank=True)
    checked_at = models.DateTimeField(_("verificato il"), null=True, blank=True)

    class Meta:
        verbose_name = _("soggetto della verifica FVOE")
        verbose_name_plural = _("soggetti della verifica FVOE")
        ordering = ["verification", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["verification", "tax_code"], name="gare_fvoe_subject_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.tax_code})"


class RequirementVerificationDocument(models.Model):
    """A document of a subject's FVOE file, stored in the kernel's documents with its SHA-256."""

    verification = models.ForeignKey(
        RequirementVerification, on_delete=models.CASCADE, related_name="documents"
    )
    subject = models.ForeignKey(
        RequirementVerificationSubject, on_delete=models.CASCADE, related_name="documents"
    )
    id_documento = models.CharField(_("idDocumento ANAC"), max_length=64)
    type_code = models.CharField(_("tipo di documento"), max_length=10, blank=True)
    type_label = models.CharField(_("descrizione del tipo"), max_length=255, blank=True)
    title = models.CharField(_("oggetto"), max_length=500, blank=True)
    issued_at = models.DateTimeField(_("emesso il"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valido fino al"), null=True, blank=True)
    file = models.ForeignKey(
        "documents.DocumentVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("file acquisito"),
    )
    sha256 = models.CharField(_("impronta SHA-256"), max_length=64, blank=True)
    size = models.PositiveBigIntegerField(_("dimensione (byte)"), null=True, blank=True)
    retrieved_at = models.DateTimeField(_("acquisito il"), null=True, blank=True)
    error = models.CharField(_("errore di acquisizione"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("documento FVOE della verifica")
        verbose_name_plural = _("documenti FVOE della verifica")
        ordering = ["verification", "subject", "type_code", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["verification", "id_documento"], name="gare_fvoe_document_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type_label or self.type_code} – {self.subject}"


class AnacContributionOutcome(models.TextChoices):
    PENDING = "PENDING", _("Da verificare")
    PAID = "PAID", _("Pagato")
    NOT_FOUND = "NOT_FOUND", _("Pagamento non trovato")
    UNAVAILABLE = "UNAVAILABLE", _("FVOE non disponibile")


class AnacContribution(models.Model):
    """The check of the ANAC fee of one participant at the administrative check (R-GARE-054)."""

    participant = models.ForeignKey(
        Participant,
        on_delete=models.CASCADE,
        related_name="anac_contributions",
        verbose_name=_("concorrente"),
    )
    cig = models.CharField(_("CIG"), max_length=10)
    amount_due = models.DecimalField(_("contributo dovuto"), **MONEY)
    outcome = models.CharField(
        _("esito"),
        max_length=12,
        choices=AnacContributionOutcome.choices,
        default=AnacContributionOutcome.PENDING,
    )
    verification = models.ForeignKey(
        RequirementVerification,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("richiesta FVOE"),
    )
    evidence = models.ForeignKey(
        RequirementVerificationDocument,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("documento FVOE"),
    )
    note = models.TextField(_("note"), blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("verificato da"),
    )
    checked_at = models.DateTimeField(_("verificato il"), null=True, blank=True)

    class Meta:
        verbose_name = _("verifica del contributo ANAC")
        verbose_name_plural = _("verifiche del contributo ANAC")
        ordering = ["participant", "-pk"]

    def __str__(self) -> str:
        return f"{self.participant} – {self.get_outcome_display()}"
