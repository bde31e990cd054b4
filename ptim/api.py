"""PTIM API (token or session): the same services as the pages (DESIGN.md)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services
from .access import get_contract_for, visible_agreements
from .amounts import agreement_residual, chapter_residual, operator_residual
from .models import ClearanceLevel, Contract, VariationKind
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
