"""Read API of the tenders (token or session; problem+json errors from procurement/core/api.py).

- tenders and their lots: what ``tenders_visible_to`` lets the user see (published tenders to
  every authenticated user, drafts only to their authority's staff; templates never);
- the scoring runs of a lot (scores, ranking, ties, exclusions for inadmissibility): only for
  who may see the ranking page (``get_lot_for_manager``: RUP, tender board, the commission);
- the published clarifications of a tender, as the public page shows them: the anonymised
  question, the answer and the date of publication, never who asked nor when (D-05);
- the results of a lot, only once it is AWARDED or CONTRACT_SIGNED (404 before, with an Italian
  message): the award is public from its adoption (§9.2), so every user who sees the tender
  reads the awardee, the award date, the contract value and the final ranking (points only).

Nothing here reads an envelope. The only offer figures the API returns are the points in the
scoring runs, which exist only after the envelopes they come from were opened in session: a run
of the technical stage (after the opening of B) carries technical points only, never economic
values; the economic points appear in the runs computed after the opening of C. Before the
offer deadline nobody learns how many offers there are (R-GARE-079): the API has no counts.
The results of a lot carry points and the awardee's contract value, never the offered discounts,
days or costs, and nothing at all before the award (matrix row 26: the tender board, who may
not see offered values during the procedure, learns them only when everybody does).
"""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from procurement.core.api import PROBLEM_RESPONSES

from .models import (
    Clarification,
    ClarificationStatus,
    Lot,
    LotStatus,
    LotWorkCategory,
    ScoreRun,
    Tender,
    TenderDocument,
    TenderStatus,
)
from .selectors import (
    get_lot_for_manager,
    get_lot_for_user,
    get_tender_for_user,
    tenders_visible_to,
)
from .services import procedure as proc
from .services.documents import may_see_offered_values

TAGS = ["gare"]


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = LotWorkCategory
        fields = ["category", "description", "role", "soa_class", "amount", "subcontract_max_pct"]


class LotSerializer(serializers.ModelSerializer):
    tender = serializers.UUIDField(source="tender_id")
    categories = CategorySerializer(many=True)

    class Meta:
        model = Lot
        fields = [
            "id",
            "tender",
            "number",
            "title",
            "cig",
            "cpv_main",
            "nuts_code",
            "works_amount",
            "safety_costs",
            "labour_cost_estimate",
            "duration_days",
            "status",
            "categories",
        ]


class DocumentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = TenderDocument
        fields = ["id", "kind", "title", "created_at", "url"]

    def get_url(self, obj) -> str:
        return reverse("gare:public_document", args=[obj.tender_id, obj.pk])


class TenderSerializer(serializers.ModelSerializer):
    organisation = serializers.CharField(source="organisation.name")
    delegating_entity = serializers.CharField(source="delegating_entity.name", default=None)
    lots = LotSerializer(many=True)
    documents = serializers.SerializerMethodField()

    class Meta:
        model = Tender
        fields = [
            "id",
            "code",
            "title",
            "description",
            "organisation",
            "delegating_entity",
            "procedure_type",
            "award_criterion",
            "contract_type",
            "cup",
            "status",
            "published_at",
            "questions_deadline",
            "offer_deadline",
            "first_session_at",
            "offer_validity_days",
            "lots",
            "documents",
        ]

    @extend_schema(responses=DocumentSerializer(many=True))
    def get_documents(self, obj) -> list[dict]:
        # The notice's documents are public once published (art. 28 D.Lgs. 36/2023).
        if obj.status == TenderStatus.DRAFT:
            return []
        return DocumentSerializer(obj.documents.all(), many=True).data


def _tenders(user):
    return (
        tenders_visible_to(user)
        .filter(is_template=False)
        .select_related("organisation", "delegating_entity")
        .prefetch_related("lots__categories", "documents")
    )


class TenderList(generics.ListAPIView):
    """Gare visibili all'utente (pubblicate; le bozze solo al personale della stazione
    appaltante), con i lotti e i documenti pubblicati."""

    serializer_class = TenderSerializer
    filterset_fields = ["status", "code"]

    @extend_schema(operation_id="gare_tenders_list", tags=TAGS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Tender.objects.none()
        return _tenders(self.request.user).order_by("-published_at", "code")


class TenderDetail(generics.RetrieveAPIView):
    """Una gara, con i lotti e i documenti pubblicati."""

    serializer_class = TenderSerializer

    @extend_schema(
        operation_id="gare_tender",
        tags=TAGS,
        responses={200: TenderSerializer, **PROBLEM_RESPONSES},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_object(self):
        tender = get_tender_for_user(self.request.user, self.kwargs["pk"])
        try:
            return _tenders(self.request.user).get(pk=tender.pk)
        except Tender.DoesNotExist as exc:  # a template: never in the API
            raise Http404 from exc


class LotDetail(generics.RetrieveAPIView):
    """Un lotto di una gara visibile all'utente."""

    serializer_class = LotSerializer

    @extend_schema(
        operation_id="gare_lot", tags=TAGS, responses={200: LotSerializer, **PROBLEM_RESPONSES}
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_object(self):
        lot = get_lot_for_user(self.request.user, self.kwargs["pk"])
        if lot.tender.is_template:
            raise Http404
        return Lot.objects.prefetch_related("categories").get(pk=lot.pk)


# --- scoring runs ---------------------------------------------------------------------------


class OfferScoreSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Identificativo del concorrente.")
    participant = serializers.CharField(help_text="Denominazione del concorrente.")
    points = serializers.DictField(
        child=serializers.CharField(),
        help_text="Punti per criterio (stringhe con 2 decimali); PRICE e TIME per prezzo e tempo.",
    )
    technical = serializers.CharField()
    economic = serializers.CharField(allow_null=True)
    total = serializers.CharField(allow_null=True)
    rank = serializers.IntegerField(allow_null=True)


class InadmissibleSerializer(serializers.Serializer):
    id = serializers.CharField()
    participant = serializers.CharField()
    reason = serializers.CharField()


class ScoreRunSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    reason = serializers.CharField()
    stage = serializers.ChoiceField(choices=["TECHNICAL", "FULL"])
    created_at = serializers.DateTimeField()
    admitted = serializers.ListField(child=serializers.IntegerField())
    offers = OfferScoreSerializer(many=True)
    ties = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
    inadmissible = InadmissibleSerializer(many=True)
    draw_order = serializers.ListField(child=serializers.CharField())
    trail = serializers.ListField(child=serializers.CharField())


def run_payload(
    lot: Lot, run: ScoreRun, names: dict[str, str], *, offered_values: bool = True
) -> dict:
    """A stored run as the API shows it: technical points only in the technical stage, and for
    whoever may not see offered values (matrix row 26: the tender board)."""
    result = run.result or {}
    technical_stage = run.stage == "TECHNICAL" or not offered_values
    economic_codes = set(proc.economic_codes(proc.scheme_of(lot))) | {"PRICE", "TIME"}
    offers = []
    for row in result.get("offers", []):
        points = row.get("points", {})
        if technical_stage:
            points = {k: v for k, v in points.items() if k not in economic_codes}
        offers.append(
            {
                "id": row["id"],
                "participant": names.get(row["id"], row["id"]),
                "points": points,
                "technical": row.get("technical"),
                "economic": None if technical_stage else row.get("economic"),
                "total": None if technical_stage else row.get("total"),
                "rank": None if technical_stage else row.get("rank"),
            }
        )
    if not offered_values:  # not even the order of the ranking
        offers.sort(key=lambda o: o["participant"])
    return {
        "version": run.version,
        "reason": run.reason,
        "stage": run.stage,
        "created_at": run.created_at,
        "admitted": list(run.admitted or []),
        "offers": offers,
        "ties": [] if technical_stage else result.get("ties", []),
        "inadmissible": []
        if technical_stage
        else [
            {"id": i["id"], "participant": names.get(i["id"], i["id"]), "reason": i["reason"]}
            for i in result.get("inadmissible", [])
        ],
        "draw_order": [] if technical_stage else list(result.get("draw_order") or []),
        "trail": [] if technical_stage else list(result.get("trail") or []),
    }


class ScoreRunList(APIView):
    """Calcoli dei punteggi di un lotto, dal più recente (stessi utenti della pagina
    «Punteggi e graduatoria»: RUP, seggio di gara, commissione; il seggio vede solo i punteggi
    tecnici)."""

    @extend_schema(
        operation_id="gare_lot_score_runs",
        tags=TAGS,
        responses={200: ScoreRunSerializer(many=True), **PROBLEM_RESPONSES},
    )
    def get(self, request, pk):
        lot = get_lot_for_manager(request.user, pk)
        names = {str(p.pk): p.display_name for p in lot.participants.all()}
        runs = lot.runs.order_by("-version")
        offered_values = may_see_offered_values(request.user, lot)
        payloads = [run_payload(lot, r, names, offered_values=offered_values) for r in runs]
        return Response(ScoreRunSerializer(payloads, many=True).data)


# --- clarifications ----------------------------------------------------------------------------


class ClarificationSerializer(serializers.ModelSerializer):
    """What the public page «Chiarimenti» shows: never the operator, the user or the original
    text of the question (the asker's identity stays with the authority, D-05)."""

    question = serializers.CharField(
        source="published_question_text", help_text="Quesito come pubblicato (anonimo)."
    )
    answer = serializers.CharField(source="answer_text")
    late_override = serializers.BooleanField(
        help_text="Risposta pubblicata oltre il termine, in deroga registrata."
    )

    class Meta:
        model = Clarification
        fields = ["question", "answer", "published_at", "late_override"]


class ClarificationList(generics.ListAPIView):
    """Chiarimenti pubblicati di una gara, in forma anonima: quesito come pubblicato, risposta
    e data di pubblicazione (gli stessi per tutti, il personale della stazione appaltante
    compreso)."""

    serializer_class = ClarificationSerializer

    @extend_schema(
        operation_id="gare_tender_clarifications",
        tags=TAGS,
        responses={200: ClarificationSerializer(many=True), **PROBLEM_RESPONSES},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Clarification.objects.none()
        tender = get_tender_for_user(self.request.user, self.kwargs["pk"])
        if tender.is_template:
            raise Http404
        # The page's order (as received), published answers only.
        return tender.clarifications.filter(status=ClarificationStatus.PUBLISHED).order_by(
            "asked_at", "pk"
        )


# --- results after the award -------------------------------------------------------------------

AWARDED_STATUSES = (LotStatus.AWARDED, LotStatus.CONTRACT_SIGNED)


class RankingRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True)
    participant = serializers.CharField(help_text="Denominazione del concorrente.")
    technical = serializers.CharField(allow_null=True, help_text="Punteggio tecnico (2 decimali).")
    economic = serializers.CharField(allow_null=True, help_text="Punteggio economico.")
    total = serializers.CharField(allow_null=True, help_text="Punteggio totale.")
    awardee = serializers.BooleanField()


class LotResultSerializer(serializers.Serializer):
    lot = serializers.IntegerField()
    tender = serializers.UUIDField()
    cig = serializers.CharField()
    status = serializers.ChoiceField(choices=[s.value for s in AWARDED_STATUSES])
    awardee = serializers.CharField(help_text="Denominazione dell'aggiudicatario.")
    awarded_at = serializers.DateTimeField(help_text="Data del provvedimento di aggiudicazione.")
    contract_signed_on = serializers.DateField(allow_null=True)
    contract_value = serializers.CharField(
        allow_null=True,
        help_text="Importo contrattuale (lavori al netto del ribasso più oneri della sicurezza), "
        "stringa con 2 decimali.",
    )
    run_version = serializers.IntegerField(help_text="Versione del calcolo della graduatoria.")
    ranking = RankingRowSerializer(many=True, help_text="Graduatoria finale, dal primo.")


def result_payload(lot: Lot, award) -> dict:
    """The results of an awarded lot: points and ranking of the award's run, the contract
    value of the awardee; no offered value (discount, days, costs) of anybody."""
    run = award.run
    names = {str(p.pk): p.display_name for p in lot.participants.all()}
    offers = sorted(
        run.result.get("offers", []),
        key=lambda o: (o.get("rank") is None, o.get("rank") or 0, names.get(o["id"], "")),
    )
    awardee_id = str(award.participant_id)
    row = next((o for o in offers if o["id"] == awardee_id), {})
    return {
        "lot": lot.pk,
        "tender": lot.tender_id,
        "cig": lot.cig,
        "status": lot.status,
        "awardee": award.participant.display_name,
        "awarded_at": award.adopted_at,
        "contract_signed_on": award.signed_on,
        "contract_value": row.get("contract_value") or None,
        "run_version": run.version,
        "ranking": [
            {
                "rank": o.get("rank"),
                "participant": names.get(o["id"], o["id"]),
                "technical": o.get("technical"),
                "economic": o.get("economic"),
                "total": o.get("total"),
                "awardee": o["id"] == awardee_id,
            }
            for o in offers
        ],
    }


class LotResult(APIView):
    """Esito di un lotto aggiudicato: aggiudicatario, data dell'aggiudicazione, importo
    contrattuale e graduatoria finale con i punteggi (tecnico, economico, totale). Prima
    dell'aggiudicazione risponde 404."""

    @extend_schema(
        operation_id="gare_lot_result",
        tags=TAGS,
        responses={200: LotResultSerializer, **PROBLEM_RESPONSES},
    )
    def get(self, request, pk):
        lot = get_lot_for_user(request.user, pk)
        if lot.tender.is_template:
            raise Http404
        award = proc.current_award(lot) if lot.status in AWARDED_STATUSES else None
        if award is None or award.adopted_at is None:
            raise exceptions.NotFound(
                _(
                    "Il lotto non è ancora aggiudicato: l'esito si pubblica con il "
                    "provvedimento di aggiudicazione."
                )
            )
        payload = result_payload(lot, award)
        # §9.2: the ranking goes to the contracting authority and to the lot's participants;
        # everyone else sees the award (awardee, date, value) as the open data does.
        from procurement.accounts.access import organisations_of

        from .services.common import operator_orgs

        of_authority = (
            request.user.is_superuser
            or organisations_of(request.user).filter(pk=lot.tender.organisation_id).exists()
        )
        participant = lot.participants.filter(operator__in=operator_orgs(request.user)).exists()
        if not (of_authority or participant):
            payload["ranking"] = []
        return Response(LotResultSerializer(payload).data)
