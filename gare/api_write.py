"""Write API of the economic operator's submission flow (token or session, as gare/api.py).

The endpoints call the services of the offer page (gare/views.py ``offer_page`` and
``offer_action``) and nothing else: the deadline at server time, the size limits, the
signatures, the strong authentication and the sealing are decided there, with the same
messages. Everything is scoped to the operator the user acts for (``operator_orgs``, as the
page): another operator's offer, file or receipt does not exist for the caller (404).

Strong authentication (SPID/CIE, LoA >= 2) is a property of the browser session
(``procurement.accounts.strongauth``): submitting, replacing and withdrawing through the API
work only with a session that logged in with SPID or CIE; a token carries no level of
assurance, so with a token the service refuses them (403, Italian message).

Nothing here returns the content of envelope B or C: no file is ever downloadable, and the
structured data of B and C is written, never read back (the answers say only whether it is
present). The list of problems of a draft (missing documents, figures vs words of C) is the
one the page shows to the same bidder before sending.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from procurement.accounts.strongauth import STRONG_LOA, current_loa, strong_login_url
from procurement.core.api import PROBLEM_CONTENT_TYPE, PROBLEM_RESPONSES, ProblemSerializer

from . import deadlines
from .models import (
    EnvelopeFile,
    EnvelopeType,
    Offer,
    OfferStatus,
    ParticipationForm,
    SubmissionAttempt,
    TenderStatus,
)
from .selectors import get_lot_for_user, get_offer_for_operator
from .services import submission as sub
from .services.common import GareError, StrongAuthRequired, operator_orgs

TAGS = ["gare"]
WRITE_PROBLEMS = {**PROBLEM_RESPONSES, (400, PROBLEM_CONTENT_TYPE): ProblemSerializer}
ENVELOPE_PARAM = OpenApiParameter(
    "envelope", str, OpenApiParameter.PATH, enum=list(EnvelopeType.values)
)


class Refused(exceptions.APIException):
    """A request the service refused (GareError): 400 with the service's Italian message."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = gettext_lazy("Richiesta non valida.")
    default_code = "refused"


def _refusal(exc: GareError, request=None, lot=None) -> exceptions.APIException:
    """The API shape of a service refusal; a missing SPID/CIE login is a 403."""
    if request is not None and isinstance(exc, StrongAuthRequired):
        if isinstance(request.successful_authenticator, SessionAuthentication):
            hint = _(
                "Accedi con SPID o CIE da %(url)s e ripeti la richiesta nella stessa sessione."
            )
            url = strong_login_url(reverse("gare:offer", args=[lot.pk]))
            return exceptions.PermissionDenied(f"{exc.message} {hint % {'url': url}}")
        hint = _(
            "Con l'autenticazione a token il livello di garanzia non è disponibile: usa una "
            "sessione in cui hai effettuato l'accesso con SPID o CIE."
        )
        return exceptions.PermissionDenied(f"{exc.message} {hint}")
    return Refused(exc.message)


def _loa(request, now) -> int | None:
    """The level of assurance of this request: only a session carries one, never a token."""
    if not isinstance(request.successful_authenticator, SessionAuthentication):
        return None
    return current_loa(request, now)


def _operator_for(request):
    operator = operator_orgs(request.user).first()
    if operator is None:
        raise exceptions.PermissionDenied(
            _("Per presentare un'offerta devi operare per un operatore economico.")
        )
    return operator


def _draft(lot, operator):
    return Offer.objects.filter(lot=lot, operator=operator, status=OfferStatus.DRAFT).first()


def _envelope_type(value: str) -> str:
    if value not in EnvelopeType.values:
        raise exceptions.NotFound(_("Le buste sono A, B e C."))
    return value


# --- output -----------------------------------------------------------------------------------


class RequirementOut(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    mandatory = serializers.BooleanField()
    signed = serializers.BooleanField(help_text="Richiede la firma digitale.")


class FileOut(serializers.Serializer):
    id = serializers.IntegerField()
    requirement_code = serializers.CharField()
    original_name = serializers.CharField()
    size = serializers.IntegerField(help_text="Byte.")
    sha256 = serializers.CharField()
    content_type = serializers.CharField()
    signature_ok = serializers.BooleanField()
    signature_message = serializers.CharField(
        help_text="Esito della verifica della firma (vuoto se valida o non richiesta)."
    )
    uploaded_at = serializers.DateTimeField()


class EnvelopeOut(serializers.Serializer):
    type = serializers.CharField(help_text="A, B o C.")
    label = serializers.CharField()
    state = serializers.CharField(help_text="EDITABLE, SEALED o OPENED.")
    size_bytes = serializers.IntegerField()
    has_data = serializers.BooleanField(
        help_text="Dati strutturati salvati (B: offerta tabellare, C: valori economici); "
        "i valori non sono mai restituiti."
    )
    sha256 = serializers.CharField(help_text="Impronta della busta (dopo l'invio).")
    files = FileOut(many=True)
    requirements = RequirementOut(many=True)


class OfferOut(serializers.Serializer):
    id = serializers.UUIDField()
    lot = serializers.IntegerField()
    status = serializers.CharField(help_text="DRAFT, SUBMITTED, SUPERSEDED o WITHDRAWN.")
    form = serializers.CharField()
    members = serializers.ListField(child=serializers.CharField())
    version_no = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    receipt_no = serializers.CharField()
    manifest_sha256 = serializers.CharField()
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    withdrawal_receipt_no = serializers.CharField()
    unsigned_confirmed = serializers.BooleanField()
    receipt_url = serializers.CharField(allow_null=True)


class DraftOut(OfferOut):
    envelopes = EnvelopeOut(many=True)
    problems = serializers.ListField(
        child=serializers.CharField(),
        help_text="Controlli prima dell'invio: documenti mancanti, firme, dati da compilare.",
    )


class AttemptOut(serializers.Serializer):
    at = serializers.DateTimeField()
    outcome = serializers.CharField()
    message = serializers.CharField()


class OfferStateOut(serializers.Serializer):
    lot = serializers.IntegerField()
    tender = serializers.UUIDField()
    operator = serializers.CharField()
    server_now = serializers.DateTimeField(help_text="Ora del server: vale solo questa.")
    offer_deadline = serializers.DateTimeField(allow_null=True)
    submission_open = serializers.BooleanField()
    strong_auth = serializers.BooleanField(
        help_text="La sessione ha un accesso SPID/CIE (necessario per inviare e ritirare)."
    )
    draft = DraftOut(allow_null=True)
    offers = OfferOut(many=True, help_text="Le offerte inviate, sostituite o ritirate.")
    attempts = AttemptOut(many=True, help_text="Gli ultimi 20 tentativi di invio e ritiro.")


class ReceiptFileOut(serializers.Serializer):
    original_name = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()


class ReceiptEnvelopeOut(serializers.Serializer):
    type = serializers.CharField()
    label = serializers.CharField()
    sha256 = serializers.CharField()
    sealed_at = serializers.DateTimeField(allow_null=True)
    files = ReceiptFileOut(many=True)


class ReceiptOut(OfferOut):
    tender_code = serializers.CharField()
    lot_title = serializers.CharField()
    operator = serializers.CharField()
    envelopes = ReceiptEnvelopeOut(many=True)


def _file(item: EnvelopeFile) -> dict:
    report = item.signature_report or {}
    return {
        "id": item.pk,
        "requirement_code": item.requirement_code,
        "original_name": item.original_name,
        "size": item.size,
        "sha256": item.sha256,
        "content_type": item.content_type,
        "signature_ok": item.signature_ok,
        "signature_message": "" if item.signature_ok else str(report.get("message", "")),
        "uploaded_at": item.uploaded_at,
    }


def _offer(offer: Offer) -> dict:
    return {
        "id": offer.pk,
        "lot": offer.lot_id,
        "status": offer.status,
        "form": offer.form,
        "members": list(offer.members or []),
        "version_no": offer.version_no,
        "created_at": offer.created_at,
        "submitted_at": offer.submitted_at,
        "receipt_no": offer.receipt_no,
        "manifest_sha256": offer.manifest_sha256,
        "withdrawn_at": offer.withdrawn_at,
        "withdrawal_receipt_no": offer.withdrawal_receipt_no,
        "unsigned_confirmed": offer.unsigned_confirmed,
        "receipt_url": reverse("gare:api_offer_receipt", args=[offer.pk])
        if offer.receipt_no
        else None,
    }


def _envelope(envelope) -> dict:
    return {
        "type": envelope.type,
        "label": envelope.get_type_display(),
        "state": envelope.state,
        "size_bytes": envelope.size_bytes,
        # Whether B or C holds data, never what: the values stay sealed (R-GARE secrecy).
        "has_data": bool(envelope.sealed_data),
        "sha256": envelope.sha256,
        "files": [_file(f) for f in envelope.files.all()],
        "requirements": [
            {"code": r.code, "label": str(r.label), "mandatory": r.mandatory, "signed": r.signed}
            for r in sub.requirements_for(envelope.type)
        ],
    }


def _draft_payload(offer: Offer) -> dict:
    envelopes = offer.envelopes.prefetch_related("files").order_by("type")
    return {
        **_offer(offer),
        "envelopes": [_envelope(e) for e in envelopes],
        "problems": [str(p) for p in sub.offer_check(offer)],
    }


# --- input ------------------------------------------------------------------------------------


class PrepareIn(serializers.Serializer):
    form = serializers.CharField(
        required=False,
        help_text="Forma di partecipazione: " + ", ".join(ParticipationForm.values) + ".",
    )
    members = serializers.ListField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text="Componenti (forme associate, ausiliarie), uno per elemento.",
    )


class FileIn(serializers.Serializer):
    requirement = serializers.CharField(
        help_text="Documento richiesto: " + ", ".join(sub.BY_CODE) + "."
    )
    file = serializers.FileField()


class TabularIn(serializers.Serializer):
    """Busta B: risposte dell'offerta tabellare (All. 2)."""

    A2 = serializers.CharField(required=False, help_text="Numero di lavori (intero).")
    D1 = serializers.BooleanField(required=False)
    D2 = serializers.CharField(required=False, help_text="Numero (intero).")
    D3 = serializers.BooleanField(required=False)


class EconomicIn(serializers.Serializer):
    """Busta C: valori dell'offerta economica (All. 4), importi come stringhe."""

    discount = serializers.CharField(required=False, allow_blank=True, help_text="Es. 12.50")
    discount_words = serializers.CharField(required=False, allow_blank=True)
    days = serializers.CharField(required=False, allow_blank=True, help_text="Giorni (intero).")
    days_words = serializers.CharField(required=False, allow_blank=True)
    company_safety_costs = serializers.CharField(required=False, allow_blank=True)
    labour_costs = serializers.CharField(required=False, allow_blank=True)


class SubmitIn(serializers.Serializer):
    confirm = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Invia anche con documenti mancanti o firme non valide (conferma esplicita).",
    )


# --- views ------------------------------------------------------------------------------------


class OfferState(APIView):
    """La propria offerta per un lotto: bozza con le buste (solo metadati dei file, mai il
    contenuto di B e C), offerte inviate con le ricevute, tentativi, termine e ora del server.
    POST prepara una nuova offerta (o aggiorna forma e componenti della bozza)."""

    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        operation_id="gare_offer_read",
        tags=TAGS,
        responses={200: OfferStateOut, **WRITE_PROBLEMS},
    )
    def get(self, request, pk):
        lot = get_lot_for_user(request.user, pk)
        operator = _operator_for(request)
        now = timezone.now()
        draft = _draft(lot, operator)
        offers = Offer.objects.filter(lot=lot, operator=operator).exclude(status=OfferStatus.DRAFT)
        attempts = SubmissionAttempt.objects.filter(lot=lot, operator=operator)[:20]
        payload = {
            "lot": lot.pk,
            "tender": lot.tender_id,
            "operator": operator.name,
            "server_now": now,
            "offer_deadline": lot.tender.offer_deadline,
            "submission_open": lot.tender.status == TenderStatus.PUBLISHED
            and deadlines.submission_open(lot.tender, now),
            "strong_auth": (_loa(request, now) or 0) >= STRONG_LOA,
            "draft": _draft_payload(draft) if draft else None,
            "offers": [_offer(o) for o in offers],
            "attempts": [
                {"at": a.at, "outcome": a.outcome, "message": a.message} for a in attempts
            ],
        }
        return Response(OfferStateOut(payload).data)

    @extend_schema(
        operation_id="gare_offer_prepare",
        tags=TAGS,
        request=PrepareIn,
        responses={200: DraftOut, 201: DraftOut, **WRITE_PROBLEMS},
    )
    def post(self, request, pk):
        lot = get_lot_for_user(request.user, pk)
        operator = _operator_for(request)
        data = PrepareIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        members = values.get("members")
        if members is not None:
            members = [m.strip() for m in members if m.strip()]
        existed = _draft(lot, operator) is not None
        try:
            offer = sub.offer_draft(
                user=request.user,
                lot=lot,
                operator=operator,
                form=values.get("form") or None,
                members=members,
                now=timezone.now(),
            )
        except GareError as exc:
            raise _refusal(exc) from exc
        return Response(
            DraftOut(_draft_payload(offer)).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )


def _require_draft(lot, operator) -> Offer:
    draft = _draft(lot, operator)
    if draft is None:
        raise Refused(_("Prepara prima una nuova offerta."))
    return draft


class EnvelopeFileAdd(APIView):
    """Carica un file in una busta della bozza: controllato (limiti per file e per busta,
    firma digitale), cifrato e conservato. Una firma mancante o non valida è un avviso
    (`signature_ok` falso), non un rifiuto."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="gare_offer_file_add",
        tags=TAGS,
        parameters=[ENVELOPE_PARAM],
        request={"multipart/form-data": FileIn},
        responses={201: FileOut, **WRITE_PROBLEMS},
    )
    def post(self, request, pk, envelope):
        lot = get_lot_for_user(request.user, pk)
        operator = _operator_for(request)
        envelope_type = _envelope_type(envelope)
        try:
            draft = _require_draft(lot, operator)
            upload = request.FILES.get("file")
            if upload is None:
                raise GareError(_("Scegli il file da caricare."))
            item = sub.envelope_file_add(
                user=request.user,
                offer=draft,
                envelope_type=envelope_type,
                requirement_code=str(request.data.get("requirement", "")),
                uploaded_file=upload,
                now=timezone.now(),
            )
        except GareError as exc:
            raise _refusal(exc) from exc
        return Response(FileOut(_file(item)).data, status=status.HTTP_201_CREATED)


class EnvelopeFileRemove(APIView):
    """Elimina un file dalla bozza (prima del termine)."""

    @extend_schema(
        operation_id="gare_offer_file_remove",
        tags=TAGS,
        responses={204: None, **WRITE_PROBLEMS},
    )
    def delete(self, request, pk, file_pk):
        lot = get_lot_for_user(request.user, pk)
        operator = _operator_for(request)
        draft = _draft(lot, operator)
        item = EnvelopeFile.objects.filter(pk=file_pk, envelope__offer=draft).first()
        if draft is None or item is None:
            raise exceptions.NotFound(_("Il file non è nella tua offerta in preparazione."))
        try:
            sub.envelope_file_remove(user=request.user, item=item, now=timezone.now())
        except GareError as exc:
            raise _refusal(exc) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class EnvelopeDataSet(APIView):
    """Salva (cifrati) i dati strutturati di una busta: B offerta tabellare (All. 2), C valori
    economici (All. 4). La risposta dice solo che i dati ci sono: i valori non si rileggono."""

    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        operation_id="gare_offer_data_set",
        tags=TAGS,
        parameters=[ENVELOPE_PARAM],
        request=PolymorphicProxySerializer(
            component_name="EnvelopeDataIn",
            serializers=[TabularIn, EconomicIn],
            resource_type_field_name=None,
        ),
        responses={200: EnvelopeOut, **WRITE_PROBLEMS},
    )
    def put(self, request, pk, envelope):
        lot = get_lot_for_user(request.user, pk)
        operator = _operator_for(request)
        envelope_type = _envelope_type(envelope)
        # Only the types are normalised here (e.g. JSON true/false); the rules are the service's.
        if envelope_type == EnvelopeType.B_TECHNICAL:
            data = TabularIn(data=request.data)
        else:
            data = EconomicIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            draft = _require_draft(lot, operator)
            saved = sub.envelope_data_set(
                user=request.user,
                offer=draft,
                envelope_type=envelope_type,
                data=dict(data.validated_data),
                now=timezone.now(),
            )
        except GareError as exc:
            raise _refusal(exc) from exc
        return Response(EnvelopeOut(_envelope(saved)).data)


class OfferSubmit(APIView):
    """Invia la bozza (o sostituisce l'offerta già inviata): ora del server, accesso SPID/CIE
    nella sessione, ricevuta. Con documenti mancanti o firme non valide serve `confirm`."""

    @extend_schema(
        operation_id="gare_offer_submit",
        tags=TAGS,
        request=SubmitIn,
        responses={201: OfferOut, **WRITE_PROBLEMS},
    )
    def post(self, request, pk):
        lot = get_lot_for_user(request.user, pk)
        operator = _operator_for(request)
        data = SubmitIn(data=request.data)
        data.is_valid(raise_exception=True)
        now = timezone.now()
        try:
            draft = _require_draft(lot, operator)
            offer = sub.offer_submit(
                user=request.user,
                offer=draft,
                loa=_loa(request, now),
                confirm_problems=data.validated_data["confirm"],
                now=now,
            )
        except GareError as exc:
            raise _refusal(exc, request, lot) from exc
        return Response(OfferOut(_offer(offer)).data, status=status.HTTP_201_CREATED)


class OfferWithdraw(APIView):
    """Ritira l'offerta inviata prima del termine (accesso SPID/CIE nella sessione); la
    risposta porta la ricevuta di ritiro."""

    @extend_schema(
        operation_id="gare_offer_withdraw",
        tags=TAGS,
        request=None,
        responses={200: OfferOut, **WRITE_PROBLEMS},
    )
    def post(self, request, pk):
        lot = get_lot_for_user(request.user, pk)
        operator = _operator_for(request)
        offer = Offer.objects.filter(
            lot=lot, operator=operator, status=OfferStatus.SUBMITTED
        ).first()
        if offer is None:
            raise exceptions.NotFound(_("Non hai un'offerta presentata da ritirare."))
        now = timezone.now()
        try:
            offer = sub.offer_withdraw(
                user=request.user, offer=offer, loa=_loa(request, now), now=now
            )
        except GareError as exc:
            raise _refusal(exc, request, lot) from exc
        return Response(OfferOut(_offer(offer)).data)


class OfferReceipt(APIView):
    """La ricevuta di un'offerta inviata (numero, ora del server, impronte SHA-256 delle buste
    e dei file), solo per l'operatore che l'ha presentata."""

    @extend_schema(
        operation_id="gare_offer_receipt",
        tags=TAGS,
        responses={200: ReceiptOut, **WRITE_PROBLEMS},
    )
    def get(self, request, pk):
        offer = get_offer_for_operator(request.user, pk)
        if not offer.receipt_no:
            raise exceptions.NotFound(_("L'offerta non è stata ancora inviata: non ha ricevuta."))
        envelopes = offer.envelopes.prefetch_related("files").order_by("type")
        payload = {
            **_offer(offer),
            "tender_code": offer.lot.tender.code,
            "lot_title": str(offer.lot),
            "operator": offer.operator.name,
            "envelopes": [
                {
                    "type": e.type,
                    "label": e.get_type_display(),
                    "sha256": e.sha256,
                    "sealed_at": e.sealed_at,
                    "files": [
                        {"original_name": f.original_name, "size": f.size, "sha256": f.sha256}
                        for f in e.files.all()
                    ],
                }
                for e in envelopes
            ],
        }
        return Response(ReceiptOut(payload).data)
