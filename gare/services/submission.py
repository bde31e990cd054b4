"""Participation: building, submitting, replacing and withdrawing a sealed offer (spec §4)."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from procurement.accounts.strongauth import STRONG_LOA
from procurement.documents.services import DocumentError, document_inspect
from procurement.documents.uses import get_use
from procurement.notifications.services import notify

from .. import deadlines, sealing
from ..amounts import resolve_economic
from ..models import (
    AttemptOutcome,
    Envelope,
    EnvelopeFile,
    EnvelopeState,
    EnvelopeType,
    Lot,
    Offer,
    OfferStatus,
    Participant,
    ParticipantStatus,
    ParticipationForm,
    SubmissionAttempt,
    TenderStatus,
)
from ..signatories import signature_problems
from .common import (
    GareError,
    StrongAuthRequired,
    audit,
    fmt_dt,
    lock_lot,
    new_receipt_no,
    operator_users,
    require_operator,
)

MB = 1024 * 1024


@dataclass(frozen=True)
class Requirement:
    code: str
    envelope: str
    label: object
    mandatory: bool
    signed: bool


REQUIREMENTS = [
    Requirement(
        "PARTICIPATION_FORM", "A", gettext_lazy("Domanda di partecipazione (All. 1)"), True, True
    ),
    Requirement("DGUE", "A", gettext_lazy("DGUE elettronico"), True, False),
    Requirement("ANAC_RECEIPT", "A", gettext_lazy("Ricevuta del contributo ANAC"), True, False),
    Requirement("GUARANTEE", "A", gettext_lazy("Garanzia provvisoria"), True, True),
    Requirement("SOA", "A", gettext_lazy("Attestazione SOA"), True, False),
    Requirement("SITE_VISIT", "A", gettext_lazy("Attestato di sopralluogo"), False, False),
    Requirement(
        "COLLECTIVE_MANDATE",
        "A",
        gettext_lazy("Mandato collettivo o atto costitutivo (forme associate costituite)"),
        False,
        False,
    ),
    Requirement(
        "RELIANCE_CONTRACT",
        "A",
        gettext_lazy("Contratto di avvalimento (firmato da concorrente e ausiliaria)"),
        False,
        True,
    ),
    Requirement("OTHER_A", "A", gettext_lazy("Altro documento amministrativo"), False, False),
    Requirement("TECHNICAL_REPORT", "B", gettext_lazy("Relazione tecnica"), True, True),
    Requirement("TABULAR_OFFER", "B", gettext_lazy("Offerta tabellare (All. 2)"), True, True),
    Requirement(
        "CONFIDENTIALITY", "B", gettext_lazy("Dichiarazione di riservatezza (All. 3)"), False, False
    ),
    Requirement(
        "PREMIALE_CONTRACT",
        "B",
        gettext_lazy("Contratto di avvalimento premiale"),
        False,
        True,
    ),
    Requirement(
        "ECONOMIC_OFFER", "C", gettext_lazy("Offerta economica firmata (All. 4)"), True, True
    ),
    Requirement(
        "LABOUR_JUSTIFICATION",
        "C",
        gettext_lazy("Giustificazione del costo della manodopera"),
        False,
        False,
    ),
]
BY_CODE = {r.code: r for r in REQUIREMENTS}


def requirements_for(envelope_type: str) -> list[Requirement]:
    return [r for r in REQUIREMENTS if r.envelope == envelope_type]


def late_message(lot: Lot, now) -> str:
    return _(
        "Offerta irricevibile: il termine di presentazione è scaduto il %(deadline)s; "
        "ora del server al momento dell'invio: %(now)s."
    ) % {"deadline": fmt_dt(lot.tender.offer_deadline), "now": fmt_dt(now)}


SUSPENDED_MESSAGE = gettext_lazy(
    "La procedura è sospesa per un malfunzionamento della piattaforma: fino alla ripresa non si "
    "possono presentare, sostituire o ritirare offerte. Ora del server: %(now)s."
)


def closed_message(lot: Lot, now) -> str:
    if lot.tender.status == TenderStatus.SUSPENDED:
        return str(SUSPENDED_MESSAGE) % {"now": fmt_dt(now)}
    return late_message(lot, now)


def _record_attempt(*, lot, operator, user, now, outcome, message="") -> None:
    # Outside the failing transaction: a refused attempt must stay on record (spec §3.3.4).
    SubmissionAttempt.objects.create(
        lot=lot, operator=operator, user=user, at=now, outcome=outcome, message=message
    )


def _ensure_open(lot: Lot, now) -> None:
    if lot.tender.status != TenderStatus.PUBLISHED or not deadlines.submission_open(
        lot.tender, now
    ):
        raise GareError(closed_message(lot, now))


def offer_draft(*, user, lot: Lot, operator, now, form=None, members=None) -> Offer:
    """The operator's offer in preparation (created on first use), with its three envelopes."""
    require_operator(user, operator)
    _ensure_open(lot, now)
    if form is not None and form not in ParticipationForm.values:
        raise GareError(_("Scegli una forma di partecipazione tra quelle previste."))
    with transaction.atomic():
        lock_lot(lot)
        offer = Offer.objects.filter(lot=lot, operator=operator, status=OfferStatus.DRAFT).first()
        if offer is None:
            offer = Offer.objects.create(
                lot=lot,
                operator=operator,
                form=form or ParticipationForm.SINGLE,
                members=members or [],
                created_by=user,
                created_at=now,
            )
            for env_type in EnvelopeType.values:
                Envelope.objects.create(offer=offer, type=env_type)
        elif form is not None:
            offer.form = form
            offer.members = members or []
            offer.save(update_fields=["form", "members"])
    return offer


MSG_NOT_DRAFT = gettext_lazy(
    "Questa offerta è già stata presentata: prepara una nuova offerta per sostituirla."
)


def _draft_for(user, offer: Offer, now) -> Offer:
    require_operator(user, offer.operator)
    _ensure_open(offer.lot, now)
    if offer.status != OfferStatus.DRAFT:
        raise GareError(str(MSG_NOT_DRAFT))
    return offer


def _lock_draft(offer: Offer) -> Offer:
    """Lock the draft before changing its envelopes, and check again under the lock that it is
    still a draft: a submission committed meanwhile has sealed the envelopes (same order as
    ``offer_submit``: the offer, then its envelopes)."""
    locked = (
        Offer.objects.select_for_update(of=("self",))
        .select_related("lot__tender", "operator")
        .get(pk=offer.pk)
    )
    if locked.status != OfferStatus.DRAFT:
        raise GareError(str(MSG_NOT_DRAFT))
    return locked


def _envelope_limit_check(tender, used: int, size: int) -> None:
    envelope_limit = tender.max_envelope_size_mb * MB
    if used + size > envelope_limit:
        raise GareError(
            _(
                "La busta supererebbe il limite di %(max)s: contiene già %(used)s e il file "
                "misura %(size)s."
            )
            % {
                "max": filesizeformat(envelope_limit),
                "used": filesizeformat(used),
                "size": filesizeformat(size),
            }
        )


def _file_audit_payload(envelope_type: str, item: EnvelopeFile, sealed_sha256: str) -> dict:
    """What the audit trail may say of a file: for A its name, size and the SHA-256 of the
    sealed blob; for B and C only the envelope and the document (a name or a size could tell
    something of an offer that must stay secret until its opening)."""
    payload = {"envelope": envelope_type, "requirement": item.requirement_code}
    if envelope_type == EnvelopeType.A_ADMIN:
        payload.update(name=item.original_name, size=item.size, sealed_sha256=sealed_sha256)
    return payload


def envelope_file_add(
    *, user, offer: Offer, envelope_type: str, requirement_code: str, uploaded_file, now
) -> EnvelopeFile:
    """Check, encrypt and store one file of an envelope (limits S-11, signatures S-04)."""
    offer = _draft_for(user, offer, now)
    req = BY_CODE.get(requirement_code)
    if req is None or req.envelope != envelope_type:
        raise GareError(_("Scegli il documento richiesto per questa busta."))
    tender = offer.lot.tender
    envelope = offer.envelopes.get(type=envelope_type)
    file_limit = tender.max_file_size_mb * MB
    declared = getattr(uploaded_file, "size", None)
    if declared is not None and declared > file_limit:
        raise GareError(
            _("Il file supera il limite di %(max)s per singolo file.")
            % {"max": filesizeformat(file_limit)}
        )
    use = get_use("gare_offer_signed" if req.signed else "gare_offer_file")
    try:
        inspected = document_inspect(use=use, uploaded_file=uploaded_file, now=now)
    except DocumentError as exc:
        if exc.code != "signature":
            raise GareError(exc.message) from exc
        # A missing or invalid signature is a warning, not a block (S-04, D-09): keep the report.
        uploaded_file.seek(0)
        inspected = document_inspect(
            use=get_use("gare_offer_file"), uploaded_file=uploaded_file, now=now
        )
    if inspected.size > file_limit:
        raise GareError(
            _("Il file supera il limite di %(max)s per singolo file.")
            % {"max": filesizeformat(file_limit)}
        )
    _envelope_limit_check(tender, envelope.size_bytes, inspected.size)
    context = f"file:{envelope.pk}:{inspected.sha256}"
    blob = sealing.seal(tender, inspected.data, context=context)
    sealed_sha256 = hashlib.sha256(blob).hexdigest()
    # The sealed blob is written before the transaction (no slow I/O under the locks) and
    # removed again if the row is not written.
    name = default_storage.save(
        f"gare/sealed/{tender.pk}/{uuid.uuid4().hex}.bin", ContentFile(blob)
    )
    try:
        with transaction.atomic():
            offer = _lock_draft(offer)
            envelope = Envelope.objects.select_for_update().get(pk=envelope.pk)
            # Again under the lock: two uploads at once must not pass the limit together.
            _envelope_limit_check(tender, envelope.size_bytes, inspected.size)
            item = EnvelopeFile.objects.create(
                envelope=envelope,
                requirement_code=req.code,
                original_name=inspected.original_name,
                size=inspected.size,
                sha256=inspected.sha256,
                content_type=inspected.content_type,
                signature_ok=inspected.signature.ok,
                signature_report=inspected.signature.as_report(),
                storage_name=name,
                uploaded_at=now,
            )
            audit(
                action="file caricato nella busta",
                actor=user,
                obj=offer,
                tender=tender,
                now=now,
                payload=_file_audit_payload(envelope_type, item, sealed_sha256),
            )
    except BaseException:
        default_storage.delete(name)
        raise
    return item


def _sealed_sha256(item: EnvelopeFile) -> str:
    digest = hashlib.sha256()
    try:
        with default_storage.open(item.storage_name, "rb") as fh:
            for chunk in iter(lambda: fh.read(MB), b""):
                digest.update(chunk)
    except FileNotFoundError:
        return ""
    return digest.hexdigest()


def envelope_file_remove(*, user, item: EnvelopeFile, now) -> None:
    """Remove a file from the draft; its sealed blob is deleted from storage after commit."""
    offer = _draft_for(user, item.envelope.offer, now)
    # Read (up to 15 MB) before taking the locks; the blob is only deleted after commit.
    sealed_sha256 = _sealed_sha256(item) if item.envelope.type == EnvelopeType.A_ADMIN else ""
    with transaction.atomic():
        offer = _lock_draft(offer)
        item = (
            EnvelopeFile.objects.select_for_update(of=("self",))
            .select_related("envelope")
            .filter(pk=item.pk, envelope__offer=offer)
            .first()
        )
        if item is None:
            raise GareError(_("Il file non è più nella busta."))
        name = item.storage_name
        payload = _file_audit_payload(item.envelope.type, item, sealed_sha256)
        item.delete()
        audit(
            action="file eliminato dalla busta",
            actor=user,
            obj=offer,
            tender=offer.lot.tender,
            now=now,
            payload=payload,
        )
        transaction.on_commit(lambda: default_storage.delete(name))


def _decimal(value, label) -> Decimal:
    try:
        return Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, AttributeError):
        raise GareError(_("%(label)s: indica un numero.") % {"label": label}) from None


def economic_data_clean(lot: Lot, data: dict) -> dict:
    """Validate the figures of All. 4 (S-23..S-27); truncates the discount to two decimals."""
    discount = _decimal(data.get("discount", ""), _("Ribasso"))
    discount = discount.quantize(Decimal("0.01"), rounding="ROUND_DOWN")
    if not (Decimal("0") <= discount < Decimal("100")):
        raise GareError(_("Il ribasso deve essere compreso tra 0,00 e 99,99 per cento."))
    days = _decimal(data.get("days", ""), _("Tempo di esecuzione"))
    if days != days.to_integral_value() or not (1 <= days <= lot.duration_days):
        raise GareError(
            _("Il tempo di esecuzione è un numero intero di giorni tra 1 e %(max)s.")
            % {"max": lot.duration_days}
        )
    safety = _decimal(data.get("company_safety_costs", ""), _("Costi aziendali della sicurezza"))
    labour = _decimal(data.get("labour_costs", ""), _("Costi della manodopera"))
    if safety < 0 or labour <= 0:
        raise GareError(
            _(
                "I costi della sicurezza non possono essere negativi e quelli della manodopera "
                "devono essere positivi."
            )
        )
    return {
        "discount": str(discount),
        "discount_words": str(data.get("discount_words", "")).strip(),
        "days": int(days),
        "days_words": str(data.get("days_words", "")).strip(),
        "company_safety_costs": str(safety.quantize(Decimal("0.01"))),
        "labour_costs": str(labour.quantize(Decimal("0.01"))),
    }


def tabular_data_clean(data: dict) -> dict:
    """All. 2 answers captured as data: A2 works count, D1/D3 yes/no, D2 count."""
    try:
        a2 = int(data.get("A2", 0))
        d2 = int(data.get("D2", 0))
    except (TypeError, ValueError):
        raise GareError(_("Offerta tabellare: indica numeri interi per A2 e D2.")) from None
    if a2 < 0 or d2 < 0:
        raise GareError(_("Offerta tabellare: i valori non possono essere negativi."))
    return {"A2": a2, "D1": bool(data.get("D1")), "D2": d2, "D3": bool(data.get("D3"))}


#: The document of the offer the structured data of an envelope stands for (audit trail).
DATA_REQUIREMENT = {
    EnvelopeType.B_TECHNICAL: "TABULAR_OFFER",
    EnvelopeType.C_ECONOMIC: "ECONOMIC_OFFER",
}


def envelope_data_set(*, user, offer: Offer, envelope_type: str, data: dict, now) -> Envelope:
    """Seal the structured data of B (All. 2 answers) or C (All. 4 figures) in the draft."""
    offer = _draft_for(user, offer, now)
    if envelope_type == EnvelopeType.C_ECONOMIC:
        clean = economic_data_clean(offer.lot, data)
    elif envelope_type == EnvelopeType.B_TECHNICAL:
        clean = tabular_data_clean(data)
    else:
        raise GareError(_("Questa busta non ha dati strutturati."))
    with transaction.atomic():
        offer = _lock_draft(offer)
        envelope = Envelope.objects.select_for_update().get(offer=offer, type=envelope_type)
        envelope.sealed_data = sealing.seal(
            offer.lot.tender, json.dumps(clean).encode(), context=f"data:{envelope.pk}"
        )
        envelope.save(update_fields=["sealed_data"])
        # Never the figures, not even sealed: only which envelope changed.
        audit(
            action="dati della busta salvati",
            actor=user,
            obj=offer,
            tender=offer.lot.tender,
            now=now,
            payload={"envelope": envelope_type, "requirement": DATA_REQUIREMENT[envelope_type]},
        )
    return envelope


def offer_check(offer: Offer) -> list[str]:
    """Checks without judgement before the commit (S-22): missing documents, signatures."""
    problems = []
    files = list(EnvelopeFile.objects.filter(envelope__offer=offer).select_related("envelope"))
    present = {f.requirement_code for f in files}
    for req in REQUIREMENTS:
        if req.mandatory and req.code not in present:
            problems.append(_("Manca «%(doc)s».") % {"doc": req.label})
    for f in files:
        if BY_CODE[f.requirement_code].signed and not f.signature_ok:
            problems.append(
                _("«%(name)s» non ha una firma digitale valida.") % {"name": f.original_name}
            )
    problems.extend(signature_problems(form=offer.form, members=offer.members, files=files))
    envelopes = {e.type: e for e in offer.envelopes.all()}
    if not envelopes["C"].sealed_data:
        problems.append(_("Compila i valori dell'offerta economica (ribasso, tempo, costi)."))
    else:
        # The bidder may still read its own draft; figures and words must agree (D-10).
        eco = json.loads(
            sealing.unseal(
                offer.lot.tender,
                bytes(envelopes["C"].sealed_data),
                context=f"data:{envelopes['C'].pk}",
            )
        )
        _resolved, resolutions = resolve_economic(eco)
        problems.extend(r.note for r in resolutions if r.note)
    if not envelopes["B"].sealed_data:
        problems.append(_("Compila le risposte dell'offerta tabellare (All. 2)."))
    return problems


def require_strong_auth(loa) -> None:
    """Submitting, replacing and withdrawing need SPID L2/CIE or more (R-GARE-002, R-GARE-003)."""
    if (loa or 0) < STRONG_LOA:
        raise StrongAuthRequired(
            _(
                "Per presentare, sostituire o ritirare un'offerta è necessario l'accesso con SPID "
                "o CIE (livello di garanzia 2 o superiore)."
            )
        )


def offer_submit(
    *, user, offer: Offer, loa: int | None, confirm_problems: bool = False, now
) -> Offer:
    """Commit the offer (or replace the previous one) at server time `now` (S-06, S-19..S-21).

    `loa` is the level of assurance of the user's current authentication (the view reads it
    from the strong-authentication session): below 2 the commit is refused.
    """
    require_operator(user, offer.operator)
    lot = offer.lot
    if offer.status != OfferStatus.DRAFT:
        raise GareError(_("Questa offerta è già stata presentata."))
    if lot.tender.status != TenderStatus.PUBLISHED or not deadlines.submission_open(
        lot.tender, now
    ):
        suspended = lot.tender.status == TenderStatus.SUSPENDED
        message = closed_message(lot, now)
        _record_attempt(
            lot=lot,
            operator=offer.operator,
            user=user,
            now=now,
            outcome=AttemptOutcome.REJECTED_VALIDATION
            if suspended
            else AttemptOutcome.REJECTED_LATE,
            message=message,
        )
        audit(
            action="offerta rifiutata: fuori termine",
            actor=user,
            obj=lot,
            tender=lot.tender,
            now=now,
            payload={"operator": offer.operator_id},
        )
        raise GareError(message)
    require_strong_auth(loa)
    problems = offer_check(offer)
    if problems and not confirm_problems:
        raise GareError(
            _("Prima di inviare: %(list)s Se vuoi inviare comunque, conferma esplicitamente.")
            % {"list": " ".join(problems)}
        )
    with transaction.atomic():
        lot = lock_lot(lot)
        offer = Offer.objects.select_for_update().get(pk=offer.pk)
        if offer.status != OfferStatus.DRAFT:
            raise GareError(_("Questa offerta è già stata presentata."))
        participant, created = Participant.objects.select_for_update().get_or_create(
            lot=lot,
            operator=offer.operator,
            defaults={
                "display_name": offer.operator.name,
                "form": offer.form,
                "members": offer.members,
            },
        )
        previous = participant.current_offer
        if previous is not None and previous.status == OfferStatus.SUBMITTED:
            previous.status = OfferStatus.SUPERSEDED
            previous.save(update_fields=["status"])
        if not created:
            participant.resubmit()
        participant.form = offer.form
        participant.members = offer.members
        hashes = []
        for envelope in offer.envelopes.prefetch_related("files").order_by("type"):
            digest = hashlib.sha256()
            for f in sorted(envelope.files.all(), key=lambda f: f.sha256):
                digest.update(f.sha256.encode())
            if envelope.sealed_data:
                digest.update(hashlib.sha256(bytes(envelope.sealed_data)).hexdigest().encode())
            envelope.sha256 = digest.hexdigest()
            envelope.state = EnvelopeState.SEALED
            envelope.sealed_at = now
            envelope.save(update_fields=["sha256", "state", "sealed_at"])
            hashes.append(envelope.sha256)
        offer.manifest_sha256 = hashlib.sha256("".join(hashes).encode()).hexdigest()
        offer.version_no = (
            Offer.objects.filter(lot=lot, operator=offer.operator).aggregate(m=Max("version_no"))[
                "m"
            ]
            or 0
        ) + 1
        offer.status = OfferStatus.SUBMITTED
        offer.submitted_at = now
        offer.participant = participant
        offer.receipt_no = new_receipt_no("OFF", now)
        offer.unsigned_confirmed = bool(problems)
        offer.save()
        participant.current_offer = offer
        participant.save()
        _record_attempt(
            lot=lot,
            operator=offer.operator,
            user=user,
            now=now,
            outcome=AttemptOutcome.ACCEPTED,
            message=offer.receipt_no,
        )
        audit(
            action="offerta presentata" if previous is None else "offerta sostituita",
            actor=user,
            obj=offer,
            tender=lot.tender,
            now=now,
            to_state=offer.status,
            payload={
                "receipt": offer.receipt_no,
                "manifest": offer.manifest_sha256,
                "version": offer.version_no,
                "warnings": problems,
            },
        )
        notify(
            recipients=list(operator_users(offer.operator)),
            template="gare_receipt",
            context={
                "message": _("La tua offerta per la gara %(code)s è stata ricevuta.")
                % {"code": lot.tender.code},
                "receipt_no": offer.receipt_no,
                "at": fmt_dt(now),
                "manifest": offer.manifest_sha256,
                "tender_code": lot.tender.code,
            },
            organisation=offer.operator,
            url=reverse("gare:receipt", args=[offer.pk]),
            now=now,
        )
    return offer


def offer_withdraw(*, user, offer: Offer, loa: int | None, now) -> Offer:
    """Withdraw the submitted offer before the deadline; a receipt is issued (S-19, S-21)."""
    require_operator(user, offer.operator)
    lot = offer.lot
    if (
        not deadlines.submission_open(lot.tender, now)
        or lot.tender.status != TenderStatus.PUBLISHED
    ):
        suspended = lot.tender.status == TenderStatus.SUSPENDED
        message = closed_message(lot, now)
        _record_attempt(
            lot=lot,
            operator=offer.operator,
            user=user,
            now=now,
            outcome=AttemptOutcome.REJECTED_VALIDATION
            if suspended
            else AttemptOutcome.REJECTED_LATE,
            message=message,
        )
        if suspended:
            raise GareError(message)
        raise GareError(_("Il termine è scaduto: l'offerta non si può più ritirare."))
    require_strong_auth(loa)
    with transaction.atomic():
        lock_lot(lot)
        offer = Offer.objects.select_for_update().get(pk=offer.pk)
        if offer.status != OfferStatus.SUBMITTED:
            raise GareError(_("Solo l'offerta presentata e valida si può ritirare."))
        participant = Participant.objects.select_for_update().get(pk=offer.participant_id)
        offer.status = OfferStatus.WITHDRAWN
        offer.withdrawn_at = now
        offer.withdrawal_receipt_no = new_receipt_no("RIT", now)
        offer.save()
        participant.withdraw()
        participant.current_offer = None
        participant.save()
        _record_attempt(
            lot=lot,
            operator=offer.operator,
            user=user,
            now=now,
            outcome=AttemptOutcome.WITHDRAWN,
            message=offer.withdrawal_receipt_no,
        )
        audit(
            action="offerta ritirata",
            actor=user,
            obj=offer,
            tender=lot.tender,
            now=now,
            from_state=OfferStatus.SUBMITTED,
            to_state=OfferStatus.WITHDRAWN,
            payload={"receipt": offer.withdrawal_receipt_no},
        )
        notify(
            recipients=list(operator_users(offer.operator)),
            template="gare_receipt",
            context={
                "message": _("Il ritiro della tua offerta per la gara %(code)s è stato registrato.")
                % {"code": lot.tender.code},
                "receipt_no": offer.withdrawal_receipt_no,
                "at": fmt_dt(now),
                "manifest": "",
                "tender_code": lot.tender.code,
            },
            organisation=offer.operator,
            url=reverse("gare:receipt", args=[offer.pk]),
            now=now,
        )
    return offer


def close_submission_if_due(*, tender, now) -> bool:
    """Timer T04 (also run at request time): close submission and freeze the offers (§5.2)."""
    if tender.status != TenderStatus.PUBLISHED or deadlines.submission_open(tender, now):
        return False
    from .common import lock_tender

    with transaction.atomic():
        tender = lock_tender(tender)
        if tender.status != TenderStatus.PUBLISHED:
            return False
        tender.close_submission()
        tender.save()
        audit(
            action="termine offerte scaduto",
            actor=None,
            obj=tender,
            tender=tender,
            now=now,
            from_state=TenderStatus.PUBLISHED,
            to_state=tender.status,
        )
        for lot in tender.lots.select_for_update():
            count = lot.participants.filter(status=ParticipantStatus.SUBMITTED).count()
            before = lot.status
            if count:
                lot.close_with_offers()
            else:
                lot.close_deserted()
            lot.save()
            audit(
                action="presentazione chiusa",
                actor=None,
                obj=lot,
                tender=tender,
                now=now,
                from_state=before,
                to_state=lot.status,
                payload={"offers": count},
            )
    return True


def envelope_file_content(*, user, item: EnvelopeFile) -> bytes:
    """The plaintext of a file: only once its envelope has been opened in session (S-31)."""
    from .common import require_staff

    envelope = item.envelope
    tender = envelope.offer.lot.tender
    if envelope.state != EnvelopeState.OPENED:
        raise sealing.SealedError(
            _("La busta è sigillata: si potrà leggere solo dopo la sua apertura in seduta.")
        )
    require_staff(user, tender, roles=("rup", "board", "commissioner"))
    return _read_opened(item)


def _read_opened(item: EnvelopeFile) -> bytes:
    envelope = item.envelope
    if envelope.state != EnvelopeState.OPENED:
        raise sealing.SealedError(
            _("La busta è sigillata: si potrà leggere solo dopo la sua apertura in seduta.")
        )
    tender = envelope.offer.lot.tender
    with default_storage.open(item.storage_name, "rb") as fh:
        blob = fh.read()
    return sealing.unseal(tender, blob, context=f"file:{envelope.pk}:{item.sha256}")


def envelope_data(envelope: Envelope) -> dict:
    """Structured data of an opened envelope (B tabular answers, C economic figures)."""
    if envelope.state != EnvelopeState.OPENED:
        raise sealing.SealedError(
            _("La busta è sigillata: si potrà leggere solo dopo la sua apertura in seduta.")
        )
    if not envelope.sealed_data:
        return {}
    tender = envelope.offer.lot.tender
    return json.loads(sealing.unseal(tender, envelope.sealed_data, context=f"data:{envelope.pk}"))


def draft_envelope_data(*, user, envelope: Envelope) -> dict:
    """The bidder re-reads its own figures while the offer is still in preparation."""
    require_operator(user, envelope.offer.operator)
    if envelope.offer.status != OfferStatus.DRAFT or not envelope.sealed_data:
        return {}
    tender = envelope.offer.lot.tender
    return json.loads(sealing.unseal(tender, envelope.sealed_data, context=f"data:{envelope.pk}"))
