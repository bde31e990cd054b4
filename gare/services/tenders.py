"""Configuration and publication of a tender; the reference tender as a template."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from procurement.documents.services import DocumentError, document_upload

from .. import deadlines, sealing
from ..models import (
    REQUIRED_DOCUMENT_KINDS,
    DocumentKind,
    Lot,
    LotWorkCategory,
    Tender,
    TenderDocument,
    TenderStatus,
    WorkCategoryRole,
)
from ..ocds import publish_tender
from . import transmissions
from .common import GareError, audit, lock_tender, require_staff

#: The reference tender (spec §1.2, Appendix A): ID 20/2026, Bellinzago Novarese.
REFERENCE = {
    "code": "20/2026",
    "title": (
        "Stazione Unica Appaltante per il Comune di Bellinzago Novarese. Procedura aperta per "
        "l'affidamento dei lavori di realizzazione della nuova sede municipale e della piazza "
        "tra le vie G. Matteotti e Don Minzoni"
    ),
    "decision_to_contract_ref": "Determina del Comune di Bellinzago Novarese n. 302 del 22/06/2026",
    "cup": "J15B24001430005",
    "competent_court": "TAR Piemonte",
}
REFERENCE_LOT = {
    "number": 1,
    "title": "Nuova sede municipale e piazza tra le vie G. Matteotti e Don Minzoni",
    "cig": "BC276A8439",
    "cpv_main": "45210000-2",
    "nuts_code": "ITC15",
    "works_amount": Decimal("1619952.10"),
    "safety_costs": Decimal("38293.04"),
    "labour_cost_estimate": Decimal("598695.55"),
    "ccnl_code": "F015",
    "duration_days": 458,
    "guarantee_rate": Decimal("2.00"),
    "anac_contribution_amount": Decimal("165.00"),
    "stamp_duty_amount": Decimal("16.00"),
}
REFERENCE_CATEGORIES = [
    (
        "OG1",
        "Edifici civili e industriali",
        WorkCategoryRole.PREVALENT,
        "III_BIS",
        "1240794.50",
        "49.99",
    ),
    (
        "OS28",
        "Impianti termici e di condizionamento",
        WorkCategoryRole.SEPARABLE,
        "I",
        "158578.80",
        "100.00",
    ),
    (
        "OS30",
        "Impianti interni elettrici, telefonici, radiotelefonici e televisivi",
        WorkCategoryRole.SEPARABLE,
        "I",
        "220578.80",
        "100.00",
    ),
]


def reference_deadlines() -> dict:
    aware = timezone.make_aware
    return {
        "questions_deadline": aware(datetime.datetime(2026, 7, 20, 12, 0)),
        "site_visit_request_deadline": datetime.date(2026, 7, 20),
        "offer_deadline": aware(datetime.datetime(2026, 7, 27, 12, 0)),
        "first_session_at": aware(datetime.datetime(2026, 7, 27, 15, 0)),
    }


def reference_scheme_dict() -> dict:
    from ..evaluation import reference_scheme

    return reference_scheme().to_dict()


def tender_create_from_reference(
    *, user, organisation, delegating_entity=None, now, deadlines_override=None, is_template=False
) -> Tender:
    """A new DRAFT tender filled with the reference configuration (the «modello»)."""
    if user is not None:
        require_staff(user, Tender(organisation=organisation))
    with transaction.atomic():
        tender = Tender(
            organisation=organisation,
            delegating_entity=delegating_entity,
            created_by=user,
            is_template=is_template,
            scheme=reference_scheme_dict(),
            **REFERENCE,
            **(deadlines_override or reference_deadlines()),
        )
        tender.wrapped_key = sealing.new_wrapped_key(tender.pk)
        tender.save()
        lot = Lot.objects.create(tender=tender, **REFERENCE_LOT)
        for code, desc, role, soa, amount, sub in REFERENCE_CATEGORIES:
            LotWorkCategory.objects.create(
                lot=lot,
                category=code,
                description=desc,
                role=role,
                soa_class=soa,
                amount=Decimal(amount),
                subcontract_max_pct=Decimal(sub),
            )
        audit(
            action="gara creata dal modello",
            actor=user,
            obj=tender,
            tender=tender,
            now=now,
            to_state=tender.status,
            payload={"code": tender.code},
        )
    return tender


def tender_update(*, user, tender: Tender, data: dict, now) -> Tender:
    """Change the configuration of a DRAFT tender (deadlines, texts, lot amounts)."""
    require_staff(user, tender)
    with transaction.atomic():
        tender = lock_tender(tender)
        if tender.status != TenderStatus.DRAFT:
            raise GareError(_("La gara è pubblicata: la configurazione non si può più modificare."))
        lot_fields = {k: v for k, v in data.items() if k.startswith("lot_")}
        if "lot_cig" in lot_fields:
            current = tender.lots.get(number=1)
            if lot_fields["lot_cig"] != current.cig and (
                current.cig_from_pcp or not transmissions.manual_cig_allowed()
            ):
                raise GareError(
                    _(
                        "Il CIG è assegnato da ANAC (PCP) con la pubblicazione e non si può "
                        "digitare."
                    )
                )
        for key, value in data.items():
            if not key.startswith("lot_"):
                setattr(tender, key, value)
        tender.save()
        if lot_fields:
            lot = tender.lots.get(number=1)
            for key, value in lot_fields.items():
                setattr(lot, key[4:], value)
            lot.save()
        audit(
            action="configurazione modificata",
            actor=user,
            obj=tender,
            tender=tender,
            now=now,
            payload={"fields": sorted(data)},
        )
    return tender


def tender_document_add(*, user, tender: Tender, kind: str, title: str, uploaded_file, now):
    require_staff(user, tender)
    if tender.status != TenderStatus.DRAFT:
        raise GareError(
            _("La gara è pubblicata: i documenti si modificano solo con una rettifica del bando.")
        )
    try:
        version = document_upload(
            user=user,
            organisation=tender.organisation,
            use="gare_tender_document",
            title=title or dict(DocumentKind.choices)[kind],
            uploaded_file=uploaded_file,
            now=now,
        )
    except DocumentError as exc:
        raise GareError(exc.message) from exc
    with transaction.atomic():
        doc = TenderDocument.objects.create(
            tender=tender,
            kind=kind,
            title=version.document.title,
            document=version.document,
            created_at=now,
        )
        audit(
            action="documento di gara caricato",
            actor=user,
            obj=tender,
            tender=tender,
            now=now,
            payload={"kind": kind, "sha256": version.sha256},
        )
    return doc


def publication_problems(tender: Tender) -> list[str]:
    """Every reason why `tender` cannot be published (spec §5.2 guard, §3.4 invariants)."""
    from ..evaluation import EvaluationScheme, SchemeError

    problems: list[str] = []
    if not tender.title.strip() or not tender.code.strip():
        problems.append(_("Indica numero e oggetto della procedura."))
    if not tender.decision_to_contract_ref.strip():
        problems.append(_("Indica gli estremi della determina a contrarre."))
    if not (tender.questions_deadline and tender.offer_deadline and tender.first_session_at):
        problems.append(
            _("Indica il termine per i chiarimenti, il termine delle offerte e la prima seduta.")
        )
    else:
        answers = deadlines.answers_deadline(tender)
        if not (
            tender.questions_deadline < answers < tender.offer_deadline <= tender.first_session_at
        ):
            problems.append(
                _(
                    "I termini non sono in ordine: termine per i chiarimenti, poi pubblicazione "
                    "delle risposte (%(days)s giorni prima del termine delle offerte), poi termine "
                    "delle offerte, poi prima seduta."
                )
                % {"days": tender.answers_min_days_before}
            )
    lots = list(tender.lots.prefetch_related("categories"))
    if not lots:
        problems.append(_("La gara non ha lotti."))
    for lot in lots:
        label = str(lot)
        if lot.cig and (len(lot.cig) != 10 or not lot.cig.isalnum()):
            problems.append(
                _("%(lot)s: il CIG deve avere 10 caratteri alfanumerici.") % {"lot": label}
            )
        if lot.works_amount <= 0:
            problems.append(
                _("%(lot)s: l'importo dei lavori deve essere positivo.") % {"lot": label}
            )
        if not (0 < lot.labour_cost_estimate <= lot.works_amount):
            problems.append(
                _(
                    "%(lot)s: il costo della manodopera deve essere compreso nell'importo dei "
                    "lavori."
                )
                % {"lot": label}
            )
        categories = list(lot.categories.all())
        if categories:
            total = sum((c.amount for c in categories), Decimal("0"))
            if total != lot.works_amount:
                problems.append(
                    _(
                        "%(lot)s: la somma delle categorie (€ %(sum)s) differisce dall'importo "
                        "dei lavori (€ %(works)s)."
                    )
                    % {"lot": label, "sum": total, "works": lot.works_amount}
                )
            if sum(1 for c in categories if c.role == WorkCategoryRole.PREVALENT) != 1:
                problems.append(
                    _("%(lot)s: serve esattamente una categoria prevalente.") % {"lot": label}
                )
    present = set(tender.documents.values_list("kind", flat=True))
    for kind in REQUIRED_DOCUMENT_KINDS:
        if kind not in present:
            problems.append(
                _("Manca il documento «%(kind)s».") % {"kind": DocumentKind(kind).label}
            )
    if not tender.scheme:
        problems.append(_("Manca lo schema di valutazione delle offerte."))
    else:
        try:
            EvaluationScheme.from_dict(tender.scheme).validate()
        except SchemeError as exc:
            problems.append(
                _("Lo schema di valutazione non consente un calcolo deterministico: %(err)s")
                % {"err": str(exc)}
            )
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(
                _("Lo schema di valutazione non è leggibile: %(err)s") % {"err": str(exc)}
            )
    return problems


def tender_publish(*, user, tender: Tender, now) -> Tender:
    require_staff(user, tender)
    with transaction.atomic():
        tender = lock_tender(tender)
        if tender.status != TenderStatus.DRAFT:
            raise GareError(_("La gara è già stata pubblicata."))
        if tender.is_template:
            raise GareError(_("Un modello non si pubblica: crea una nuova gara dal modello."))
        problems = publication_problems(tender)
        if tender.offer_deadline and tender.offer_deadline <= now:
            problems.append(_("Il termine di presentazione delle offerte è già passato."))
        if problems:
            raise GareError(
                _("La gara non può essere pubblicata: %(list)s") % {"list": " ".join(problems)}
            )
        if transmissions.uses_pcp(tender) and not transmissions.notice_accepted(tender):
            # R-GARE-145: no publication before ANAC has accepted the notice (and given the CIGs).
            raise GareError(
                _(
                    "La gara si pubblica dopo che ANAC ha accettato il bando e assegnato i CIG: "
                    "usa «Pubblica e invia ad ANAC» (accesso con SPID, CIE o CNS)."
                )
            )
        before = tender.status
        tender.publish()
        tender.published_at = now
        tender.save()
        publish_tender(tender, now=now)  # open data: OCDS tender release per lot
        audit(
            action="gara pubblicata",
            actor=user,
            obj=tender,
            tender=tender,
            now=now,
            from_state=before,
            to_state=tender.status,
        )
    return tender


def deadline_extend(
    *, user, tender: Tender, new_deadline, reason: str, notice_amendment_ref: str = "", now
) -> Tender:
    """Extend or reopen the offer deadline after a malfunction (S-08, D-44).

    Up to 48 hours beyond the original deadline: a published notice is enough. Longer: the
    formal amendment of the notice must be referenced. The first session moves by as much (D-41).
    """
    require_staff(user, tender)
    if not reason.strip():
        raise GareError(_("Indica la durata e le cause del malfunzionamento."))
    with transaction.atomic():
        tender = lock_tender(tender)
        if tender.status not in (TenderStatus.PUBLISHED, TenderStatus.SUBMISSION_CLOSED):
            raise GareError(
                _("Il termine si può prorogare solo durante la presentazione delle offerte.")
            )
        old = tender.offer_deadline
        if new_deadline <= max(old, now):
            raise GareError(
                _("Il nuovo termine deve essere successivo a quello attuale e al momento presente.")
            )
        if new_deadline - old > datetime.timedelta(hours=48) and not notice_amendment_ref.strip():
            raise GareError(
                _(
                    "Una proroga di oltre 48 ore richiede la rettifica formale del bando: "
                    "indica gli estremi della rettifica pubblicata."
                )
            )
        shift = new_deadline - old
        before = tender.status
        if tender.status == TenderStatus.SUBMISSION_CLOSED:
            # Reopening: the lots go back to submission only if nobody has opened anything yet.
            if tender.lots.exclude(status__in=["AWAITING_FIRST_SESSION", "DESERTED"]).exists():
                raise GareError(
                    _("La prima seduta è già iniziata: il termine non si può riaprire.")
                )
            tender.reopen()
            for lot in tender.lots.select_for_update():
                lot.reopen()
                lot.save()
        tender.offer_deadline = new_deadline
        tender.first_session_at = tender.first_session_at + shift
        tender.save()
        audit(
            action="termine di presentazione prorogato",
            actor=user,
            obj=tender,
            tender=tender,
            now=now,
            from_state=before,
            to_state=tender.status,
            payload={
                "old": old.isoformat(),
                "new": new_deadline.isoformat(),
                "reason": reason,
                "amendment": notice_amendment_ref,
            },
        )
    return tender
