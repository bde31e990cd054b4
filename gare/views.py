"""Pages of the tenders app: parse the request, call one service, render."""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from procurement.accounts.access import organisations_of
from procurement.accounts.models import Organisation, Role, User
from procurement.accounts.strongauth import current_loa, has_strong_auth, strong_login_url
from procurement.anac.operations import can_see_bodies, transmissions_for

from . import deadlines
from .amounts import resolve_economic
from .models import (
    AdminCheckItem,
    AnomalyReview,
    CheckOutcome,
    Clarification,
    ClarificationStatus,
    DocumentKind,
    EnvelopeFile,
    EnvelopeState,
    ImprovementOffer,
    LotStatus,
    Offer,
    OfferStatus,
    Participant,
    ParticipantStatus,
    ParticipationForm,
    RemedyRequest,
    SessionKind,
    SingleCentreCase,
    SubmissionAttempt,
    TenderStatus,
)
from .pcp import notice_code
from .sealing import SealedError
from .selectors import (
    communications_for,
    get_lot_for_manager,
    get_lot_for_user,
    get_offer_for_operator,
    get_tender_for_user,
    tenders_visible_to,
)
from .services import admincheck, correction, suspension, transmissions
from .services import clarifications as clar_services
from .services import procedure as proc
from .services import submission as sub
from .services import tenders as tender_services
from .services.common import GareError, is_staff_of, operator_orgs
from .services.documents import may_see_offered_values


def _aware(value: str):
    parsed = parse_datetime(value or "")
    if parsed is None:
        raise GareError(_("Indica data e ora nel formato previsto."))
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


@login_required
def landing(request):
    tenders = (
        tenders_visible_to(request.user).filter(is_template=False).select_related("organisation")
    )
    templates_ = tenders_visible_to(request.user).filter(is_template=True)
    staff_orgs = organisations_of(request.user, roles=[Role.RUP])
    return render(
        request,
        "gare/landing.html",
        {"tenders": tenders, "templates": templates_, "can_create": staff_orgs.exists()},
    )


@login_required
@require_POST
def tender_create(request):
    org = organisations_of(request.user, roles=[Role.RUP]).first()
    if org is None:
        raise PermissionDenied(_("Solo il RUP della stazione appaltante crea una gara."))
    delegating = Organisation.objects.filter(code="comune-bellinzago").first()
    now = timezone.now()
    tender = tender_services.tender_create_from_reference(
        user=request.user, organisation=org, delegating_entity=delegating, now=now
    )
    messages.success(
        request, _("Gara creata dal modello: completa termini e documenti, poi pubblica.")
    )
    return redirect("gare:tender", tender.pk)


@login_required
def tender_detail(request, pk):
    tender = get_tender_for_user(request.user, pk)
    staff = is_staff_of(request.user, tender)
    lots = list(tender.lots.prefetch_related("categories"))
    context = {
        "tender": tender,
        "lots": lots,
        "staff": staff,
        "documents": tender.documents.select_related("document"),
        "document_kinds": DocumentKind.choices,
        "problems": tender_services.publication_problems(tender)
        if staff and tender.status == TenderStatus.DRAFT
        else [],
        "clarifications": tender.clarifications.filter(status=ClarificationStatus.PUBLISHED),
        "operator": operator_orgs(request.user).first(),
        "questions_open": deadlines.questions_open(tender, timezone.now()),
        "suspension": suspension.current_suspension(tender),
        "submission_open": tender.status == TenderStatus.PUBLISHED
        and deadlines.submission_open(tender, timezone.now()),
        "scheme_rows": _scheme_rows(tender),
        **_transmissions_context(request.user, tender, staff),
    }
    return render(request, "gare/tender_detail.html", context)


def _transmissions_context(user, tender, staff) -> dict:
    """The tender's ANAC transmissions (R-GARE-145): appalto, schede and Log Trasmissioni."""
    appalto = tender.pcp_appalto if staff else None
    context = {
        "appalto": appalto,
        "uses_pcp": transmissions.uses_pcp(tender),
        "notice_code": notice_code(tender),
    }
    if appalto is not None:
        labels = {
            "CREATO": _("Creato, da pubblicare"),
            "IN_ATT_PUBB": _("Accettato da ANAC, in attesa di pubblicazione"),
            "PUBB": _("Pubblicato"),
            "NON_PUBB": _("Non pubblicato"),
            "STOP_PUBB": _("Pubblicazione sospesa"),
            "CANC": _("Cancellato"),
        }
        context["avviso_label"] = labels.get(appalto.avviso_state, appalto.avviso_state)
        context.update(
            pcp_schede=list(appalto.schede.order_by("created_at")),
            transmission_rows=list(transmissions_for(appalto)[:100]),
            show_bodies=can_see_bodies(user, appalto),
        )
    return context


def _scheme_rows(tender):
    rows = []

    def walk(criteria, depth):
        for c in criteria:
            rows.append(
                {
                    "code": c.get("code"),
                    "title": c.get("title"),
                    "max": c.get("max_points"),
                    "kind": c.get("kind"),
                    "depth": depth,
                }
            )
            walk(c.get("children") or [], depth + 1)

    walk((tender.scheme or {}).get("criteria") or [], 0)
    return rows


@login_required
def tender_edit(request, pk):
    tender = get_tender_for_user(request.user, pk)
    if not is_staff_of(request.user, tender):
        raise Http404
    lot = tender.lots.first()
    if request.method == "POST":
        try:
            data = {
                "code": request.POST["code"],
                "title": request.POST["title"],
                "questions_deadline": _aware(request.POST["questions_deadline"]),
                "offer_deadline": _aware(request.POST["offer_deadline"]),
                "first_session_at": _aware(request.POST["first_session_at"]),
                "lot_cig": request.POST["cig"].strip().upper(),
            }
            tender_services.tender_update(
                user=request.user, tender=tender, data=data, now=timezone.now()
            )
        except GareError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Configurazione salvata."))
            return redirect("gare:tender", tender.pk)

    def local_input(value):
        return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M") if value else ""

    return render(
        request,
        "gare/tender_edit.html",
        {
            "tender": tender,
            "lot": lot,
            "manual_cig": transmissions.manual_cig_allowed() and not lot.cig_from_pcp,
            "values": {
                "questions_deadline": local_input(tender.questions_deadline),
                "offer_deadline": local_input(tender.offer_deadline),
                "first_session_at": local_input(tender.first_session_at),
            },
        },
    )


@login_required
@require_POST
def tender_document_upload(request, pk):
    tender = get_tender_for_user(request.user, pk)
    try:
        upload = request.FILES.get("file")
        if upload is None:
            raise GareError(_("Scegli il file da caricare."))
        tender_services.tender_document_add(
            user=request.user,
            tender=tender,
            kind=request.POST.get("kind", DocumentKind.OTHER),
            title=request.POST.get("title", ""),
            uploaded_file=upload,
            now=timezone.now(),
        )
    except GareError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Documento caricato."))
    return redirect("gare:tender", tender.pk)


@login_required
@require_POST
def tender_publish(request, pk):
    tender = get_tender_for_user(request.user, pk)
    now = timezone.now()
    try:
        if transmissions.uses_pcp(tender):
            actor = transmissions.actor_for(user=request.user, request=request, tender=tender)
            transmissions.tender_publish_request(
                user=request.user, tender=tender, actor=actor, now=now
            )
            tender.refresh_from_db()
            if tender.status == TenderStatus.PUBLISHED:
                messages.success(request, _("Gara pubblicata."))
            else:
                messages.info(
                    request,
                    _(
                        "Bando inviato ad ANAC: la gara sarà pubblicata appena ANAC lo avrà "
                        "accettato e avrà assegnato i CIG."
                    ),
                )
        else:
            tender_services.tender_publish(user=request.user, tender=tender, now=now)
            messages.success(request, _("Gara pubblicata."))
    except GareError as exc:
        messages.error(request, exc.message)
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("Operazione non consentita."))
    return redirect("gare:tender", tender.pk)


@login_required
@require_POST
def tender_cancel(request, pk):
    tender = get_tender_for_user(request.user, pk)
    now = timezone.now()
    try:
        actor = None
        if tender.pcp_appalto_id and tender.pcp_appalto.id_appalto:
            actor = transmissions.actor_for(user=request.user, request=request, tender=tender)
        transmissions.tender_cancel(
            user=request.user,
            tender=tender,
            act=request.POST.get("act", ""),
            reason=request.POST.get("reason", ""),
            actor=actor,
            now=now,
        )
    except GareError as exc:
        messages.error(request, exc.message)
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("Operazione non consentita."))
    else:
        messages.success(request, _("Gara annullata: i concorrenti sono stati avvisati."))
    return redirect("gare:tender", tender.pk)


# --- clarifications and communications ------------------------------------------------------


@login_required
def clarifications(request, pk):
    tender = get_tender_for_user(request.user, pk)
    staff = is_staff_of(request.user, tender)
    now = timezone.now()
    if request.method == "POST":
        operator = operator_orgs(request.user).first()
        try:
            if operator is None:
                raise GareError(_("Solo un operatore economico può porre quesiti."))
            clar_services.clarification_ask(
                user=request.user,
                tender=tender,
                operator=operator,
                text=request.POST.get("text", ""),
                now=now,
            )
        except GareError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, _("Quesito inviato: la risposta sarà pubblicata in forma anonima.")
            )
        return redirect("gare:clarifications", tender.pk)
    items = (
        tender.clarifications.all()
        if staff
        else tender.clarifications.filter(status=ClarificationStatus.PUBLISHED)
    )
    return render(
        request,
        "gare/clarifications.html",
        {
            "tender": tender,
            "items": items,
            "staff": staff,
            "answers_deadline": deadlines.answers_deadline(tender),
            "questions_open": deadlines.questions_open(tender, now),
            "operator": operator_orgs(request.user).first(),
        },
    )


@login_required
@require_POST
def clarification_answer(request, pk):
    item = get_object_or_404(Clarification, pk=pk)
    get_tender_for_user(request.user, item.tender_id)
    try:
        clar_services.clarification_answer(
            user=request.user,
            clarification=item,
            published_question=request.POST.get("published_question", ""),
            answer=request.POST.get("answer", ""),
            override=bool(request.POST.get("override")),
            now=timezone.now(),
        )
    except GareError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Risposta pubblicata a tutti in forma anonima."))
    return redirect("gare:clarifications", item.tender_id)


@login_required
def communications(request):
    return render(request, "gare/communications.html", {"items": communications_for(request.user)})


@login_required
@require_POST
def communication_read(request, pk):
    comm = get_object_or_404(communications_for(request.user), pk=pk)
    clar_services.communication_mark_read(user=request.user, communication=comm, now=timezone.now())
    return redirect("gare:communications")


# --- the bidder's offer ---------------------------------------------------------------------


def _operator_for(request):
    operator = operator_orgs(request.user).first()
    if operator is None:
        raise PermissionDenied(
            _("Per presentare un'offerta devi operare per un operatore economico.")
        )
    return operator


@login_required
def offer_page(request, pk):
    lot = get_lot_for_user(request.user, pk)
    operator = _operator_for(request)
    now = timezone.now()
    draft = Offer.objects.filter(lot=lot, operator=operator, status=OfferStatus.DRAFT).first()
    participant = (
        Participant.objects.filter(lot=lot, operator=operator)
        .select_related("current_offer")
        .first()
    )
    envelopes = []
    if draft:
        for env in draft.envelopes.prefetch_related("files"):
            data = (
                sub.draft_envelope_data(user=request.user, envelope=env) if env.type != "A" else {}
            )
            envelopes.append(
                {"env": env, "requirements": sub.requirements_for(env.type), "data": data}
            )
    context = {
        "lot": lot,
        "tender": lot.tender,
        "operator": operator,
        "draft": draft,
        "envelopes": envelopes,
        "problems": sub.offer_check(draft) if draft else [],
        "participant": participant,
        "offers": Offer.objects.filter(lot=lot, operator=operator).exclude(
            status=OfferStatus.DRAFT
        ),
        "attempts": SubmissionAttempt.objects.filter(lot=lot, operator=operator)[:20],
        "open": lot.tender.status == TenderStatus.PUBLISHED
        and deadlines.submission_open(lot.tender, now),
        "forms": ParticipationForm.choices,
        "remedies": RemedyRequest.objects.filter(participant=participant, outcome="")
        if participant
        else [],
        "improvements": ImprovementOffer.objects.filter(
            participant=participant, submitted_at__isnull=True
        )
        if participant
        else [],
        "anomalies": AnomalyReview.objects.filter(participant=participant, outcome="")
        if participant
        else [],
        "server_now": now,
        "suspension": suspension.current_suspension(lot.tender),
        "strong": has_strong_auth(request, now),
        "strong_login": strong_login_url(request.get_full_path()),
        "access": _access_listing(participant),
    }
    return render(request, "gare/offer.html", context)


def _access_listing(participant):
    from .services.access import access_rights

    if participant is None:
        return []
    rights = access_rights(participant)
    others = Participant.objects.filter(pk__in=rights.offers).select_related("current_offer")
    return [
        {
            "p": p,
            "files": EnvelopeFile.objects.filter(
                envelope__offer=p.current_offer, envelope__type__in=["B", "C"]
            ),
        }
        for p in others
    ]


@login_required
def access_file(request, pk, file_pk):
    from .services.access import access_file_content

    lot = get_lot_for_user(request.user, pk)
    operator = _operator_for(request)
    participant = get_object_or_404(Participant, lot=lot, operator=operator)
    item = get_object_or_404(EnvelopeFile.objects.select_related("envelope__offer"), pk=file_pk)
    try:
        data = access_file_content(user=request.user, participant=participant, item=item)
    except (GareError, SealedError) as exc:
        return HttpResponse(
            getattr(exc, "message", str(exc)), status=403, content_type="text/plain; charset=utf-8"
        )
    response = HttpResponse(data, content_type=item.content_type)
    response["Content-Disposition"] = f'attachment; filename="{item.original_name}"'
    return response


@login_required
@require_POST
def offer_action(request, pk, action):
    lot = get_lot_for_user(request.user, pk)
    operator = _operator_for(request)
    now = timezone.now()
    post = request.POST
    try:
        draft = Offer.objects.filter(lot=lot, operator=operator, status=OfferStatus.DRAFT).first()
        if action == "prepara":
            sub.offer_draft(
                user=request.user,
                lot=lot,
                operator=operator,
                form=post.get("form") or ParticipationForm.SINGLE,
                members=[m.strip() for m in post.get("members", "").splitlines() if m.strip()],
                now=now,
            )
            messages.success(request, _("Offerta in preparazione: carica i documenti nelle buste."))
        elif draft is None and action in {"file", "dati", "invia", "elimina"}:
            raise GareError(_("Prepara prima una nuova offerta."))
        elif action == "file":
            upload = request.FILES.get("file")
            if upload is None:
                raise GareError(_("Scegli il file da caricare."))
            item = sub.envelope_file_add(
                user=request.user,
                offer=draft,
                envelope_type=post.get("envelope", ""),
                requirement_code=post.get("requirement", ""),
                uploaded_file=upload,
                now=now,
            )
            if item.signature_ok or not sub.BY_CODE[item.requirement_code].signed:
                messages.success(request, _("File caricato e cifrato."))
            else:
                messages.warning(
                    request,
                    _("File caricato, ma senza una firma digitale valida: %(m)s")
                    % {"m": item.signature_report.get("message", "")},
                )
        elif action == "elimina":
            item = get_object_or_404(EnvelopeFile, pk=post.get("file"), envelope__offer=draft)
            sub.envelope_file_remove(user=request.user, item=item, now=now)
            messages.success(request, _("File eliminato."))
        elif action == "dati":
            sub.envelope_data_set(
                user=request.user,
                offer=draft,
                envelope_type=post.get("envelope", ""),
                data=post,
                now=now,
            )
            messages.success(request, _("Dati salvati e cifrati."))
        elif action == "invia":
            offer = sub.offer_submit(
                user=request.user,
                offer=draft,
                loa=current_loa(request, now),
                confirm_problems=bool(post.get("confirm")),
                now=now,
            )
            messages.success(
                request, _("Offerta presentata. Ricevuta n. %(n)s.") % {"n": offer.receipt_no}
            )
            return redirect("gare:receipt", offer.pk)
        elif action == "ritira":
            offer = get_object_or_404(
                Offer, lot=lot, operator=operator, status=OfferStatus.SUBMITTED
            )
            sub.offer_withdraw(
                user=request.user, offer=offer, loa=current_loa(request, now), now=now
            )
            messages.success(
                request,
                _("Offerta ritirata. Ricevuta n. %(n)s.") % {"n": offer.withdrawal_receipt_no},
            )
        elif action == "soccorso":
            remedy = get_object_or_404(
                RemedyRequest, pk=post.get("id"), participant__operator=operator
            )
            proc.remedy_respond(
                user=request.user, remedy=remedy, text=post.get("text", ""), now=now
            )
            messages.success(request, _("Risposta al soccorso istruttorio inviata."))
        elif action == "migliorativa":
            imp = get_object_or_404(
                ImprovementOffer, pk=post.get("id"), participant__operator=operator
            )
            proc.improvement_submit(
                user=request.user, improvement=imp, discount=post.get("discount", ""), now=now
            )
            messages.success(request, _("Offerta migliorativa presentata."))
        elif action == "spiegazioni":
            review = get_object_or_404(
                AnomalyReview, pk=post.get("id"), participant__operator=operator
            )
            proc.anomaly_explain(
                user=request.user, review=review, text=post.get("text", ""), now=now
            )
            messages.success(request, _("Spiegazioni inviate."))
        else:
            raise Http404
    except GareError as exc:
        messages.error(request, exc.message)
    return redirect("gare:offer", lot.pk)


@login_required
def receipt(request, pk):
    offer = get_offer_for_operator(request.user, pk)
    envelopes = offer.envelopes.prefetch_related("files")
    return render(request, "gare/receipt.html", {"offer": offer, "envelopes": envelopes})


# --- the procedure page (RUP, seggio, commission) --------------------------------------------


PARTICIPANTS_PER_PAGE = 25


@login_required
def lot_procedure(request, pk):
    lot = get_lot_for_manager(request.user, pk)
    now = timezone.now()
    sub.close_submission_if_due(tender=lot.tender, now=now)
    lot.refresh_from_db()
    staff = is_staff_of(request.user, lot.tender, roles=(Role.RUP, Role.BOARD))
    # S-32: before the deadline nobody, the SA included, sees who has submitted.
    show_participants = lot.status != LotStatus.OPEN_FOR_SUBMISSION
    page = None
    rows = []
    counts = {}
    if show_participants:
        queryset = lot.participants.exclude(status=ParticipantStatus.WITHDRAWN).order_by("pk")
        counts = dict(queryset.values_list("status").annotate(n=Count("pk")).order_by())
        status_filter = request.GET.get("stato", "")
        if status_filter in ParticipantStatus.values:
            queryset = queryset.filter(status=status_filter)
        # 200 offers made the page slow (every row decrypted and rendered with its forms): the
        # participants are shown a page at a time, with their status counts above.
        queryset = queryset.select_related(
            "operator", "current_offer__lot__tender"
        ).prefetch_related(
            "remedies",
            "exclusions",
            "check_items",
            "current_offer__envelopes__files",
            admincheck.anac_fee_prefetch(),
        )
        page = Paginator(queryset, PARTICIPANTS_PER_PAGE).get_page(request.GET.get("pagina"))
        participants = list(page.object_list)
        for p in participants:
            envs = {e.type: e for e in p.current_offer.envelopes.all()} if p.current_offer else {}
            economic = {}
            if "C" in envs and envs["C"].state == EnvelopeState.OPENED:
                # The values that count: figures vs words resolved for the SA (D-10, D-51).
                economic, _resolutions = resolve_economic(sub.envelope_data(envs["C"]))
            items = list(p.check_items.all())
            rows.append(
                {
                    "p": p,
                    "envs": envs,
                    "economic": economic,
                    "remedies": list(p.remedies.all()),
                    "exclusions": list(p.exclusions.all()),
                    "check_items": items,
                    "defects": [i for i in items if i.outcome in admincheck.DEFECTS],
                    "anac": (p.anac_checks or [None])[0],
                }
            )
    commissioners = User.objects.filter(
        memberships__organisation=lot.tender.organisation, memberships__role=Role.COMMISSIONER
    ).distinct()
    member = lot.commission.filter(user=request.user).first()
    context = {
        "lot": lot,
        # Matrix row 26: the tender board does not see offered values.
        "hide_offered_values": not may_see_offered_values(request.user, lot),
        "tender": lot.tender,
        "staff": staff,
        "rows": rows,
        "page": page,
        "counts": [(ParticipantStatus(k).label, v) for k, v in counts.items()],
        "status_choices": ParticipantStatus.choices,
        "status_filter": request.GET.get("stato", ""),
        "show_participants": show_participants,
        "sessions": lot.sessions.all(),
        "commission": proc.members_of(lot),
        "commissioners": commissioners,
        "member": member,
        "is_president": bool(member and member.is_president),
        "run": proc.latest_run(lot),
        "runs": lot.runs.only("version", "reason", "stage", "created_at", "note", "supersedes_id"),
        "reopenings": lot.reopenings.filter(closed_at__isnull=True),
        "criteria": proc.discretionary_codes(proc.scheme_of(lot)),
        "cases": lot.single_centre_cases.prefetch_related("participants"),
        "suspension": suspension.current_suspension(lot.tender),
        "outcomes": [(v, label) for v, label in CheckOutcome.choices if v != CheckOutcome.TO_CHECK],
        "anac_outcomes": admincheck.ANAC_OUTCOME_CHOICES,
        "award": proc.current_award(lot),
        "reviews": lot.anomaly_reviews.select_related("participant"),
        "improvements": ImprovementOffer.objects.filter(participant__lot=lot).select_related(
            "participant"
        ),
        "session_kinds": [
            (SessionKind.TECH_OPENING, SessionKind.TECH_OPENING.label),
            (SessionKind.ECON_OPENING, SessionKind.ECON_OPENING.label),
        ],
        "now": now,
    }
    return render(request, "gare/lot.html", context)


def _int(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        raise GareError(_("Indica il numero di giorni.")) from None


def _money(value):
    text = (value or "").strip().replace("€", "").replace(" ", "")
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        raise GareError(_("Importo non valido: usa il formato 12.345,67.")) from None


def _anac_outcome_message(request, lot, scheda, done: str) -> None:
    """After a click that waits for ANAC: done at once (inline dispatch) or pending."""
    lot.refresh_from_db()
    if not lot.pcp_pending:
        messages.success(request, done)
    else:
        messages.info(
            request,
            _(
                "Scheda %(code)s inviata ad ANAC: l'operazione sarà registrata appena ANAC la "
                "avrà confermata."
            )
            % {"code": scheda.code},
        )


def _participant(lot, post):
    return get_object_or_404(Participant, pk=post.get("participant"), lot=lot)


@login_required
@require_POST
def lot_action(request, pk, action):
    lot = get_lot_for_manager(request.user, pk)
    now = timezone.now()
    post = request.POST
    user = request.user
    try:
        if action == "apri-a":
            proc.session_start(user=user, lot=lot, kind=SessionKind.ADMIN_OPENING, now=now)
            messages.success(
                request, _("Prima seduta avviata: buste A aperte; B e C restano sigillate.")
            )
        elif action == "ammetti":
            proc.admin_check_admit(
                user=user, participant=_participant(lot, post), note=post.get("note", ""), now=now
            )
        elif action == "soccorso":
            deadline = now + datetime.timedelta(days=_int(post.get("days")))
            proc.remedy_request_send(
                user=user,
                participant=_participant(lot, post),
                items=post.get("items", ""),
                check_codes=post.getlist("codes"),
                deadline=deadline,
                now=now,
            )
            messages.success(request, _("Richiesta di soccorso istruttorio inviata."))
        elif action == "contributo-anac":
            admincheck.anac_fee_check(
                user=user,
                participant=_participant(lot, post),
                outcome=post.get("outcome", ""),
                note=post.get("note", ""),
                now=now,
            )
            messages.success(request, _("Verifica del contributo ANAC registrata."))
        elif action == "voce":
            item = get_object_or_404(AdminCheckItem, pk=post.get("item"), participant__lot=lot)
            admincheck.check_item_record(
                user=user,
                item=item,
                outcome=post.get("outcome", ""),
                remediable=post.get("remediable") == "on",
                note=post.get("note", ""),
                now=now,
            )
        elif action == "chiarimenti-soccorso":
            remedy = get_object_or_404(RemedyRequest, pk=post.get("remedy"), participant__lot=lot)
            admincheck.remedy_further_clarification(
                user=user,
                remedy=remedy,
                items=post.get("items", ""),
                deadline=now + datetime.timedelta(days=_int(post.get("days"))),
                now=now,
            )
            messages.success(request, _("Richiesta di ulteriori chiarimenti inviata."))
        elif action == "unico-centro-avviso":
            case = get_object_or_404(SingleCentreCase, pk=post.get("case"), lot=lot)
            admincheck.single_centre_notify(user=user, case=case, now=now)
            messages.success(request, _("Concorrenti avvisati: 5 giorni per le controdeduzioni."))
        elif action == "unico-centro-esito":
            case = get_object_or_404(SingleCentreCase, pk=post.get("case"), lot=lot)
            admincheck.single_centre_decide(
                user=user,
                case=case,
                single_centre=post.get("outcome") == "ko",
                reasons=post.get("reasons", ""),
                now=now,
            )
        elif action == "sospendi":
            suspension.tender_suspend(
                user=user,
                tender=lot.tender,
                reason=post.get("reason", ""),
                malfunction_from=_aware(post.get("malfunction_from", "")),
                now=now,
            )
            messages.success(
                request, _("Procedura sospesa: la presentazione delle offerte è bloccata.")
            )
        elif action == "riprendi":
            suspension.tender_resume(
                user=user,
                tender=lot.tender,
                new_deadline=_aware(post.get("new_deadline", "")),
                malfunction_to=_aware(post.get("malfunction_to", "")),
                notice_amendment_ref=post.get("amendment", ""),
                now=now,
            )
            messages.success(request, _("Procedura ripresa con il nuovo termine delle offerte."))
        elif action == "riapri-criterio":
            correction.criterion_reopen(
                user=user,
                lot=lot,
                criterion=post.get("criterion", ""),
                reason=post.get("reason", ""),
                now=now,
            )
            messages.success(request, _("Criterio riaperto: i commissari possono correggere."))
        elif action == "chiudi-criterio":
            run = correction.criterion_correction_close(
                user=user, lot=lot, criterion=post.get("criterion", ""), now=now
            )
            messages.success(
                request, _("Nuovo calcolo v%(v)s (rettifica) pubblicato.") % {"v": run.version}
            )
        elif action == "esito-soccorso":
            remedy = get_object_or_404(RemedyRequest, pk=post.get("remedy"), participant__lot=lot)
            proc.remedy_decide(
                user=user, remedy=remedy, remedied=post.get("outcome") == "ok", now=now
            )
        elif action == "escludi":
            proc.exclusion_adopt(
                user=user,
                participant=_participant(lot, post),
                phase=post.get("phase", "ADMIN_CHECK"),
                grounds=post.get("grounds", ""),
                now=now,
            )
            messages.success(request, _("Esclusione adottata e comunicata."))
        elif action == "ammissioni":
            proc.admissions_adopt(user=user, lot=lot, now=now)
            messages.success(request, _("Provvedimento di ammissione adottato e comunicato."))
        elif action == "commissione":
            ids = post.getlist("members")
            members = list(User.objects.filter(pk__in=ids))
            president = User.objects.filter(pk=post.get("president")).first()
            proc.commission_appoint(
                user=user, lot=lot, members=members, president=president, now=now
            )
            messages.success(request, _("Commissione nominata."))
        elif action == "dichiarazione":
            proc.commissioner_declare(user=user, lot=lot, now=now)
            messages.success(request, _("Dichiarazione registrata."))
        elif action == "convoca":
            proc.session_schedule(
                user=user,
                lot=lot,
                kind=post.get("kind", ""),
                scheduled_at=_aware(post.get("scheduled_at", "")),
                now=now,
            )
            messages.success(request, _("Seduta convocata e comunicata ai concorrenti ammessi."))
        elif action == "apri-b":
            proc.session_start(user=user, lot=lot, kind=SessionKind.TECH_OPENING, now=now)
            messages.success(request, _("Buste B aperte in seduta pubblica."))
        elif action == "chiudi-seduta":
            proc.technical_session_close(user=user, lot=lot, now=now)
        elif action == "punteggi-tecnici":
            proc.technical_finalise(user=user, lot=lot, now=now)
            messages.success(request, _("Punteggi tecnici calcolati e pubblicati."))
        elif action == "apri-c":
            proc.session_start(user=user, lot=lot, kind=SessionKind.ECON_OPENING, now=now)
            messages.success(request, _("Buste C aperte: valori offerti pubblicati."))
        elif action == "graduatoria":
            proc.ranking_compute(user=user, lot=lot, now=now)
            return redirect("gare:ranking", lot.pk)
        elif action == "migliorative":
            proc.improvements_open(user=user, lot=lot, now=now)
        elif action == "sorteggio":
            proc.draw_conduct(user=user, lot=lot, now=now)
        elif action == "anomalia":
            received = now
            deadline = now + datetime.timedelta(days=int(post.get("days") or 15))
            proc.anomaly_open(
                user=user,
                lot=lot,
                participant=_participant(lot, post),
                components=post.get("components", ""),
                received_at=received,
                deadline=deadline,
                now=now,
            )
        elif action == "esito-anomalia":
            review = get_object_or_404(AnomalyReview, pk=post.get("review"), lot=lot)
            proc.anomaly_conclude(
                user=user, review=review, congruous=post.get("outcome") == "ok", now=now
            )
        elif action == "proposta":
            proc.award_propose(user=user, lot=lot, now=now)
            messages.success(request, _("Proposta di aggiudicazione formulata."))
        elif action == "verifica":
            proc.verification_start(user=user, lot=lot, now=now)
        elif action == "esito-verifica":
            proc.verification_record(
                user=user,
                lot=lot,
                positive=post.get("outcome") == "ok",
                note=post.get("note", ""),
                now=now,
            )
        elif action == "aggiudica" and lot.tender.pcp_appalto_id:
            actor = transmissions.actor_for(user=user, request=request, tender=lot.tender)
            scheda = transmissions.award_request(
                user=user,
                lot=lot,
                actor=actor,
                now=now,
                self_declaration_fallback=bool(post.get("fallback")),
            )
            _anac_outcome_message(request, lot, scheda, _("Aggiudicazione adottata e comunicata."))
        elif action == "aggiudica":
            proc.award_adopt(
                user=user, lot=lot, now=now, self_declaration_fallback=bool(post.get("fallback"))
            )
            messages.success(request, _("Aggiudicazione adottata e comunicata."))
        elif action in ("invia-s2", "invia-nag"):
            actor = transmissions.actor_for(user=user, request=request, tender=lot.tender)
            send = (
                transmissions.bidders_send if action == "invia-s2" else transmissions.no_award_send
            )
            scheda = send(user=user, lot=lot, actor=actor, now=now)
            messages.success(
                request,
                _(
                    "Scheda %(code)s inviata ad ANAC: l'esito compare nel registro delle "
                    "trasmissioni."
                )
                % {"code": scheda.code},
            )
        elif action == "comunica":
            from .services.common import communication_send, require_staff

            require_staff(user, lot.tender)
            participant = _participant(lot, post)
            if not post.get("subject", "").strip() or not post.get("body", "").strip():
                raise GareError(_("Indica oggetto e testo della comunicazione."))
            comm = communication_send(
                user=user,
                tender=lot.tender,
                operator=participant.operator,
                kind="OTHER",
                subject=post["subject"],
                body=post["body"],
                now=now,
            )
            messages.success(
                request, _("Comunicazione inviata: ricevuta n. %(n)s.") % {"n": comm.receipt_no}
            )
        elif action == "stipula":
            signed_on = parse_date(post.get("signed_on", ""))
            if signed_on is None:
                raise GareError(_("Indica la data di stipula."))
            if lot.tender.pcp_appalto_id:
                actor = transmissions.actor_for(user=user, request=request, tender=lot.tender)
                scheda = transmissions.sign_request(
                    user=user,
                    lot=lot,
                    signed_on=signed_on,
                    guarantee=_money(post.get("guarantee")),
                    actor=actor,
                    now=now,
                )
                _anac_outcome_message(request, lot, scheda, _("Stipula registrata."))
            else:
                proc.contract_sign(user=user, lot=lot, signed_on=signed_on, now=now)
        else:
            raise Http404
    except GareError as exc:
        messages.error(request, exc.message)
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("Operazione non consentita."))
    return redirect("gare:lot", lot.pk)


@login_required
def coefficients(request, pk):
    lot = get_lot_for_manager(request.user, pk)
    member = lot.commission.filter(user=request.user).first()
    if member is None:
        raise Http404
    scheme = proc.scheme_of(lot)
    codes = proc.discretionary_codes(scheme)
    participants = list(proc.admitted(lot))
    reopened = set(
        lot.reopenings.filter(closed_at__isnull=True).values_list("criterion", flat=True)
    )
    if request.method == "POST":
        errors = 0
        now = timezone.now()
        # After publication only the criteria the president reopened can change (AS-13 (4)).
        editable_codes = codes if lot.status == LotStatus.TECH_EVALUATION else sorted(reopened)
        for p in participants:
            for code in editable_codes:
                value = request.POST.get(f"c-{p.pk}-{code}", "").strip()
                if not value:
                    continue
                try:
                    proc.coefficient_enter(
                        user=request.user,
                        lot=lot,
                        participant=p,
                        criterion=code,
                        value=value,
                        now=now,
                    )
                except GareError as exc:
                    errors += 1
                    messages.error(request, f"{p} – {code}: {exc.message}")
        if not errors:
            messages.success(request, _("Coefficienti salvati."))
        return redirect("gare:coefficients", lot.pk)
    # AS-13: a commissioner sees only their own coefficients.
    own = {(c.participant_id, c.criterion): c.value for c in member.coefficients.all()}
    grid = [
        {"p": p, "cells": [{"code": code, "value": own.get((p.pk, code), "")} for code in codes]}
        for p in participants
    ]
    return render(
        request,
        "gare/coefficients.html",
        {
            "lot": lot,
            "codes": codes,
            "grid": grid,
            "scale": proc.scale_values(scheme),
            "editable": lot.status == LotStatus.TECH_EVALUATION or bool(reopened),
        },
    )


@login_required
def envelope_file_download(request, pk):
    item = get_object_or_404(
        EnvelopeFile.objects.select_related("envelope__offer__lot__tender"), pk=pk
    )
    get_lot_for_manager(request.user, item.envelope.offer.lot_id)
    try:
        data = sub.envelope_file_content(user=request.user, item=item)
    except SealedError as exc:
        return HttpResponse(str(exc), status=403, content_type="text/plain; charset=utf-8")
    response = HttpResponse(data, content_type=item.content_type)
    response["Content-Disposition"] = f'attachment; filename="{item.original_name}"'
    return response


def public_document(request, tender_pk, pk):
    """A document of a published notice, readable by anyone (art. 28 D.Lgs. 36/2023)."""
    from procurement.documents.services import document_version_content

    from .models import TenderDocument, TenderStatus

    item = get_object_or_404(
        TenderDocument.objects.select_related("tender", "document"), pk=pk, tender_id=tender_pk
    )
    if item.tender.is_template or item.tender.status == TenderStatus.DRAFT:
        raise Http404(_("Documento non trovato."))
    version = item.document.current_version
    if version is None:
        raise Http404(_("Documento non trovato."))
    response = HttpResponse(
        document_version_content(version=version), content_type=version.content_type
    )
    response["Content-Disposition"] = f'attachment; filename="{version.original_name}"'
    return response
