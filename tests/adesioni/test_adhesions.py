"""Adhesions (manifestazione di interesse): AS-ADE-01 steps 1–5, AS-ADE-03, AS-ADE-04."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from adesioni import services as S
from adesioni.models import (
    Adhesion,
    AdhesionStatus,
    ContractMessage,
    DraftOrigin,
    RoundOutcome,
)
from procurement.notifications.models import EmailOutbox, Notification
from tests.factories.documents import upload

from .conftest import manifestazione, ne_url

pytestmark = pytest.mark.django_db


def test_amount_helper_applies_4_9_percent_per_item_as_in_as_ade_01_step_2(ne):
    result = S.amount_helper_compute(
        plan_date=datetime.date(2022, 11, 15),
        lines=[
            ("VM standard", Decimal("150.00"), Decimal("24")),
            ("Backup", Decimal("40.00"), Decimal("12")),
            ("Housing rack", Decimal("300.00"), Decimal("12")),
        ],
        adjustments=ne.contract.price_adjustments,
    )
    assert [line["adjusted_unit_price"] for line in result["lines"]] == [
        "157.35",
        "41.96",
        "314.70",
    ]
    assert [line["line_total"] for line in result["lines"]] == ["3776.40", "503.52", "3776.40"]
    assert result["total"] == "8056.32"


def test_amount_helper_rounds_per_item_d_ade_03_example(ne):
    result = S.amount_helper_compute(
        plan_date=datetime.date(2023, 1, 1),
        lines=[("voce", Decimal("12.35"), Decimal("3"))],
        adjustments=ne.contract.price_adjustments,
    )
    assert result["total"] == "38.88"
    later = S.amount_helper_compute(
        plan_date=datetime.date(2023, 5, 1),
        lines=[("voce", Decimal("12.35"), Decimal("3"))],
        adjustments=ne.contract.price_adjustments,
    )
    assert later["total"] == "37.05"


def test_as_ade_01_adhesion_in_the_browser_flow(ne, samples, password_client):
    client = password_client(ne.giulio)
    detail = client.get(ne_url(f"contratti/{ne.contract.pk}/?tab=adesioni"))
    assert "richiedi adesione" in detail.content.decode()
    form = client.get(ne_url(f"contratti/{ne.contract.pk}/richiedi-adesione/"))
    assert 'value="2026-10-02"' in form.content.decode()  # D-ADE-04
    response = client.post(
        ne_url(f"contratti/{ne.contract.pk}/richiedi-adesione/"),
        {"hypothesis": "A", "amount": "8056.32", "file_MI": manifestazione(samples)},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    adhesion = Adhesion.objects.get()
    year = timezone.localtime().year
    assert adhesion.code == f"A000137/{year}"
    page = client.get(response["Location"]).content.decode()
    assert "riepilogo adesione" in page and f"A000137/{year}" in page
    assert "8.056,32" in page
    assert adhesion.documents.get().version.sha256 in page
    # INVIA → dialog → "no" keeps the draft, "sì" sends.
    confirm = client.get(ne_url(f"adesioni/{adhesion.pk}/invia/"), follow=True)
    assert "Confermi l’invio dell’adesione?" in confirm.content.decode()
    client.post(ne_url(f"adesioni/{adhesion.pk}/invia/"), {"risposta": "no"})
    assert Adhesion.objects.get().status == AdhesionStatus.DRAFT
    sent = client.post(
        ne_url(f"adesioni/{adhesion.pk}/invia/"), {"risposta": "si"}, follow=True
    ).content.decode()
    assert "L’adesione è stata inviata correttamente." in sent
    assert "ritira invio adesione" in sent
    adhesion = Adhesion.objects.get()
    assert adhesion.status == AdhesionStatus.SENT
    # N-01 to Giulio and to the banditore, also as a system message in Comunicazioni.
    n01 = Notification.objects.filter(subject__startswith=f"Adesione A000137/{year} inviata")
    assert {n.recipient for n in n01} == {ne.giulio, ne.mario}
    assert EmailOutbox.objects.filter(to=ne.mario.email).exists()
    assert ContractMessage.objects.filter(event_code="N-01", contract=ne.contract).exists()
    # Mario approves: one N-04, to the aderente only.
    banditore = password_client(ne.mario)
    banditore.post(ne_url(f"adesioni/{adhesion.pk}/approva/"))
    adhesion = Adhesion.objects.get()
    assert adhesion.status == AdhesionStatus.APPROVED
    n04 = Notification.objects.filter(subject__startswith=f"Adesione A000137/{year} approvata")
    assert ne.mario not in {n.recipient for n in n04}
    assert ne.giulio in {n.recipient for n in n04}
    assert (
        "nuovo ordine"
        in client.get(ne_url(f"contratti/{ne.contract.pk}/?tab=ordinativi")).content.decode()
    )


def test_hypothesis_a_refuses_needs_plan_files_msg_d14(ne, samples):
    with pytest.raises(S.AdesioniError, match="Nell’ipotesi A non deve essere caricata"):
        S.adhesion_create(
            user=ne.giulio,
            contract=ne.contract,
            organisation=ne.adherent,
            hypothesis="A",
            amount="100",
            now=timezone.now(),
            files={"MI": manifestazione(samples), "PF": upload("piano.pdf", samples.pdf)},
        )
    assert not Adhesion.objects.exists()


def test_unsigned_manifestazione_is_refused_msg_d19(ne, samples):
    with pytest.raises(S.AdesioniError, match="firmato digitalmente"):
        S.adhesion_create(
            user=ne.giulio,
            contract=ne.contract,
            organisation=ne.adherent,
            hypothesis="A",
            amount="100",
            now=timezone.now(),
            files={"MI": upload("mi.pdf", samples.pdf)},
        )
    assert not Adhesion.objects.exists()


def test_as_ade_03_hypothesis_b_refusal_deletion_and_new_round_0(ne, samples, password_client):
    now = timezone.now()
    year = timezone.localtime().year
    with pytest.raises(S.AdesioniError) as missing:
        S.adhesion_create(
            user=ne.giulio,
            contract=ne.contract,
            organisation=ne.adherent,
            hypothesis="B",
            amount="24300.00",
            now=now,
            files={"MI": manifestazione(samples), "PF": upload("piano.pdf", samples.pdf)},
        )
    assert str(missing.value) == "Documento obbligatorio mancante: Progetto dei Fabbisogni."
    files = {
        "MI": manifestazione(samples),
        "PF": upload("piano.pdf", samples.pdf),
        "PRF": upload("progetto.pdf", samples.pdf),
    }
    adhesion = S.adhesion_create(
        user=ne.giulio,
        contract=ne.contract,
        organisation=ne.adherent,
        hypothesis="B",
        amount="24300.00",
        files=files,
        now=now,
    )
    assert adhesion.code == f"A000137/{year}"
    S.adhesion_send(user=ne.giulio, adhesion_id=adhesion.pk, now=now)
    with pytest.raises(S.AdesioniError, match="almeno 10 caratteri"):
        S.adhesion_refuse(user=ne.mario, adhesion_id=adhesion.pk, reason="no", now=now)
    reason = "Il Progetto dei fabbisogni non risulta validato dall'Amministrazione"
    S.adhesion_refuse(user=ne.mario, adhesion_id=adhesion.pk, reason=reason, now=now)
    adhesion = Adhesion.objects.get(pk=adhesion.pk)
    assert (adhesion.status, adhesion.draft_origin) == (AdhesionStatus.DRAFT, DraftOrigin.REFUSED)
    n03 = Notification.objects.filter(subject=f"Adesione A000137/{year} non approvata")
    assert n03.exists() and ne.mario not in {n.recipient for n in n03}
    assert reason in n03.first().body
    # The list hides "richiedi adesione"; the summary offers invia and elimina bozza, no edit.
    client = password_client(ne.giulio)
    listing = client.get(ne_url(f"contratti/{ne.contract.pk}/?tab=adesioni")).content.decode()
    assert "richiedi adesione" not in listing and "Bozza" in listing
    summary = client.get(ne_url(f"adesioni/{adhesion.pk}/")).content.decode()
    assert "INVIA" in summary and "elimina bozza" in summary
    assert "torna al passo 1" not in summary
    with pytest.raises(S.AdesioniError):
        S.adhesion_update(
            user=ne.giulio,
            adhesion_id=adhesion.pk,
            hypothesis="B",
            amount="1",
            files={},
            now=now,
        )
    # Re-sent as is: submission attempt 2.
    S.adhesion_send(user=ne.giulio, adhesion_id=adhesion.pk, now=now)
    assert adhesion.submissions.filter(round_no=0, attempt_no=2).exists()
    S.adhesion_refuse(user=ne.mario, adhesion_id=adhesion.pk, reason=reason, now=now)
    S.adhesion_delete_draft(user=ne.giulio, adhesion_id=adhesion.pk, now=now)
    assert Adhesion.objects.get(pk=adhesion.pk).status == AdhesionStatus.DELETED
    listing = client.get(ne_url(f"contratti/{ne.contract.pk}/?tab=adesioni")).content.decode()
    assert "richiedi adesione" in listing
    files = {
        "MI": manifestazione(samples),
        "PF": upload("piano.pdf", samples.pdf),
        "PRF": upload("progetto.pdf", samples.pdf),
    }
    again = S.adhesion_create(
        user=ne.giulio,
        contract=ne.contract,
        organisation=ne.adherent,
        hypothesis="B",
        amount="24300.00",
        files=files,
        now=now,
    )
    assert again.code == f"A000138/{year}"


def test_as_ade_04_withdrawal_then_late_approval_is_refused(ne, samples):
    now = timezone.now()
    adhesion = S.adhesion_create(
        user=ne.giulio,
        contract=ne.contract,
        organisation=ne.adherent,
        hypothesis="A",
        amount="8056.32",
        files={"MI": manifestazione(samples)},
        now=now,
    )
    S.adhesion_send(user=ne.giulio, adhesion_id=adhesion.pk, now=now)
    S.adhesion_withdraw(user=ne.giulio, adhesion_id=adhesion.pk, now=now)
    adhesion = Adhesion.objects.get(pk=adhesion.pk)
    assert (adhesion.status, adhesion.draft_origin) == (
        AdhesionStatus.DRAFT,
        DraftOrigin.WITHDRAWN,
    )
    assert adhesion.submissions.get().outcome == RoundOutcome.WITHDRAWN
    n02 = Notification.objects.get(subject=f"Adesione {adhesion.code} ritirata")
    assert n02.recipient == ne.mario
    assert not EmailOutbox.objects.filter(notification=n02).exists()  # in-app only
    with pytest.raises(S.AdesioniError, match="Operazione non consentita nello stato attuale"):
        S.adhesion_approve(user=ne.mario, adhesion_id=adhesion.pk, now=now)
    assert Adhesion.objects.get(pk=adhesion.pk).status == AdhesionStatus.DRAFT
    S.adhesion_send(user=ne.giulio, adhesion_id=adhesion.pk, now=now)
    assert adhesion.submissions.get(attempt_no=2).outcome == RoundOutcome.PENDING
    S.adhesion_approve(user=ne.mario, adhesion_id=adhesion.pk, now=now)
    assert Adhesion.objects.get(pk=adhesion.pk).status == AdhesionStatus.APPROVED


def test_only_one_draft_per_adherent_and_contract(ne, samples):
    now = timezone.now()
    S.adhesion_create(
        user=ne.giulio,
        contract=ne.contract,
        organisation=ne.adherent,
        hypothesis="A",
        amount="1",
        files={"MI": manifestazione(samples)},
        now=now,
    )
    with pytest.raises(S.AdesioniError):
        S.adhesion_create(
            user=ne.lucia,
            contract=ne.contract,
            organisation=ne.adherent,
            hypothesis="A",
            amount="1",
            files={"MI": manifestazione(samples)},
            now=now,
        )


def test_multi_round_contract_moves_to_next_round_then_approves(ne, samples):
    ne.contract.round_count = 2
    ne.contract.save()
    now = timezone.now()
    adhesion = S.adhesion_create(
        user=ne.giulio,
        contract=ne.contract,
        organisation=ne.adherent,
        hypothesis="A",
        amount="1",
        files={"MI": manifestazione(samples)},
        now=now,
    )
    S.adhesion_send(user=ne.giulio, adhesion_id=adhesion.pk, now=now)
    S.adhesion_approve(user=ne.mario, adhesion_id=adhesion.pk, now=now)
    adhesion = Adhesion.objects.get(pk=adhesion.pk)
    assert (adhesion.status, adhesion.current_round, adhesion.draft_origin) == (
        AdhesionStatus.DRAFT,
        1,
        DraftOrigin.NEXT_ROUND,
    )
    S.adhesion_send(user=ne.giulio, adhesion_id=adhesion.pk, now=now)
    S.adhesion_approve(user=ne.mario, adhesion_id=adhesion.pk, now=now)
    assert Adhesion.objects.get(pk=adhesion.pk).status == AdhesionStatus.APPROVED


def test_visibility_of_adhesions(ne, samples, password_client):
    now = timezone.now()
    adhesion = S.adhesion_create(
        user=ne.giulio,
        contract=ne.contract,
        organisation=ne.adherent,
        hypothesis="A",
        amount="1",
        files={"MI": manifestazione(samples)},
        now=now,
    )
    url = ne_url(f"adesioni/{adhesion.pk}/")
    assert password_client(ne.outsider).get(url).status_code == 404
    assert password_client(ne.alfa).get(url).status_code == 404
    assert password_client(ne.mario).get(url).status_code == 404  # a draft
    S.adhesion_send(user=ne.giulio, adhesion_id=adhesion.pk, now=now)
    assert password_client(ne.mario).get(url).status_code == 200
    assert password_client(ne.alfa).get(url).status_code == 404
    with pytest.raises(S.AdesioniError):
        S.adhesion_approve(user=ne.giulio, adhesion_id=adhesion.pk, now=now)


def test_banditore_list_filters_by_status_aderente_and_round(ne, samples, password_client):
    """R-ADE-041 (all aderenti, SENT/APPROVED only, filters by status, aderente and round) and
    R-ADE-032 (label of a sent adhesion)."""
    now = timezone.now()

    def create(user, organisation):
        return S.adhesion_create(
            user=user,
            contract=ne.contract,
            organisation=organisation,
            hypothesis="A",
            amount="100.00",
            files={"MI": manifestazione(samples)},
            now=now,
        )

    ours = create(ne.giulio, ne.adherent)
    theirs = create(ne.outsider, ne.other_adherent)
    mario = password_client(ne.mario)
    base = ne_url(f"contratti/{ne.contract.pk}/?tab=adesioni")

    def listed(query=""):
        page = mario.get(base + query).content.decode()
        return {a.code for a in (ours, theirs) if a.code in page}, page

    assert listed()[0] == set()  # drafts are not the banditore's
    S.adhesion_send(user=ne.giulio, adhesion_id=ours.pk, now=now)
    S.adhesion_send(user=ne.outsider, adhesion_id=theirs.pk, now=now)
    codes, page = listed()
    assert codes == {ours.code, theirs.code}
    assert "Inviata – in attesa di approvazione" in page
    assert listed("&aderente=esempio")[0] == {ours.code}
    assert listed("&aderente=altrove")[0] == {theirs.code}
    assert listed("&round=0")[0] == {ours.code, theirs.code}
    assert listed("&round=1")[0] == set()
    assert listed("&round=x")[0] == {ours.code, theirs.code}  # ignored, no error
    S.adhesion_approve(user=ne.mario, adhesion_id=theirs.pk, now=now)
    assert listed("&stato=APPROVED")[0] == {theirs.code}
    assert listed("&stato=SENT&aderente=esempio")[0] == {ours.code}
