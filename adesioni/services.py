"""One service per workflow step (spec §4): guard, lock, transition, audit, side effects on commit.

Every function takes keyword-only arguments and `now`. Errors the user can fix raise
`AdesioniError` with an Italian message (the spec's catalogue, `messages.py`).
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Max, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django_fsm import TransitionNotAllowed

from procurement.accounts.models import Membership
from procurement.audit.services import audit_record
from procurement.documents.services import DocumentError, document_upload

from . import messages as M
from .access import ADHERENT_ROLES, acting_cost_centre, acts_for, is_adherent_operator, is_evaluator
from .models import (
    POST_CIG_STATES,
    Adhesion,
    AdhesionDocument,
    AdhesionStatus,
    AdhesionSubmission,
    CigRequest,
    ContractCounter,
    ContractMessage,
    CounterKind,
    DraftOrigin,
    FrameworkContract,
    MessageKind,
    OrderDocument,
    OrderLine,
    OrderRequirement,
    OrderStatus,
    OutcomeNotice,
    OutcomeStatus,
    Party,
    RoundOutcome,
    SupplyOrder,
    round_cents,
)
from .ocds import publish_outcome

USE_SIGNED = "adesioni_signed"
USE_DOCUMENT = "adesioni_document"
USE_SUMMARY_GENERATED = "adesioni_summary_generated"
USE_SUMMARY_SIGNED = "adesioni_summary_signed"

ANN_REASON_CODE = "1"


class AdesioniError(Exception):
    """An error the user can fix; the message is Italian."""


def euro(value: Decimal) -> str:
    return number_format(value, decimal_pos=2, use_l10n=True, force_grouping=True)


def local_date(value) -> str:
    return timezone.localtime(value).strftime("%d/%m/%Y") if value else ""


# --- helpers ---------------------------------------------------------------------------------


def _next_number(kind: str, now) -> tuple[int, int]:
    """(year, sequence) of the platform-wide yearly series, under a row lock (D-ADE-06)."""
    year = timezone.localtime(now).year
    ContractCounter.objects.get_or_create(kind=kind, year=year)
    counter = ContractCounter.objects.select_for_update().get(kind=kind, year=year)
    counter.last_value += 1
    counter.save(update_fields=["last_value"])
    return year, counter.last_value


def _fire(obj, transition_name: str, *args) -> None:
    try:
        getattr(obj, transition_name)(*args)
    except TransitionNotAllowed as exc:
        raise AdesioniError(str(M.MSG_D20)) from exc


def _require(condition: bool, message=M.MSG_D20) -> None:
    if not condition:
        raise AdesioniError(str(message))


def _upload(*, user, organisation, use: str, title: str, uploaded_file, now, signed: bool):
    try:
        return document_upload(
            user=user,
            organisation=organisation,
            use=use,
            title=title,
            uploaded_file=uploaded_file,
            now=now,
        )
    except DocumentError as exc:
        if signed and exc.code == "signature":
            raise AdesioniError(f"{M.MSG_D19} {exc}") from exc
        raise AdesioniError(str(exc)) from exc


def adherent_users(organisation):
    User = get_user_model()
    ids = Membership.objects.active().filter(organisation=organisation, role__in=ADHERENT_ROLES)
    return list(User.objects.filter(pk__in=ids.values("user_id")).distinct())


def evaluator_users(contract: FrameworkContract):
    User = get_user_model()
    from .access import enabled_rows

    ids = enabled_rows().filter(contract=contract, can_evaluate=True).values("user_id")
    return list(User.objects.filter(Q(pk__in=ids) | Q(pk=contract.issuer_rup_id)).distinct())


def supplier_users(contract: FrameworkContract):
    User = get_user_model()
    ids = Membership.objects.active().filter(organisation=contract.supplier).values("user_id")
    return list(User.objects.filter(pk__in=ids).distinct())


def _event(
    *,
    contract: FrameworkContract,
    code: str,
    subject: str,
    body: str,
    users,
    organisations,
    url: str,
    related_ref: str = "",
    email: bool = True,
    now,
) -> ContractMessage:
    """A system message in "Comunicazioni" plus the kernel notification (in-app, e-mail)."""
    from procurement.notifications.services import notify

    users = list({u.pk: u for u in users}.values())
    message = ContractMessage.objects.create(
        contract=contract,
        kind=MessageKind.SYSTEM,
        sender_party=Party.SYSTEM,
        subject=subject[:255],
        body=body,
        event_code=code,
        related_ref=related_ref,
        sent_at=now,
    )
    message.recipient_organisations.set({o.pk for o in organisations})
    message.recipient_users.set([u.pk for u in users])
    notify(
        recipients=users,
        template="adesioni_event",
        context={"subject": subject, "body": body},
        organisation=None,
        url=url,
        email=email,
        now=now,
    )
    return message


def contract_url(contract, tab="") -> str:
    url = reverse("adesioni:contract_detail", args=[contract.pk])
    return f"{url}?tab={tab}" if tab else url


# --- contracts -------------------------------------------------------------------------------


def contract_publish(*, user, contract_id, now) -> FrameworkContract:
    from .configuration import contract_publish as publish

    return publish(user=user, contract_id=contract_id, now=now)


def closed_message(contract: FrameworkContract, now) -> str:
    """Why new adhesions/orders are not possible (D-ADE-38), or "" when they are."""
    if contract.status == "CLOSED":
        return _("Il contratto è chiuso: non è più possibile inviare adesioni o ordinativi.")
    if contract.is_expired(now):
        return _(
            "Il contratto è scaduto il %(date)s: non è più possibile richiedere o inviare "
            "adesioni né emettere o inviare ordinativi. Restano disponibili la valutazione, la "
            "pubblicazione dell'esito e l'annullamento."
        ) % {"date": local_date(contract.expiry_at)}
    if contract.status != "PUBLISHED":
        return _("Il contratto non è ancora pubblicato.")
    return ""


def _require_open(contract: FrameworkContract, now) -> None:
    # Read status and expiry from the database: the caller's instance may predate a change.
    contract.refresh_from_db(fields=["status", "expiry_at"])
    message = closed_message(contract, now)
    if message:
        raise AdesioniError(message)


# --- adhesions -------------------------------------------------------------------------------


def _parse_amount(value) -> Decimal:
    try:
        amount = round_cents(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError) as exc:
        raise AdesioniError(_("Indicare un importo di adesione valido.")) from exc
    if amount <= 0:
        raise AdesioniError(_("L'importo di adesione deve essere maggiore di zero."))
    return amount


def _check_round_files(requirements, hypothesis, files, existing_codes=()) -> None:
    for req in requirements:
        if not req.applies_to(hypothesis):
            if files.get(req.code):
                if hypothesis == "A":
                    raise AdesioniError(str(M.MSG_D14))
                raise AdesioniError(str(M.MSG_D20))
            continue
        if req.mandatory and not files.get(req.code) and req.code not in existing_codes:
            raise AdesioniError(str(M.MSG_D15) % {"label": req.label})


def _store_round_files(*, adhesion, requirements, files, user, now) -> None:
    for req in requirements:
        uploaded = files.get(req.code)
        if not uploaded or not req.applies_to(adhesion.hypothesis):
            continue
        version = _upload(
            user=user,
            organisation=adhesion.organisation,
            use=USE_SIGNED if req.signature_required else USE_DOCUMENT,
            title=f"{req.label} – {adhesion.code}",
            uploaded_file=uploaded,
            now=now,
            signed=req.signature_required,
        )
        AdhesionDocument.objects.filter(
            adhesion=adhesion, round_no=adhesion.current_round, requirement=req
        ).update(is_current=False)
        AdhesionDocument.objects.create(
            adhesion=adhesion, round_no=adhesion.current_round, requirement=req, version=version
        )


def adhesion_create(
    *,
    user,
    contract: FrameworkContract,
    organisation,
    hypothesis: str,
    amount,
    files: dict,
    planned_end_date: datetime.date | None = None,
    amount_helper: dict | None = None,
    cost_centre=None,
    now,
) -> Adhesion:
    """Step 1 "salva e procedi": a DRAFT with its code A######/YYYY and the round-0 files."""
    allowed, own_centre = acting_cost_centre(user, organisation)
    _require(allowed)
    if cost_centre is None:
        cost_centre = own_centre
    _require(acts_for(user, _Scope(organisation.pk, cost_centre)))
    _require_open(contract, now)
    _require(hypothesis in ("A", "B"), _("Scegliere l'ipotesi (A o B)."))
    amount = _parse_amount(amount)
    requirements = list(contract.round_requirements.filter(round_no=0))
    _check_round_files(requirements, hypothesis, files)
    try:
        with transaction.atomic():
            if Adhesion.objects.filter(
                contract=contract,
                organisation=organisation,
                cost_centre=cost_centre,
                status=AdhesionStatus.DRAFT,
            ).exists():
                raise AdesioniError(str(M.MSG_D20))
            year, seq = _next_number(CounterKind.ADHESION, now)
            adhesion = Adhesion.objects.create(
                contract=contract,
                organisation=organisation,
                cost_centre=cost_centre,
                code=f"A{seq:06d}/{year}",
                code_year=year,
                code_seq=seq,
                hypothesis=hypothesis,
                amount=amount,
                planned_end_date=planned_end_date,
                amount_helper=amount_helper,
                created_by=user,
                created_at=now,
            )
            _store_round_files(
                adhesion=adhesion, requirements=requirements, files=files, user=user, now=now
            )
            audit_record(
                action="adesione creata",
                actor=user,
                obj=adhesion,
                organisation=organisation,
                to_state=adhesion.status,
                payload={"code": adhesion.code, "amount": amount, "hypothesis": hypothesis},
                now=now,
            )
    except IntegrityError as exc:  # a concurrent draft won the partial unique index
        raise AdesioniError(str(M.MSG_D20)) from exc
    return adhesion


def adhesion_update(
    *, user, adhesion_id, hypothesis: str, amount, files: dict, planned_end_date=None, now
) -> Adhesion:
    """Back to step 1 of a draft never sent (D-ADE-08): new amount, new file versions."""
    amount = _parse_amount(amount)
    with transaction.atomic():
        from .access import get_adhesion_for_user

        adhesion = get_adhesion_for_user(user, pk=adhesion_id, for_update=True)
        _require(acts_for(user, adhesion))
        _require(adhesion.status == AdhesionStatus.DRAFT and adhesion.first_sent_at is None)
        requirements = list(
            adhesion.contract.round_requirements.filter(round_no=adhesion.current_round)
        )
        if hypothesis != adhesion.hypothesis:
            AdhesionDocument.objects.filter(adhesion=adhesion).update(is_current=False)
            existing = set()
        else:
            existing = set(
                adhesion.documents.filter(
                    is_current=True, round_no=adhesion.current_round
                ).values_list("requirement__code", flat=True)
            )
        _check_round_files(requirements, hypothesis, files, existing)
        adhesion.hypothesis = hypothesis
        adhesion.amount = amount
        adhesion.planned_end_date = planned_end_date
        adhesion.save()
        _store_round_files(
            adhesion=adhesion, requirements=requirements, files=files, user=user, now=now
        )
        audit_record(
            action="adesione modificata",
            actor=user,
            obj=adhesion,
            from_state=adhesion.status,
            to_state=adhesion.status,
            payload={"amount": amount, "hypothesis": hypothesis},
            now=now,
        )
    return adhesion


def current_documents(adhesion: Adhesion, round_no: int | None = None):
    round_no = adhesion.current_round if round_no is None else round_no
    return adhesion.documents.filter(is_current=True, round_no=round_no).select_related(
        "requirement", "version"
    )


def adhesion_send(*, user, adhesion_id, now) -> Adhesion:
    """ "INVIA" → "sì": a new submission of the current round; N-01."""
    from .access import get_adhesion_for_user

    with transaction.atomic():
        adhesion = get_adhesion_for_user(user, pk=adhesion_id, for_update=True)
        _require(acts_for(user, adhesion))
        contract = adhesion.contract
        _require(adhesion.status == AdhesionStatus.DRAFT)
        _require_open(contract, now)
        docs = {d.requirement.code: d for d in current_documents(adhesion)}
        for req in contract.round_requirements.filter(round_no=adhesion.current_round):
            if req.applies_to(adhesion.hypothesis) and req.mandatory and req.code not in docs:
                raise AdesioniError(str(M.MSG_D15) % {"label": req.label})
        attempt = (
            adhesion.submissions.filter(round_no=adhesion.current_round).aggregate(
                m=Max("attempt_no")
            )["m"]
            or 0
        ) + 1
        _fire(adhesion, "send")
        adhesion.first_sent_at = adhesion.first_sent_at or now
        adhesion.last_sent_at = now
        adhesion.save()
        AdhesionSubmission.objects.create(
            adhesion=adhesion,
            round_no=adhesion.current_round,
            attempt_no=attempt,
            sent_at=now,
            sent_by=user,
            documents_manifest=[
                {"code": c, "version": d.version_id, "sha256": d.version.sha256}
                for c, d in docs.items()
            ],
        )
        audit_record(
            action="adesione inviata",
            actor=user,
            obj=adhesion,
            from_state=AdhesionStatus.DRAFT,
            to_state=adhesion.status,
            payload={"round": adhesion.current_round, "attempt": attempt},
            now=now,
        )
        subject = _("Adesione %(code)s inviata – %(contract)s") % {
            "code": adhesion.code,
            "contract": contract.title,
        }
        body = _(
            'L’adesione %(code)s (round %(round)s) di %(adherent)s al contratto "%(contract)s" '
            "è stata inviata il %(sent_at)s. Importo di adesione: € %(amount)s."
        ) % {
            "code": adhesion.code,
            "round": adhesion.current_round,
            "adherent": adhesion.organisation.name,
            "contract": contract.title,
            "sent_at": local_date(now),
            "amount": euro(adhesion.amount),
        }
        _event(
            contract=contract,
            code="N-01",
            subject=subject,
            body=body,
            users=[user, *evaluator_users(contract)],
            organisations=[adhesion.organisation, contract.issuer],
            url=reverse("adesioni:adhesion_detail", args=[adhesion.pk]),
            related_ref=adhesion.code,
            now=now,
        )
    return adhesion


def _pending_submission(adhesion: Adhesion) -> AdhesionSubmission:
    submission = (
        adhesion.submissions.select_for_update()
        .filter(round_no=adhesion.current_round, outcome=RoundOutcome.PENDING)
        .order_by("-attempt_no")
        .first()
    )
    _require(submission is not None)
    return submission


def adhesion_withdraw(*, user, adhesion_id, now) -> Adhesion:
    """ "ritira invio adesione": back to a read-only draft (D-ADE-08/09); N-02 in-app only."""
    from .access import get_adhesion_for_user

    with transaction.atomic():
        adhesion = get_adhesion_for_user(user, pk=adhesion_id, for_update=True)
        _require(acts_for(user, adhesion))
        _require(adhesion.status == AdhesionStatus.SENT)
        submission = _pending_submission(adhesion)
        _fire(adhesion, "back_to_draft", DraftOrigin.WITHDRAWN)
        adhesion.save()
        submission.outcome = RoundOutcome.WITHDRAWN
        submission.withdrawn_at = now
        submission.save()
        audit_record(
            action="invio dell'adesione ritirato",
            actor=user,
            obj=adhesion,
            from_state=AdhesionStatus.SENT,
            to_state=adhesion.status,
            now=now,
        )
        _event(
            contract=adhesion.contract,
            code="N-02",
            subject=_("Adesione %(code)s ritirata") % {"code": adhesion.code},
            body=_(
                "L’ente %(adherent)s ha ritirato l’invio dell’adesione %(code)s, tornata in bozza."
            )
            % {"adherent": adhesion.organisation.name, "code": adhesion.code},
            users=evaluator_users(adhesion.contract),
            organisations=[adhesion.contract.issuer],
            url=contract_url(adhesion.contract, "adesioni"),
            related_ref=adhesion.code,
            email=False,
            now=now,
        )
    return adhesion


def _lock_for_evaluation(user, adhesion_id) -> Adhesion:
    adhesion = (
        Adhesion.objects.select_for_update(of=("self",))
        .select_related("contract")
        .get(pk=adhesion_id)
    )
    _require(is_evaluator(user, adhesion.contract))
    _require(adhesion.status == AdhesionStatus.SENT)
    return adhesion


def _check_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if len(reason) < 10 or len(reason) > 2000:
        raise AdesioniError(str(M.MSG_D22))
    return reason


def adhesion_refuse(*, user, adhesion_id, reason: str, now) -> Adhesion:
    reason = _check_reason(reason)
    with transaction.atomic():
        adhesion = _lock_for_evaluation(user, adhesion_id)
        submission = _pending_submission(adhesion)
        _fire(adhesion, "back_to_draft", DraftOrigin.REFUSED)
        adhesion.save()
        submission.outcome = RoundOutcome.REFUSED
        submission.decided_at = now
        submission.decided_by = user
        submission.reason = reason
        submission.save()
        audit_record(
            action="round dell'adesione non approvato",
            actor=user,
            obj=adhesion,
            from_state=AdhesionStatus.SENT,
            to_state=adhesion.status,
            payload={"round": adhesion.current_round, "reason": reason},
            now=now,
        )
        _event(
            contract=adhesion.contract,
            code="N-03",
            subject=_("Adesione %(code)s non approvata") % {"code": adhesion.code},
            body=_(
                "La documentazione del round %(round)s dell’adesione %(code)s non è stata "
                "approvata. Motivazione: %(reason)s. Per ripresentarla accedere al tab “elenco "
                "adesioni” del contratto."
            )
            % {"round": adhesion.current_round, "code": adhesion.code, "reason": reason},
            users=[submission.sent_by, *adherent_users(adhesion.organisation)],
            organisations=[adhesion.organisation],
            url=reverse("adesioni:adhesion_detail", args=[adhesion.pk]),
            related_ref=adhesion.code,
            now=now,
        )
    return adhesion


def adhesion_approve(*, user, adhesion_id, now) -> Adhesion:
    with transaction.atomic():
        adhesion = _lock_for_evaluation(user, adhesion_id)
        submission = _pending_submission(adhesion)
        round_no = adhesion.current_round
        last = round_no >= adhesion.contract.round_count - 1
        if last:
            _fire(adhesion, "approve")
            adhesion.approved_at = now
        else:
            _fire(adhesion, "back_to_draft", DraftOrigin.NEXT_ROUND)
            adhesion.current_round = round_no + 1
        adhesion.save()
        submission.outcome = RoundOutcome.APPROVED
        submission.decided_at = now
        submission.decided_by = user
        submission.save()
        audit_record(
            action="round dell'adesione approvato" if not last else "adesione approvata",
            actor=user,
            obj=adhesion,
            from_state=AdhesionStatus.SENT,
            to_state=adhesion.status,
            payload={"round": round_no},
            now=now,
        )
        tail = (
            _(
                "; l’iter di adesione è concluso ed è possibile emettere l’ordinativo di "
                "fornitura con “nuovo ordine”"
            )
            if last
            else ""
        )
        _event(
            contract=adhesion.contract,
            code="N-04",
            subject=_("Adesione %(code)s approvata") % {"code": adhesion.code},
            body=_("Il round %(round)s dell’adesione %(code)s è stato approvato%(tail)s.")
            % {"round": round_no, "code": adhesion.code, "tail": tail},
            users=[submission.sent_by, *adherent_users(adhesion.organisation)],
            organisations=[adhesion.organisation],
            url=reverse("adesioni:adhesion_detail", args=[adhesion.pk]),
            related_ref=adhesion.code,
            now=now,
        )
    return adhesion


def adhesion_delete_draft(*, user, adhesion_id, now) -> Adhesion:
    """ "elimina bozza": round 0 → DELETED (code never reused); later rounds drop their files."""
    from .access import get_adhesion_for_user

    with transaction.atomic():
        adhesion = get_adhesion_for_user(user, pk=adhesion_id, for_update=True)
        _require(acts_for(user, adhesion))
        _require(adhesion.status == AdhesionStatus.DRAFT)
        if adhesion.current_round > 0:
            current_documents(adhesion).update(is_current=False)
            action = "documenti del round eliminati"
        else:
            _fire(adhesion, "delete_draft")
            adhesion.deleted_at = now
            adhesion.save()
            action = "bozza dell'adesione eliminata"
        audit_record(
            action=action,
            actor=user,
            obj=adhesion,
            from_state=AdhesionStatus.DRAFT,
            to_state=adhesion.status,
            now=now,
        )
    return adhesion


def amount_helper_compute(*, plan_date: datetime.date | None, lines, adjustments) -> dict:
    """The optional 4.9 % calculator (D-ADE-3): per-item increase, half-up to the cent."""
    pct = Decimal("0")
    for adj in adjustments or []:
        start = datetime.date.fromisoformat(adj["effective_from"])
        if plan_date is None or plan_date < start:
            pct += Decimal(adj["pct"])
    factor = Decimal("1") + pct / Decimal("100")
    out, total = [], Decimal("0.00")
    for description, unit_price, quantity in lines:
        unit = round_cents(Decimal(unit_price) * factor)
        line_total = round_cents(unit * Decimal(quantity))
        total += line_total
        out.append(
            {
                "description": description,
                "unit_price": str(Decimal(unit_price)),
                "adjusted_unit_price": str(unit),
                "quantity": str(Decimal(quantity)),
                "line_total": str(line_total),
            }
        )
    return {
        "plan_date": plan_date.isoformat() if plan_date else None,
        "pct": str(pct),
        "lines": out,
        "total": str(total),
    }


# --- supply orders ---------------------------------------------------------------------------


class _Scope:
    """The (organisation, cost centre) an adhesion or order is about to belong to."""

    def __init__(self, organisation_id, cost_centre):
        self.organisation_id = organisation_id
        self.cost_centre_id = cost_centre.pk if cost_centre is not None else None


def approved_adhesions(contract, organisation, cost_centre=None):
    """The APPROVED adhesions an order may use: same contract and CdC (invariant 9)."""
    return Adhesion.objects.filter(
        contract=contract,
        organisation=organisation,
        cost_centre=cost_centre,
        status=AdhesionStatus.APPROVED,
    )


def order_create(
    *,
    user,
    contract: FrameworkContract,
    organisation,
    rup,
    cig_data: dict,
    cost_centre=None,
    now,
) -> SupplyOrder:
    """ "nuovo ordine" → Richiedi CIG → "Vai all'ordine": the DRAFT order and its local appalto."""
    from procurement.pcp.models import PcpAppalto
    from procurement.pcp.services import PcpError, appalto_create

    allowed, own_centre = acting_cost_centre(user, organisation)
    _require(allowed)
    if cost_centre is None:
        cost_centre = own_centre
    _require(acts_for(user, _Scope(organisation.pk, cost_centre)))
    _require_open(contract, now)
    adhesions = list(approved_adhesions(contract, organisation, cost_centre))
    _require(bool(adhesions), _("Per emettere un ordinativo serve un'adesione approvata."))
    lot_amount = cig_data["lot_amount"]
    if lot_amount <= 0:
        raise AdesioniError(_("Il totale dell'ordine deve essere maggiore di zero."))
    with transaction.atomic():
        year, seq = _next_number(CounterKind.ORDER, now)
        adhesion = adhesions[0] if len(adhesions) == 1 else None
        order = SupplyOrder.objects.create(
            contract=contract,
            organisation=organisation,
            cost_centre=cost_centre,
            adhesion=adhesion,
            number=f"O{seq:06d}/{year}",
            number_year=year,
            number_seq=seq,
            hypothesis=(adhesion or adhesions[0]).hypothesis,
            rup=rup,
            created_by=user,
            created_at=now,
        )
        CigRequest.objects.create(order=order, **cig_data)
        try:
            appalto = appalto_create(
                user=user,
                organisation=organisation,
                rup=rup,
                subject=cig_data["oggetto_appalto"],
                amount=lot_amount,
                scheda_code="AD4",
                owner=order,
            )
        except PcpError as exc:
            raise AdesioniError(str(exc)) from exc
        # codiceAppalto = <prefix>-<order UUID> (D-ADE-12), set before anything is sent.
        PcpAppalto.objects.filter(pk=appalto.pk).update(codice_appalto=f"NE-{order.pk}")
        order.pcp_appalto = appalto
        order.save(update_fields=["pcp_appalto"])
        audit_record(
            action="ordinativo creato",
            actor=user,
            obj=order,
            organisation=organisation,
            to_state=order.status,
            payload={"number": order.number, "lot_amount": lot_amount},
            now=now,
        )
    return order


def _lock_order(user, order_id, *, operator=True) -> SupplyOrder:
    from .access import get_order_for_user

    order = get_order_for_user(user, pk=order_id, for_update=True)
    if operator:
        _require(acts_for(user, order))
    return order


def order_update_cig_request(*, user, order_id, cig_data: dict, rup=None, now) -> SupplyOrder:
    with transaction.atomic():
        order = _lock_order(user, order_id)
        _require(order.status == OrderStatus.DRAFT)
        CigRequest.objects.filter(order=order).update(**cig_data)
        audit_record(
            action="richiesta CIG modificata",
            actor=user,
            obj=order,
            from_state=order.status,
            to_state=order.status,
            payload={k: str(v) for k, v in cig_data.items()},
            now=now,
        )
    return order


def order_choose_adhesion(*, user, order_id, adhesion_id, now) -> SupplyOrder:
    with transaction.atomic():
        order = _lock_order(user, order_id)
        _require(order.status == OrderStatus.DRAFT)
        adhesion = approved_adhesions(order.contract, order.organisation, order.cost_centre)
        adhesion = adhesion.filter(pk=adhesion_id)
        adhesion = adhesion.first()
        _require(adhesion is not None)
        order.adhesion = adhesion
        order.hypothesis = adhesion.hypothesis
        order.save()
        audit_record(
            action="adesione dell'ordinativo scelta",
            actor=user,
            obj=order,
            payload={"adhesion": adhesion.code},
            now=now,
        )
    return order


def _line_values(unit_price, quantity) -> tuple[Decimal, Decimal, Decimal]:
    try:
        unit_price = Decimal(str(unit_price))
        quantity = Decimal(str(quantity))
    except (InvalidOperation, ValueError) as exc:
        raise AdesioniError(_("Importo unitario o quantità non validi.")) from exc
    if unit_price < 0 or unit_price != unit_price.quantize(Decimal("0.01")):
        raise AdesioniError(_("L'importo unitario deve essere positivo, al centesimo."))
    if quantity <= 0 or quantity != quantity.quantize(Decimal("0.001")):
        raise AdesioniError(_("La quantità deve essere positiva (al massimo tre decimali)."))
    return unit_price, quantity, round_cents(unit_price * quantity)


def _recompute_total(order: SupplyOrder) -> None:
    order.lines_total = order.lines.aggregate(t=Sum("line_total"))["t"] or Decimal("0.00")
    order.save(update_fields=["lines_total"])


def order_line_save(
    *, user, order_id, description: str, unit_price, quantity, line_id=None, now
) -> OrderLine:
    """Add or edit a line (the green tick); the total is recomputed (D-ADE-13)."""
    description = " ".join((description or "").split())
    if not description:
        raise AdesioniError(_("Indicare la descrizione della riga."))
    unit_price, quantity, line_total = _line_values(unit_price, quantity)
    with transaction.atomic():
        order = _lock_order(user, order_id)
        _require(order.status == OrderStatus.DRAFT)
        if line_id:
            line = order.lines.get(pk=line_id)
            line.description, line.unit_price, line.quantity = description, unit_price, quantity
            line.line_total = line_total
            line.save()
        else:
            position = (order.lines.aggregate(m=Max("position"))["m"] or 0) + 1
            line = OrderLine.objects.create(
                order=order,
                position=position,
                description=description[:500],
                unit_price=unit_price,
                quantity=quantity,
                line_total=line_total,
            )
        _recompute_total(order)
        audit_record(
            action="riga dell'ordine salvata",
            actor=user,
            obj=order,
            payload={
                "line": line.position,
                "unit_price": unit_price,
                "quantity": quantity,
                "total": order.lines_total,
            },
            now=now,
        )
    return line


def order_line_delete(*, user, order_id, line_id, now) -> None:
    with transaction.atomic():
        order = _lock_order(user, order_id)
        _require(order.status == OrderStatus.DRAFT)
        order.lines.filter(pk=line_id).delete()
        _recompute_total(order)
        audit_record(
            action="riga dell'ordine eliminata",
            actor=user,
            obj=order,
            payload={"total": order.lines_total},
            now=now,
        )


def order_requirements(order: SupplyOrder):
    return [r for r in order.contract.order_requirements.all() if r.applies_to(order.hypothesis)]


def order_current_documents(order: SupplyOrder):
    return order.documents.filter(is_current=True).select_related("requirement", "version")


def order_upload_document(*, user, order_id, requirement_id, uploaded_file, now) -> OrderDocument:
    """The act (and, in hypothesis B, the DPA): in DRAFT, or replaced after a refusal."""
    with transaction.atomic():
        order = _lock_order(user, order_id)
        _require(order.status in (OrderStatus.DRAFT, OrderStatus.REFUSED))
        req = OrderRequirement.objects.filter(contract=order.contract, pk=requirement_id).first()
        _require(req is not None and req.applies_to(order.hypothesis))
        version = _upload(
            user=user,
            organisation=order.organisation,
            use=USE_SIGNED if req.signature_required else USE_DOCUMENT,
            title=f"{req.label} – {order.number}",
            uploaded_file=uploaded_file,
            now=now,
            signed=req.signature_required,
        )
        order.documents.filter(requirement=req).update(is_current=False)
        doc = OrderDocument.objects.create(order=order, requirement=req, version=version)
        audit_record(
            action="documento dell'ordinativo caricato",
            actor=user,
            obj=order,
            payload={"requirement": req.code, "sha256": version.sha256},
            now=now,
        )
    return doc


def _missing_order_documents(order: SupplyOrder) -> list[str]:
    present = set(order_current_documents(order).values_list("requirement__code", flat=True))
    return [r.label for r in order_requirements(order) if r.mandatory and r.code not in present]


def adhesion_orders_warning(order: SupplyOrder) -> str:
    """MSG-D09 when the orders of the adhesion exceed its amount (non-blocking, D-ADE-26)."""
    if order.adhesion is None:
        return ""
    total = SupplyOrder.objects.filter(adhesion=order.adhesion).exclude(
        status__in=[OrderStatus.ANNULLED, OrderStatus.DELETED]
    ).aggregate(t=Sum("lines_total"))["t"] or Decimal("0")
    if total > order.adhesion.amount:
        return str(M.MSG_D09) % {
            "code": order.adhesion.code,
            "sum": euro(total),
            "amount": euro(order.adhesion.amount),
        }
    return ""


def order_confirm_appalto(*, user, order_id, actor, now) -> SupplyOrder:
    """Conferma appalto: totals check first (MSG-03, no ANAC call), then the PCP calls."""
    from procurement.pcp.services import PcpError, pcp_confirm_appalto

    from .anac import ad4_scheda

    with transaction.atomic():
        order = _lock_order(user, order_id, operator=False)
        _require(order.rup_id == user.pk, M.MSG_D13)
        _require(order.status == OrderStatus.DRAFT)
        _require(
            order.adhesion is not None and order.adhesion.status == AdhesionStatus.APPROVED,
            _("Selezionare l'adesione approvata a cui associare l'ordinativo."),
        )
        _require(order.lines.exists(), _("Inserire almeno una riga dell'ordine."))
        missing = _missing_order_documents(order)
        if missing:
            raise AdesioniError(str(M.MSG_D15) % {"label": missing[0]})
        cig_request = order.cig_request
        if order.lines_total != cig_request.lot_amount:
            raise AdesioniError(str(M.MSG_03))
        try:
            operation = pcp_confirm_appalto(
                appalto=order.pcp_appalto,
                user=user,
                actor=actor,
                scheda=ad4_scheda(order),
                now=now,
            )
        except PcpError as exc:
            raise AdesioniError(str(exc)) from exc
        _fire(order, "start_confirmation")
        order.lines_locked_at = now
        order.last_anac_error = None
        order.save()
        audit_record(
            action="conferma appalto richiesta",
            actor=user,
            obj=order,
            from_state=OrderStatus.DRAFT,
            to_state=order.status,
            payload={"operation": str(operation.pk), "total": order.lines_total},
            now=now,
        )
    return order


def order_acquire_cig(*, user, order_id, actor, now) -> SupplyOrder:
    """ "Acquisisci CIG": recupera-cig through the outbox; banner MSG-04."""
    from procurement.pcp.services import PcpError, pcp_fetch_cigs

    with transaction.atomic():
        order = _lock_order(user, order_id, operator=False)
        _require(order.rup_id == user.pk, M.MSG_D13)
        _require(order.status == OrderStatus.CIG_CONFIRMED)
        try:
            pcp_fetch_cigs(
                appalto=order.pcp_appalto,
                user=user,
                actor=actor,
                now=now,
                lot_identifiers=[order.cig_request.lot_identifier],
            )
        except PcpError as exc:
            raise AdesioniError(str(exc)) from exc
        _fire(order, "start_retrieval")
        order.last_anac_error = None
        order.save()
        audit_record(
            action="acquisizione CIG richiesta",
            actor=user,
            obj=order,
            from_state=OrderStatus.CIG_CONFIRMED,
            to_state=order.status,
            now=now,
        )
    return order


def signed_summary_matches(generated: bytes, version) -> bool:
    """D-ADE-34: CAdES wraps exactly the generated PDF; PAdES appends to its bytes."""
    from procurement.documents.services import document_version_content
    from procurement.documents.uses import PKCS7

    if version.content_type == PKCS7:
        return document_version_content(version=version, unwrap=True) == generated
    data = document_version_content(version=version)
    return data != generated and data.startswith(generated.rstrip(b"\n"))


def order_upload_signed_summary(*, user, order_id, uploaded_file, now) -> SupplyOrder:
    """Step 2: the signed copy of the generated summary sheet (signature and content checked)."""
    from procurement.documents.services import document_version_content

    with transaction.atomic():
        order = _lock_order(user, order_id)
        _require(
            order.status
            in (OrderStatus.CIG_ACQUIRED, OrderStatus.READY_TO_SEND, OrderStatus.REFUSED)
        )
        _require(order.summary_generated_id is not None, M.MSG_D08)
        version = _upload(
            user=user,
            organisation=order.organisation,
            use=USE_SUMMARY_SIGNED,
            title=_("Scheda di sintesi firmata – %(n)s") % {"n": order.number},
            uploaded_file=uploaded_file,
            now=now,
            signed=True,
        )
        generated = document_version_content(version=order.summary_generated)
        if not signed_summary_matches(generated, version):
            raise AdesioniError(str(M.MSG_D21))
        from_state = order.status
        if order.status == OrderStatus.CIG_ACQUIRED:
            _fire(order, "signed_summary_uploaded")
        order.summary_signed = version
        order.save()
        audit_record(
            action="scheda di sintesi firmata caricata",
            actor=user,
            obj=order,
            from_state=from_state,
            to_state=order.status,
            payload={"sha256": version.sha256, "signer": version.signer_name},
            now=now,
        )
    return order


def order_send(*, user, order_id, now) -> SupplyOrder:
    """Step 3 "invia" → "sì": SENT, waiting for the Region's nulla osta; N-05."""
    with transaction.atomic():
        order = _lock_order(user, order_id)
        _require(order.status == OrderStatus.READY_TO_SEND)
        _require_open(order.contract, now)
        missing = _missing_order_documents(order)
        if missing:
            raise AdesioniError(str(M.MSG_D15) % {"label": missing[0]})
        _fire(order, "send")
        order.sent_at = now
        order.sent_by = user
        order.save()
        audit_record(
            action="ordinativo inviato",
            actor=user,
            obj=order,
            from_state=OrderStatus.READY_TO_SEND,
            to_state=order.status,
            payload={"cig": order.derived_cig, "total": order.lines_total},
            now=now,
        )
        contract = order.contract
        _event(
            contract=contract,
            code="N-05",
            subject=_("Ordinativo %(number)s inviato – CIG %(cig)s")
            % {"number": order.number, "cig": order.derived_cig},
            body=_(
                "L’ordinativo di fornitura %(number)s (adesione %(code)s, CIG %(cig)s, totale "
                "€ %(total)s) è stato inviato il %(sent_at)s ed è in attesa del nulla osta di "
                "Regione."
            )
            % {
                "number": order.number,
                "code": order.adhesion.code,
                "cig": order.derived_cig,
                "total": euro(order.lines_total),
                "sent_at": local_date(now),
            },
            users=[user, *evaluator_users(contract)],
            organisations=[order.organisation, contract.issuer],
            url=reverse("adesioni:order_detail", args=[order.pk]),
            related_ref=order.number,
            now=now,
        )
    return order


def order_acknowledge_pec(*, user, order_id, sent: bool, now) -> SupplyOrder:
    """D-ADE-33: the aderente records (optionally) that the documents went to the supplier by
    PEC; stored, never required."""
    with transaction.atomic():
        order = _lock_order(user, order_id)
        _require(
            order.status in (OrderStatus.READY_TO_SEND, OrderStatus.SENT, OrderStatus.APPROVED)
        )
        before = order.pec_reminder_acknowledged_at
        order.pec_reminder_acknowledged_at = (before or now) if sent else None
        order.save(update_fields=["pec_reminder_acknowledged_at"])
        audit_record(
            action="invio via PEC al fornitore dichiarato" if sent else "dichiarazione PEC tolta",
            actor=user,
            obj=order,
            payload={"pec": order.contract.supplier_pec},
            now=now,
        )
    return order


def _lock_order_for_evaluation(user, order_id) -> SupplyOrder:
    order = (
        SupplyOrder.objects.select_for_update(of=("self",))
        .select_related("contract")
        .get(pk=order_id)
    )
    _require(is_evaluator(user, order.contract))
    _require(order.status == OrderStatus.SENT)
    return order


def order_approve(*, user, order_id, now) -> SupplyOrder:
    """The Region's nulla osta: N-06 to the aderente, N-07 to the supplier."""
    with transaction.atomic():
        order = _lock_order_for_evaluation(user, order_id)
        _fire(order, "approve")
        order.approved_at = now
        order.approved_by = user
        order.save()
        audit_record(
            action="nulla osta rilasciato",
            actor=user,
            obj=order,
            from_state=OrderStatus.SENT,
            to_state=order.status,
            now=now,
        )
        contract = order.contract
        url = reverse("adesioni:order_detail", args=[order.pk])
        _event(
            contract=contract,
            code="N-06",
            subject=_("Ordinativo %(number)s approvato") % {"number": order.number},
            body=_(
                "L’ordinativo di fornitura %(number)s (CIG %(cig)s) è stato approvato il "
                "%(approved_at)s. È ora possibile pubblicarne l’esito."
            )
            % {"number": order.number, "cig": order.derived_cig, "approved_at": local_date(now)},
            users=[order.sent_by, *adherent_users(order.organisation)],
            organisations=[order.organisation],
            url=url,
            related_ref=order.number,
            now=now,
        )
        _event(
            contract=contract,
            code="N-07",
            subject=_("Nuovo ordinativo approvato – %(adherent)s")
            % {"adherent": order.organisation.name},
            body=_(
                "È stato approvato l’ordinativo di fornitura %(number)s di %(adherent)s (CIG "
                '%(cig)s, totale € %(total)s) relativo al contratto "%(contract)s". I documenti '
                "sono disponibili nel Negozio Elettronico."
            )
            % {
                "number": order.number,
                "adherent": order.organisation.name,
                "cig": order.derived_cig,
                "total": euro(order.lines_total),
                "contract": contract.title,
            },
            users=supplier_users(contract),
            organisations=[contract.supplier],
            url=url,
            related_ref=order.number,
            now=now,
        )
    return order


def order_refuse(*, user, order_id, reason: str, now) -> SupplyOrder:
    reason = _check_reason(reason)
    with transaction.atomic():
        order = _lock_order_for_evaluation(user, order_id)
        _fire(order, "refuse")
        order.refused_at = now
        order.refusal_reason = reason
        order.save()
        audit_record(
            action="ordinativo rifiutato",
            actor=user,
            obj=order,
            from_state=OrderStatus.SENT,
            to_state=order.status,
            payload={"reason": reason},
            now=now,
        )
        _event(
            contract=order.contract,
            code="N-08",
            subject=_("Ordinativo %(number)s rifiutato") % {"number": order.number},
            body=_(
                "L’ordinativo di fornitura %(number)s non è stato approvato. Motivazione: "
                "%(reason)s."
            )
            % {"number": order.number, "reason": reason},
            users=[order.sent_by, *adherent_users(order.organisation)],
            organisations=[order.organisation],
            url=reverse("adesioni:order_detail", args=[order.pk]),
            related_ref=order.number,
            now=now,
        )
    return order


def order_reopen(*, user, order_id, now) -> SupplyOrder:
    """After a refusal: documents may be replaced, lines/amounts/CIG stay locked (D-ADE-20)."""
    with transaction.atomic():
        order = _lock_order(user, order_id)
        _fire(order, "reopen")
        order.save()
        audit_record(
            action="ordinativo riaperto",
            actor=user,
            obj=order,
            from_state=OrderStatus.REFUSED,
            to_state=order.status,
            now=now,
        )
    return order


def order_delete_draft(*, user, order_id, actor=None, now) -> SupplyOrder:
    """ "elimina bozza" (D-ADE-27): with an idAppalto, cancella-appalto must succeed first."""
    from procurement.pcp.services import PcpError, operation_in_progress, pcp_cancel_appalto

    with transaction.atomic():
        order = _lock_order(user, order_id)
        _require(order.status == OrderStatus.DRAFT)
        appalto = order.pcp_appalto
        if appalto is not None and operation_in_progress(appalto) is not None:
            raise AdesioniError(str(M.MSG_D20))
        if appalto is not None and appalto.id_appalto:
            _require(order.rup_id == user.pk and actor is not None, M.MSG_D13)
            try:
                pcp_cancel_appalto(
                    appalto=appalto,
                    user=user,
                    actor=actor,
                    motivo="Ordine eliminato in bozza",
                    now=now,
                )
            except PcpError as exc:
                raise AdesioniError(str(exc)) from exc
            audit_record(
                action="cancellazione appalto richiesta",
                actor=user,
                obj=order,
                from_state=order.status,
                to_state=order.status,
                now=now,
            )
            return order
        _fire(order, "delete_draft")
        order.save()
        audit_record(
            action="bozza dell'ordinativo eliminata",
            actor=user,
            obj=order,
            from_state=OrderStatus.DRAFT,
            to_state=order.status,
            now=now,
        )
    return order


# --- esito -----------------------------------------------------------------------------------


def outcome_notice_save(
    *, user, order_id, award_date, duration_to, duration_from=None, notes="", now
) -> OutcomeNotice:
    """ "salva e pubblica": stores the draft esito and shows its summary (E1–E2)."""
    if award_date is None or duration_to is None:
        raise AdesioniError(_("Indicare la data di aggiudicazione e la durata (al)."))
    if duration_from and duration_to < duration_from:
        raise AdesioniError(_("La fine della durata precede l'inizio."))
    with transaction.atomic():
        order = _lock_order(user, order_id)
        _require(order.status == OrderStatus.APPROVED)
        notice = OutcomeNotice.objects.filter(order=order).first()
        if notice is None:
            notice = OutcomeNotice(order=order, organisation=order.organisation)
        _require(notice.status == OutcomeStatus.DRAFT)
        notice.award_date = award_date
        notice.duration_from = duration_from
        notice.duration_to = duration_to
        notice.notes = notes or ""
        notice.save()
        audit_record(
            action="esito salvato",
            actor=user,
            obj=order,
            payload={"award_date": award_date},
            now=now,
        )
    return notice


def outcome_notice_publish(*, user, order_id, now) -> OutcomeNotice:
    """ "salva e procedi": published in "Aggiudicazioni e affidamenti" (MSG-D07)."""
    with transaction.atomic():
        order = _lock_order(user, order_id)
        _require(order.status == OrderStatus.APPROVED)
        notice = OutcomeNotice.objects.select_for_update().filter(order=order).first()
        _require(notice is not None)
        _fire(notice, "publish")
        notice.published_at = now
        notice.published_by = user
        notice.save()
        publish_outcome(notice, now=now)  # open data: an OCDS award release
        audit_record(
            action="esito pubblicato",
            actor=user,
            obj=order,
            from_state=OutcomeStatus.DRAFT,
            to_state=OutcomeStatus.PUBLISHED,
            now=now,
        )
    return notice


def published_outcomes():
    return OutcomeNotice.objects.filter(status=OutcomeStatus.PUBLISHED).select_related(
        "order", "order__contract", "order__organisation", "order__contract__supplier"
    )


# --- scheda ANN ------------------------------------------------------------------------------


def ann_payload(cig: str) -> dict:
    return {
        "anacForm": {
            "cig": cig,
            "annullamento": {
                "motivoAnnullamento": {
                    "idTipologica": "motivoAnnullamento",
                    "codice": ANN_REASON_CODE,
                }
            },
        }
    }


def scheda_ann_create(*, user, order_id, now):
    """ "Crea nuova scheda" → ANN, "salva e procedi": a local draft (nothing sent)."""
    from procurement.pcp.services import PcpError, pcp_scheda_create

    with transaction.atomic():
        order = _lock_order(user, order_id, operator=False)
        _require(order.rup_id == user.pk, M.MSG_D13)
        _require(order.status in POST_CIG_STATES and bool(order.derived_cig))
        try:
            scheda = pcp_scheda_create(
                appalto=order.pcp_appalto,
                user=user,
                code="ANN",
                payload=ann_payload(order.derived_cig),
                now=now,
            )
        except PcpError as exc:
            raise AdesioniError(str(exc)) from exc
        except IntegrityError as exc:
            raise AdesioniError(str(M.MSG_D20)) from exc
        audit_record(
            action="scheda ANN creata",
            actor=user,
            obj=order,
            payload={"cig": order.derived_cig},
            now=now,
        )
    return scheda


def _lock_scheda(user, order_id, scheda_id):
    from procurement.pcp.models import PcpScheda

    order = _lock_order(user, order_id, operator=False)
    _require(order.rup_id == user.pk, M.MSG_D13)
    scheda = (
        PcpScheda.objects.select_for_update()
        .filter(pk=scheda_id, appalto=order.pcp_appalto)
        .first()
    )
    _require(scheda is not None)
    return order, scheda


def scheda_ann_send(*, user, order_id, scheda_id, actor, now):
    """ "invia scheda": crea-scheda (once) + conferma-scheda; MSG-05."""
    from procurement.pcp.services import PcpError, pcp_scheda_send

    with transaction.atomic():
        order, scheda = _lock_scheda(user, order_id, scheda_id)
        try:
            operation = pcp_scheda_send(scheda=scheda, user=user, actor=actor, now=now)
        except PcpError as exc:
            raise AdesioniError(str(exc)) from exc
        audit_record(
            action="scheda ANN inviata",
            actor=user,
            obj=order,
            payload={"scheda": str(scheda.pk)},
            now=now,
        )
    return operation


def scheda_ann_verify(*, user, order_id, scheda_id, actor, now):
    from procurement.pcp.services import PcpError, pcp_scheda_verify

    with transaction.atomic():
        _order, scheda = _lock_scheda(user, order_id, scheda_id)
    try:
        return pcp_scheda_verify(scheda=scheda, user=user, actor=actor, now=now)
    except PcpError as exc:
        raise AdesioniError(str(exc)) from exc


def scheda_ann_delete(*, user, order_id, scheda_id, actor=None, now):
    from procurement.pcp.services import PcpError, pcp_scheda_delete

    with transaction.atomic():
        order, scheda = _lock_scheda(user, order_id, scheda_id)
        try:
            result = pcp_scheda_delete(scheda=scheda, user=user, actor=actor, now=now)
        except PcpError as exc:
            raise AdesioniError(str(exc)) from exc
        audit_record(
            action="scheda ANN eliminata",
            actor=user,
            obj=order,
            payload={"scheda": str(scheda.pk)},
            now=now,
        )
    return result


# --- comunicazioni ---------------------------------------------------------------------------


def party_of(user, contract: FrameworkContract, organisation=None) -> str:
    from .access import is_issuer_user, is_supplier_user

    if organisation is not None and is_adherent_operator(user, organisation):
        return Party.ADHERENT
    if is_issuer_user(user, contract):
        return Party.ISSUER
    if is_supplier_user(user, contract):
        return Party.SUPPLIER
    from .access import adherent_organisations

    if adherent_organisations(user).exists():
        return Party.ADHERENT
    return ""


def message_send(
    *,
    user,
    contract: FrameworkContract,
    kind: str,
    recipient_party: str,
    subject: str,
    body: str,
    recipient_organisation=None,
    attachment=None,
    in_reply_to=None,
    now,
) -> ContractMessage:
    """A Comunicazione or Chiarimento between the parties of the contract (D-ADE-28); N-09."""
    from .access import adherent_organisations

    _require(contract.status == "PUBLISHED")
    _require(kind in (MessageKind.COMMUNICATION, MessageKind.CLARIFICATION))
    subject = " ".join((subject or "").split())
    body = (body or "").strip()
    if not subject or not body:
        raise AdesioniError(_("Indicare oggetto e testo della comunicazione."))
    own_adherent = adherent_organisations(user).first()
    sender_party = party_of(user, contract, own_adherent)
    _require(bool(sender_party))
    if sender_party == Party.ADHERENT:
        sender_org = own_adherent
        _require(recipient_party in (Party.ISSUER, Party.SUPPLIER))
    elif sender_party == Party.ISSUER:
        sender_org = contract.issuer
        _require(recipient_party in (Party.ADHERENT, Party.SUPPLIER))
    else:
        sender_org = contract.supplier
        _require(recipient_party in (Party.ISSUER, Party.ADHERENT))
    if recipient_party == Party.ISSUER:
        organisations, users = [contract.issuer], evaluator_users(contract)
    elif recipient_party == Party.SUPPLIER:
        organisations, users = [contract.supplier], supplier_users(contract)
    else:
        if recipient_organisation is None:
            orgs = {a.organisation for a in contract.adhesions.exclude(status="DELETED")}
        else:
            orgs = {recipient_organisation}
        organisations = list(orgs)
        users = [u for o in organisations for u in adherent_users(o)]
    _require(bool(organisations))
    with transaction.atomic():
        message = ContractMessage.objects.create(
            contract=contract,
            kind=kind,
            sender_user=user,
            sender_party=sender_party,
            sender_organisation=sender_org,
            subject=subject[:255],
            body=body,
            attachment=attachment,
            in_reply_to=in_reply_to,
            sent_at=now,
        )
        message.recipient_organisations.set([o.pk for o in organisations])
        message.recipient_users.set([u.pk for u in users])
        from procurement.notifications.services import notify

        kind_label = MessageKind(kind).label
        notify(
            recipients=users,
            template="adesioni_event",
            context={
                "subject": _("Nuova %(kind)s – %(contract)s")
                % {"kind": kind_label, "contract": contract.title},
                "body": _('%(sender)s ha inviato una %(kind)s: "%(subject)s".')
                % {"sender": sender_org.name, "kind": kind_label, "subject": subject},
            },
            url=contract_url(contract, "comunicazioni"),
            now=now,
        )
        audit_record(
            action="comunicazione inviata",
            actor=user,
            obj=contract,
            organisation=sender_org,
            payload={"kind": kind, "subject": subject},
            now=now,
        )
    return message


def messages_visible_to(user, contract: FrameworkContract):
    from .access import is_issuer_user, organisations_of

    qs = contract.messages.select_related("sender_user", "sender_organisation")
    if user.is_superuser:
        return qs
    orgs = organisations_of(user)
    cond = Q(recipient_organisations__in=orgs) | Q(sender_organisation__in=orgs)
    cond |= Q(recipient_users=user)
    if is_issuer_user(user, contract):
        cond |= Q(recipient_organisations=contract.issuer) | Q(sender_organisation=contract.issuer)
    return qs.filter(cond).distinct()
