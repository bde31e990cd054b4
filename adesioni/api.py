"""Read API of contracts, adhesions and orders (scoped by the access helpers) and the buyer's
actions; the actions call the same services as the pages."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import generics, serializers, status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services as S
from .access import (
    adhesions_visible_to,
    contracts_visible_to,
    get_adhesion_for_user,
    get_order_for_user,
    orders_visible_to,
)
from .models import Adhesion, FrameworkContract, OrderLine, SupplyOrder


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class ContractSerializer(serializers.ModelSerializer):
    issuer = serializers.CharField(source="issuer.name")
    supplier = serializers.CharField(source="supplier.name")

    class Meta:
        model = FrameworkContract
        fields = [
            "id",
            "kind",
            "title",
            "parent_cig",
            "cup",
            "issuer",
            "supplier",
            "supplier_pec",
            "contract_amount",
            "status",
            "published_at",
            "expiry_at",
            "round_count",
        ]


class CostCentreFields(serializers.ModelSerializer):
    """The adhering CdC (spec §3.3 `adherent_cost_centre`), read-only; null = whole organisation."""

    cost_centre = serializers.CharField(source="cost_centre.code", default=None, read_only=True)
    cost_centre_name = serializers.CharField(
        source="cost_centre.name", default=None, read_only=True
    )


class AdhesionSerializer(CostCentreFields):
    organisation = serializers.CharField(source="organisation.name")

    class Meta:
        model = Adhesion
        fields = [
            "id",
            "contract",
            "organisation",
            "cost_centre",
            "cost_centre_name",
            "code",
            "hypothesis",
            "amount",
            "status",
            "draft_origin",
            "current_round",
            "first_sent_at",
            "last_sent_at",
            "approved_at",
        ]


class LineSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderLine
        fields = ["position", "description", "unit_price", "quantity", "line_total"]


class OrderSerializer(CostCentreFields):
    organisation = serializers.CharField(source="organisation.name")
    adhesion = serializers.CharField(source="adhesion.code", default=None)
    lines = LineSerializer(many=True, read_only=True)

    class Meta:
        model = SupplyOrder
        fields = [
            "id",
            "contract",
            "organisation",
            "cost_centre",
            "cost_centre_name",
            "number",
            "adhesion",
            "hypothesis",
            "status",
            "derived_cig",
            "lines_total",
            "lines",
            "sent_at",
            "approved_at",
            "annulled_at",
        ]


class ContractList(generics.ListAPIView):
    serializer_class = ContractSerializer
    filterset_fields = ["status", "parent_cig"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return FrameworkContract.objects.none()
        return contracts_visible_to(self.request.user).order_by("-published_at", "title")


class ContractDetail(generics.RetrieveAPIView):
    serializer_class = ContractSerializer

    def get_queryset(self):
        return contracts_visible_to(self.request.user)


class AdhesionList(generics.ListAPIView):
    serializer_class = AdhesionSerializer
    filterset_fields = ["status", "contract"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Adhesion.objects.none()
        return (
            adhesions_visible_to(self.request.user)
            .select_related("cost_centre")
            .order_by("-code_year", "-code_seq")
        )


class AdhesionDetail(generics.RetrieveAPIView):
    serializer_class = AdhesionSerializer

    def get_object(self):
        return get_adhesion_for_user(self.request.user, pk=self.kwargs["pk"])


class OrderList(generics.ListAPIView):
    serializer_class = OrderSerializer
    filterset_fields = ["status", "contract"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SupplyOrder.objects.none()
        return (
            orders_visible_to(self.request.user)
            .select_related("cost_centre")
            .prefetch_related("lines")
            .order_by("-number_year", "-number_seq")
        )


class OrderDetail(generics.RetrieveAPIView):
    serializer_class = OrderSerializer

    def get_object(self):
        return get_order_for_user(self.request.user, pk=self.kwargs["pk"])


class _Action(APIView):
    service = None
    serializer_class = None
    kind = "adhesion"

    def post(self, request, pk):
        try:
            if self.kind == "adhesion":
                obj = type(self).service(user=request.user, adhesion_id=pk, now=timezone.now())
            else:
                obj = type(self).service(user=request.user, order_id=pk, now=timezone.now())
        except S.AdesioniError as exc:
            raise Conflict(str(exc)) from exc
        return Response(self.serializer_class(obj).data)


class AdhesionSend(_Action):
    """ "INVIA" → "sì" (the confirmation is the call itself)."""

    service = S.adhesion_send
    serializer_class = AdhesionSerializer


class AdhesionWithdraw(_Action):
    service = S.adhesion_withdraw
    serializer_class = AdhesionSerializer


class OrderSend(_Action):
    service = S.order_send
    serializer_class = OrderSerializer
    kind = "order"
