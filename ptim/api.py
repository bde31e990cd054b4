"""PTIM API (token or session): the same services as the pages (DESIGN.md)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services
from .access import get_contract_for, get_refusal_for, visible_agreements
from .amounts import agreement_residual, chapter_residual, operator_residual
from .models import ClearanceLevel, Contract, Refusal, Variation, VariationKind
from .services import PtimError, Unavailable


def _raise(exc: PtimError):
    if isinstance(exc, Unavailable):
        raise exceptions.ValidationError({"detail": exc.message, "dt": exc.dt_line})
    raise exceptions.ValidationError(
        {(k or "detail"): [str(m) for m in v] for k, v in exc.errors.items()}
    )


class OperatorOut(serializers.Serializer):
    id = serializers.IntegerField()
    operator = serializers.CharField()
    ranking_position = serializers.IntegerField()
    score = serializers.DecimalField(max_digits=7, decimal_places=3)
    discount_pct = serializers.DecimalField(max_digits=7, decimal_places=4)
    threshold = serializers.DecimalField(max_digits=14, decimal_places=2)
    residual = serializers.DecimalField(max_digits=14, decimal_places=2)
    status = serializers.CharField()


class CeilingOut(serializers.Serializer):
    chapter = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    residual = serializers.DecimalField(max_digits=14, decimal_places=2)


class AgreementOut(serializers.Serializer):
    id = serializers.IntegerField()
    identifier = serializers.CharField()
    name = serializers.CharField()
    territorial_area = serializers.CharField()
    valid_from = serializers.DateField()
    valid_until = serializers.DateField()
    total_ceiling = serializers.DecimalField(max_digits=14, decimal_places=2)
    residual = serializers.DecimalField(max_digits=14, decimal_places=2)
    ceilings = CeilingOut(many=True)
    operators = OperatorOut(many=True)


def _agreement(a) -> dict:
    return {
        "id": a.pk,
        "identifier": a.identifier,
        "name": a.name,
        "territorial_area": a.territorial_area.name,
        "valid_from": a.valid_from,
        "valid_until": a.valid_until,
        "total_ceiling": a.total_ceiling,
        "residual": agreement_residual(a),
        "ceilings": [
            {
                "chapter": c.chapter.code,
                "amount": c.amount,
                "residual": chapter_residual(a, c.chapter),
            }
            for c in a.ceilings.select_related("chapter")
        ],
        "operators": [
            {
                "id": m.pk,
                "operator": m.operator.name,
                "ranking_position": m.ranking_position,
                "score": m.score,
                "discount_pct": m.discount_pct,
                "threshold": m.threshold,
                "residual": operator_residual(m),
                "status": m.status,
            }
            for m in a.operators.select_related("operator")
        ],
    }


class AgreementList(APIView):
    """Accordi Quadro nella competenza territoriale dell'utente, con le disponibilità residue."""

    @extend_schema(responses=AgreementOut(many=True), operation_id="ptim_agreements_list")
    def get(self, request):
        qs = visible_agreements(request.user).select_related("territorial_area")
        return Response([_agreement(a) for a in qs])


class ContractOut(serializers.ModelSerializer):
    operator = serializers.CharField(source="membership.operator.name")

    class Meta:
        model = Contract
        fields = [
            "id",
            "progressive",
            "state",
            "operator",
            "agreement",
            "planned_amount",
            "total_amount",
            "booking_date",
            "acceptance_deadline",
            "stipula_deadline",
            "annulment_kind",
        ]


class BookingIn(serializers.Serializer):
    period = serializers.IntegerField()
    territorial_area = serializers.IntegerField()
    required_clearance = serializers.ChoiceField(
        choices=ClearanceLevel.choices, required=False, allow_null=True
    )
    works_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    safety_costs = serializers.DecimalField(max_digits=14, decimal_places=2)
    og1_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    og2_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    og11_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    rup_first_name = serializers.CharField()
    rup_last_name = serializers.CharField()
    rup_role = serializers.CharField()
    rup_phone = serializers.CharField()
    rup_email = serializers.EmailField()
    office_name = serializers.CharField()
    office_email = serializers.EmailField()
    description = serializers.CharField(max_length=4000)
    intervention_category = serializers.IntegerField()
    spending_chapter = serializers.IntegerField()
    intervention_identifier = serializers.CharField(required=False, allow_blank=True)
    plan_year = serializers.IntegerField(required=False, allow_null=True)
    intervention_type = serializers.IntegerField(required=False, allow_null=True)
    measured_basis_confirmed = serializers.BooleanField()
    expected_operator = serializers.IntegerField(
        required=False, allow_null=True, help_text="Operatore mostrato in anteprima (D-26)."
    )


class ContractBook(APIView):
    """Prenotazione (T1): il sistema individua l'operatore; mai scelto dal chiamante."""

    @extend_schema(request=BookingIn, responses=ContractOut, operation_id="ptim_contract_book")
    def post(self, request):
        data = BookingIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        expected = values.pop("expected_operator", None)
        try:
            contract = services.book_operator(
                user=request.user, data=values, expected_membership_id=expected, now=timezone.now()
            )
        except PtimError as exc:
            _raise(exc)
        return Response(ContractOut(contract).data, status=201)


class ActionIn(serializers.Serializer):
    document = serializers.FileField(required=False, help_text="accept, confirm, waiver, rescind")
    documents = serializers.ListField(
        child=serializers.FileField(), required=False, help_text="variation (1–5)"
    )
    reason = serializers.CharField(required=False, max_length=4000, help_text="annul, rescind")
    lapse_declaration = serializers.BooleanField(required=False, help_text="waiver")
    expected_operator = serializers.IntegerField(required=False, help_text="waiver")
    kind = serializers.ChoiceField(choices=VariationKind.choices, required=False)
    description = serializers.CharField(required=False, max_length=4000)
    works_amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    non_discounted_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False
    )
    confirm_negative = serializers.BooleanField(required=False)
    rescission_date = serializers.DateField(required=False)
    amount_paid = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    amount_due = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)


ACTIONS = ("accept", "extend", "confirm", "waiver", "annul", "replace", "variation", "rescind")


class ContractAction(APIView):
    """Operazioni sul contratto: accept, extend, confirm, waiver, annul, replace, variation,
    rescind (stesse regole e messaggi delle pagine)."""

    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        request={"multipart/form-data": ActionIn},
        responses=ContractOut,
        parameters=[OpenApiParameter("action", str, OpenApiParameter.PATH, enum=list(ACTIONS))],
        operation_id="ptim_contract_action",
    )
    def post(self, request, pk, action):
        user, now = request.user, timezone.now()
        get_contract_for(user, pk=pk)
        data = ActionIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        files = request.FILES
        try:
            if action == "accept":
                services.accept_contract(
                    user=user, contract_id=pk, document=files.get("document"), now=now
                )
            elif action == "extend":
                services.extend_stipula_deadline(user=user, contract_id=pk, now=now)
            elif action == "confirm":
                services.confirm_contract(
                    user=user, contract_id=pk, document=files.get("document"), now=now
                )
            elif action == "waiver":
                services.register_waiver(
                    user=user,
                    contract_id=pk,
                    document=files.get("document"),
                    lapse_declaration=v.get("lapse_declaration", False),
                    expected_membership_id=v.get("expected_operator"),
                    now=now,
                )
            elif action == "annul":
                services.annul_contract(
                    user=user, contract_id=pk, reason=v.get("reason", ""), now=now
                )
            elif action == "replace":
                result = services.book_replacement_after_clearance_lapse(
                    user=user, contract_id=pk, now=now
                )
                if result.contract is None:
                    raise PtimError(result.message)
                return Response(ContractOut(result.contract).data, status=201)
            elif action == "variation":
                services.add_variation(
                    user=user,
                    contract_id=pk,
                    kind=v.get("kind", VariationKind.VARIANT),
                    description=v.get("description", ""),
                    works_amount=v.get("works_amount", 0),
                    non_discounted_amount=v.get("non_discounted_amount", 0),
                    documents=files.getlist("documents"),
                    confirm_negative=v.get("confirm_negative", False),
                    now=now,
                )
            elif action == "rescind":
                services.rescind_contract(
                    user=user,
                    contract_id=pk,
                    reason=v.get("reason", ""),
                    rescission_date=v.get("rescission_date"),
                    amount_paid=v.get("amount_paid"),
                    amount_due=v.get("amount_due"),
                    document=files.get("document"),
                    now=now,
                )
            else:
                raise exceptions.NotFound
        except PtimError as exc:
            _raise(exc)
        return Response(ContractOut(Contract.objects.get(pk=pk)).data)


class ContractDetail(APIView):
    """Lettura di un contratto nella competenza territoriale dell'utente."""

    @extend_schema(responses=ContractOut, operation_id="ptim_contract_read")
    def get(self, request, pk):
        return Response(ContractOut(get_contract_for(request.user, pk=pk)).data)


class RebookIn(serializers.Serializer):
    progressive = serializers.CharField(help_text="Progressivo contratto annullato (es. 325).")
    measured_basis_confirmed = serializers.BooleanField(
        help_text="Conferma che gli importi sono stati determinati a misura (D-18)."
    )
    description = serializers.CharField(required=False, max_length=4000)
    intervention_category = serializers.IntegerField(required=False)
    rup_first_name = serializers.CharField(required=False)
    rup_last_name = serializers.CharField(required=False)
    rup_role = serializers.CharField(required=False)
    rup_phone = serializers.CharField(required=False)
    rup_email = serializers.EmailField(required=False)
    office_name = serializers.CharField(required=False)
    office_email = serializers.EmailField(required=False)


class ContractRebook(APIView):
    """Riprenotazione operatore per annullamento contratto (T2, D-32): stesso operatore,
    nuovo progressivo (325 → 325a); correggibili solo descrizione, categoria e dati RUP."""

    @extend_schema(request=RebookIn, responses=ContractOut, operation_id="ptim_contract_rebook")
    def post(self, request):
        data = RebookIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        progressive = values.pop("progressive")
        confirmed = values.pop("measured_basis_confirmed")
        try:
            contract = services.rebook_operator(
                user=request.user,
                progressive=progressive,
                measured_basis_confirmed=confirmed,
                corrections=values,
                now=timezone.now(),
            )
        except PtimError as exc:
            _raise(exc)
        return Response(ContractOut(contract).data, status=201)


class VariationOut(serializers.ModelSerializer):
    class Meta:
        model = Variation
        fields = [
            "id",
            "contract",
            "kind",
            "description",
            "works_amount",
            "non_discounted_amount",
            "planned_amount",
            "total_amount",
            "annulled_at",
            "annulment_note",
        ]


class VariationIn(serializers.Serializer):
    works_amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    non_discounted_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False
    )
    description = serializers.CharField(required=False, max_length=4000)
    note = serializers.CharField(required=False, max_length=4000, help_text="annul")
    confirm_negative = serializers.BooleanField(
        required=False, help_text="Conferma se la disponibilità dell'operatore diventa negativa."
    )


VARIATION_ACTIONS = ("update", "annul")


class VariationAction(APIView):
    """Modifica (update) o annullamento (annul) di una variazione: DT competente e DG."""

    @extend_schema(
        request=VariationIn,
        responses=VariationOut,
        parameters=[
            OpenApiParameter("action", str, OpenApiParameter.PATH, enum=list(VARIATION_ACTIONS))
        ],
        operation_id="ptim_variation_action",
    )
    def post(self, request, pk, action):
        variation = Variation.objects.filter(pk=pk).first()
        if variation is None or action not in VARIATION_ACTIONS:
            raise exceptions.NotFound
        get_contract_for(request.user, pk=variation.contract_id)
        data = VariationIn(data=request.data)
        data.is_valid(raise_exception=True)
        v, now = data.validated_data, timezone.now()
        try:
            if action == "update":
                services.update_variation(
                    user=request.user,
                    variation_id=pk,
                    works_amount=v.get("works_amount", variation.works_amount),
                    non_discounted_amount=v.get(
                        "non_discounted_amount", variation.non_discounted_amount
                    ),
                    description=v.get("description"),
                    confirm_negative=v.get("confirm_negative", False),
                    now=now,
                )
            else:
                services.annul_variation(
                    user=request.user,
                    variation_id=pk,
                    note=v.get("note", ""),
                    confirm_negative=v.get("confirm_negative", False),
                    now=now,
                )
        except PtimError as exc:
            _raise(exc)
        return Response(VariationOut(Variation.objects.get(pk=pk)).data)


class RefusalOut(serializers.ModelSerializer):
    operator = serializers.CharField(source="membership.operator.name")
    progressive = serializers.CharField(source="contract.progressive")
    membership_status = serializers.CharField(source="membership.status")

    class Meta:
        model = Refusal
        fields = [
            "id",
            "progressive",
            "operator",
            "booked_at",
            "inserted_at",
            "handling_deadline",
            "justified",
            "motivation",
            "unlocked_at",
            "membership_status",
        ]


class RefusalIn(serializers.Serializer):
    justified = serializers.BooleanField(required=False, help_text="handle: SI (true) / NO")
    motivation = serializers.CharField(max_length=4000)
    unlock_date = serializers.DateField(
        required=False, help_text="unlock: data di sblocco (predefinita oggi, non futura)"
    )


REFUSAL_ACTIONS = ("handle", "unlock")


class RefusalAction(APIView):
    """Gestione del rifiuto: giustificazione SI/NO (handle, DT competente) o sblocco di un
    rifiuto scaduto (unlock, DG). Il secondo NO consecutivo esclude l'operatore (R-PTIM-129)."""

    @extend_schema(
        request=RefusalIn,
        responses=RefusalOut,
        parameters=[
            OpenApiParameter("action", str, OpenApiParameter.PATH, enum=list(REFUSAL_ACTIONS))
        ],
        operation_id="ptim_refusal_action",
    )
    def post(self, request, pk, action):
        if action not in REFUSAL_ACTIONS:
            raise exceptions.NotFound
        get_refusal_for(request.user, pk=pk)
        data = RefusalIn(data=request.data)
        data.is_valid(raise_exception=True)
        v, now = data.validated_data, timezone.now()
        try:
            if action == "handle":
                if "justified" not in v:
                    raise exceptions.ValidationError({"justified": ["Campo obbligatorio."]})
                services.handle_refusal(
                    user=request.user,
                    refusal_id=pk,
                    justified=v["justified"],
                    motivation=v["motivation"],
                    now=now,
                )
            else:
                services.unlock_refusal(
                    user=request.user,
                    refusal_id=pk,
                    motivation=v["motivation"],
                    unlock_date=v.get("unlock_date"),
                    now=now,
                )
        except PtimError as exc:
            _raise(exc)
        return Response(RefusalOut(Refusal.objects.get(pk=pk)).data)
