"""Write API of the economic operator's submission flow: the same services and rules as the
offer page (own data only, server-time deadline, limits, SPID/CIE to send and withdraw), and
the content of envelopes B and C is never readable through it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.authtoken.models import Token

from gare.models import (
    AttemptOutcome,
    Envelope,
    EnvelopeFile,
    Offer,
    OfferStatus,
    Participant,
    ParticipantStatus,
    SubmissionAttempt,
)
from tests.factories.kernel import UserFactory, aware

from .conftest import MINIMAL_PDF, submit_offer

pytestmark = pytest.mark.django_db

MS = 1000

# Values and file contents that appear nowhere else: if one shows up in an answer, B or C leaked.
SECRET_C = {
    "discount": "17.37",
    "discount_words": "diciassette virgola trentasette",
    "days": "433",
    "days_words": "quattrocentotrentatré",
    "labour_costs": "612345.67",
    "company_safety_costs": "23456.78",
}
SECRET_B = {"A2": 7, "D1": True, "D2": 5, "D3": False}
B_MARKER, C_MARKER = b"RELAZIONE-RISERVATA-4711", b"OFFERTA-RISERVATA-9020"

A_FILES = ["PARTICIPATION_FORM", "DGUE", "ANAC_RECEIPT", "GUARANTEE", "SOA"]


def at(day, h, m, s=0, ms=0):
    return aware(2026, 7, day, h, m, s, ms * MS)


def pdf(name="documento.pdf", marker=b""):
    data = MINIMAL_PDF.replace(b"%PDF-1.4\n", b"%PDF-1.4\n%" + marker + b"\n") if marker else None
    return SimpleUploadedFile(name, data or MINIMAL_PDF, content_type="application/pdf")


def base(lot):
    return f"/gare/api/lotti/{lot.pk}/offerta/"


def post_json(client, url, data=None, **extra):
    return client.post(url, json.dumps(data or {}), content_type="application/json", **extra)


def prepare(client, lot, **data):
    return post_json(client, base(lot), data)


def upload(client, lot, envelope, requirement, file, **extra):
    return client.post(
        f"{base(lot)}buste/{envelope}/file/", {"requirement": requirement, "file": file}, **extra
    )


def put_data(client, lot, envelope, data):
    return client.put(
        f"{base(lot)}buste/{envelope}/dati/", json.dumps(data), content_type="application/json"
    )


def submit(client, lot, confirm=True, **extra):
    return post_json(client, f"{base(lot)}invia/", {"confirm": confirm}, **extra)


def withdraw(client, lot, **extra):
    return post_json(client, f"{base(lot)}ritira/", **extra)


def detail(response) -> str:
    assert response["Content-Type"] == "application/problem+json", response.content[:300]
    return response.json()["detail"]


def assert_nothing_of_b_and_c(text: str) -> None:
    for value in [
        SECRET_C["discount"],
        SECRET_C["days"],
        SECRET_C["labour_costs"],
        SECRET_C["company_safety_costs"],
    ]:
        assert not re.search(rf"(?<![\w.-]){re.escape(value)}(?![\w.])", text), value
    assert "diciassette" not in text and "quattrocentotrenta" not in text
    assert B_MARKER.decode() not in text and C_MARKER.decode() not in text
    assert '"A2"' not in text and '"D2"' not in text


def fill_draft(client, lot, texts):
    """Every mandatory file (unsigned PDFs) and the data of B and C, through the API."""
    for code in A_FILES:
        response = upload(client, lot, "A", code, pdf(f"{code.lower()}.pdf"))
        assert response.status_code == 201, response.content
        texts.append(response.content.decode())
    for envelope, code, marker in (
        ("B", "TECHNICAL_REPORT", B_MARKER),
        ("B", "TABULAR_OFFER", B_MARKER),
        ("C", "ECONOMIC_OFFER", C_MARKER),
    ):
        response = upload(client, lot, envelope, code, pdf(f"{code.lower()}.pdf", marker))
        assert response.status_code == 201, response.content
        texts.append(response.content.decode())
    for envelope, data in (("B", SECRET_B), ("C", SECRET_C)):
        response = put_data(client, lot, envelope, data)
        assert response.status_code == 200, response.content
        assert response.json()["has_data"] is True
        texts.append(response.content.decode())


# --- the journey ------------------------------------------------------------------------------


def test_an_operator_prepares_submits_replaces_and_withdraws_through_the_api(
    world, lot, strong_client_for
):
    bidder, operator = world.bidders[0], world.operators[0]
    texts = []
    with time_machine.travel(at(20, 9, 0), tick=False):
        client = strong_client_for(bidder)
        state = client.get(base(lot))
        assert state.status_code == 200
        assert state.json()["strong_auth"] is True and state.json()["submission_open"] is True
        assert state.json()["draft"] is None

        created = prepare(client, lot, form="SINGLE")
        assert created.status_code == 201
        draft = created.json()
        assert [e["type"] for e in draft["envelopes"]] == ["A", "B", "C"]
        assert "Manca «DGUE elettronico»." in draft["problems"]
        # Preparing again returns the same draft.
        again = prepare(client, lot)
        assert again.status_code == 200 and again.json()["id"] == draft["id"]

        fill_draft(client, lot, texts)
        unsigned = upload(client, lot, "A", "OTHER_A", pdf("altro.pdf"))
        # A missing signature is a warning on a file that needs one, not a refusal.
        signed_required = EnvelopeFile.objects.get(requirement_code="PARTICIPATION_FORM")
        assert unsigned.status_code == 201 and signed_required.signature_ok is False
        extra_id = unsigned.json()["id"]
        removed = client.delete(f"{base(lot)}file/{extra_id}/")
        assert removed.status_code == 204
        assert not EnvelopeFile.objects.filter(pk=extra_id).exists()

        state = client.get(base(lot))
        texts.append(state.content.decode())
        draft = state.json()["draft"]
        assert {e["type"]: e["has_data"] for e in draft["envelopes"]} == {
            "A": False,
            "B": True,
            "C": True,
        }
        assert sum(len(e["files"]) for e in draft["envelopes"]) == 8
        # Only the signatures are missing now.
        assert not any("Manca" in p or "Compila" in p for p in draft["problems"])
        assert any("non ha una firma digitale valida" in p for p in draft["problems"])

        refused = submit(client, lot, confirm=False)
        assert refused.status_code == 400
        assert "Prima di inviare" in detail(refused) and "conferma esplicitamente" in detail(
            refused
        )
        assert not Offer.objects.exclude(status=OfferStatus.DRAFT).exists()

        sent = submit(client, lot)
        assert sent.status_code == 201, sent.content
        v1 = sent.json()
        texts.append(sent.content.decode())
        assert v1["status"] == "SUBMITTED" and v1["version_no"] == 1 and v1["receipt_no"]
        assert v1["unsigned_confirmed"] is True

        receipt = client.get(v1["receipt_url"])
        assert receipt.status_code == 200
        texts.append(receipt.content.decode())
        body = receipt.json()
        offer = Offer.objects.get(pk=v1["id"])
        assert body["receipt_no"] == offer.receipt_no
        assert body["manifest_sha256"] == offer.manifest_sha256
        assert body["operator"] == operator.name and body["tender_code"] == lot.tender.code
        assert {e["type"]: e["sha256"] for e in body["envelopes"]} == {
            e.type: e.sha256 for e in offer.envelopes.all()
        }
        assert {e["type"] for e in body["envelopes"]} == {"A", "B", "C"}
        assert all(e["sealed_at"] for e in body["envelopes"])

    # Replacement: a new draft, sent later; only the last one counts.
    with time_machine.travel(at(24, 10, 0), tick=False):
        client = strong_client_for(bidder)
        assert prepare(client, lot).status_code == 201
        put_data(client, lot, "B", SECRET_B)
        put_data(client, lot, "C", {**SECRET_C, "discount_words": "", "days_words": ""})
        replaced = submit(client, lot)
        assert replaced.status_code == 201
        v2 = replaced.json()
        assert v2["version_no"] == 2 and v2["receipt_no"] != v1["receipt_no"]
        offers = {o["id"]: o["status"] for o in client.get(base(lot)).json()["offers"]}
        assert offers == {v1["id"]: "SUPERSEDED", v2["id"]: "SUBMITTED"}
        participant = Participant.objects.get(lot=lot, operator=operator)
        assert str(participant.current_offer_id) == v2["id"]

    with time_machine.travel(at(26, 18, 0), tick=False):
        client = strong_client_for(bidder)
        withdrawn = withdraw(client, lot)
        assert withdrawn.status_code == 200, withdrawn.content
        assert withdrawn.json()["status"] == "WITHDRAWN"
        assert withdrawn.json()["withdrawal_receipt_no"]
        participant.refresh_from_db()
        assert participant.status == ParticipantStatus.WITHDRAWN
        assert participant.current_offer is None
        # Nothing left to withdraw.
        again = withdraw(client, lot)
        assert again.status_code == 404 and "da ritirare" in detail(again)
        state = client.get(base(lot)).json()
        assert [a["outcome"] for a in state["attempts"]] == [
            AttemptOutcome.WITHDRAWN,
            AttemptOutcome.ACCEPTED,
            AttemptOutcome.ACCEPTED,
        ]
    for text in texts:
        assert_nothing_of_b_and_c(text)


# --- own data only ----------------------------------------------------------------------------


def test_another_operators_offer_files_and_receipt_do_not_exist_for_the_caller(
    world, lot, client_for
):
    with time_machine.travel(at(20, 9, 0), tick=False):
        owner = client_for(world.bidders[0])
        prepare(owner, lot)
        file_id = upload(owner, lot, "A", "DGUE", pdf()).json()["id"]
        other = client_for(world.bidders[1])
        state = other.get(base(lot)).json()
        assert state["draft"] is None and state["operator"] == world.operators[1].name
        assert other.delete(f"{base(lot)}file/{file_id}/").status_code == 404
        # The other operator's own draft does not make the file theirs.
        prepare(other, lot)
        assert other.delete(f"{base(lot)}file/{file_id}/").status_code == 404
        assert EnvelopeFile.objects.filter(pk=file_id).exists()
        offer = submit_offer(
            user=world.bidders[0], operator=world.operators[0], lot=lot, now=at(20, 9, 0)
        )
        assert other.get(f"/gare/api/offerte/{offer.pk}/ricevuta/").status_code == 404
        assert withdraw(other, lot).status_code == 404
        offer.refresh_from_db()
        assert offer.status == OfferStatus.SUBMITTED
        # Staff of the authority and the platform's superuser are no operator.
        for user in (world.rup, UserFactory(username="root", is_superuser=True, is_staff=True)):
            client = Client()
            client.force_login(user)
            for response in (client.get(base(lot)), prepare(client, lot)):
                assert response.status_code == 403
                assert "operatore economico" in detail(response)
            assert client.get(f"/gare/api/offerte/{offer.pk}/ricevuta/").status_code == 404
    anonymous = Client().get(base(lot))
    assert anonymous.status_code == 401 and "Autenticazione richiesta" in detail(anonymous)


# --- the deadline -----------------------------------------------------------------------------


def test_after_the_deadline_nothing_is_written_and_the_message_gives_server_time(
    world, lot, strong_client_for, settings
):
    bidder, operator = world.bidders[0], world.operators[0]
    v1 = submit_offer(user=bidder, operator=operator, lot=lot, now=at(24, 9, 0))
    with time_machine.travel(at(27, 11, 0), tick=False):
        client = strong_client_for(bidder)
        assert prepare(client, lot).status_code == 201
        file_id = upload(client, lot, "A", "DGUE", pdf()).json()["id"]
    draft = Offer.objects.get(status=OfferStatus.DRAFT)
    stored = sorted(p.name for p in Path(settings.MEDIA_ROOT).rglob("*.bin"))
    with time_machine.travel(at(27, 12, 0, 0, 1), tick=False):
        late_upload = upload(client, lot, "C", "ECONOMIC_OFFER", pdf(marker=C_MARKER))
        late_data = put_data(client, lot, "C", SECRET_C)
        late_delete = client.delete(f"{base(lot)}file/{file_id}/")
        late_submit = submit(client, lot)
        late_withdraw = withdraw(client, lot)
        late_prepare = prepare(client, lot, form="RTI_CONSTITUTED")
    for response in (late_upload, late_data, late_delete, late_submit, late_prepare):
        assert response.status_code == 400
        assert detail(response) == (
            "Offerta irricevibile: il termine di presentazione è scaduto il 27/07/2026 "
            "12:00:00; ora del server al momento dell'invio: 27/07/2026 12:00:00."
        )
    assert late_withdraw.status_code == 400
    assert detail(late_withdraw) == "Il termine è scaduto: l'offerta non si può più ritirare."
    # Nothing written: no file, no data, the draft still a draft, v1 still the valid offer.
    assert EnvelopeFile.objects.filter(envelope__offer=draft).count() == 1
    assert sorted(p.name for p in Path(settings.MEDIA_ROOT).rglob("*.bin")) == stored
    assert Envelope.objects.get(offer=draft, type="C").sealed_data is None
    draft.refresh_from_db()
    v1.refresh_from_db()
    assert (draft.status, draft.form, v1.status) == ("DRAFT", "SINGLE", "SUBMITTED")
    assert Participant.objects.get(operator=operator).current_offer == v1
    # The refused attempts stay on record, as on the page.
    assert list(
        SubmissionAttempt.objects.filter(operator=operator)
        .exclude(outcome=AttemptOutcome.ACCEPTED)
        .values_list("outcome", flat=True)
    ) == [AttemptOutcome.REJECTED_LATE, AttemptOutcome.REJECTED_LATE]


# --- strong authentication --------------------------------------------------------------------


def test_submitting_and_withdrawing_need_a_spid_or_cie_session(world, lot, client_for):
    bidder, operator = world.bidders[0], world.operators[0]
    v1 = submit_offer(user=bidder, operator=operator, lot=lot, now=at(20, 8, 0))
    token = Token.objects.create(user=bidder)
    with time_machine.travel(at(20, 9, 0), tick=False):
        weak = client_for(bidder)
        assert weak.get(base(lot)).json()["strong_auth"] is False
        # Preparing needs no SPID/CIE, as on the page.
        assert prepare(weak, lot).status_code == 201
        put_data(weak, lot, "B", SECRET_B)
        put_data(weak, lot, "C", SECRET_C)
        refused = submit(weak, lot)
        assert refused.status_code == 403
        assert "necessario l'accesso con SPID o CIE" in detail(refused)
        assert "/account/accesso-forte/" in detail(refused)
        not_withdrawn = withdraw(weak, lot)
        assert not_withdrawn.status_code == 403
        assert "necessario l'accesso con SPID o CIE" in detail(not_withdrawn)

        api = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
        assert api.get(base(lot)).json()["strong_auth"] is False
        by_token = submit(api, lot)
        assert by_token.status_code == 403
        assert "autenticazione a token" in detail(by_token)
        assert withdraw(api, lot).status_code == 403
    v1.refresh_from_db()
    assert v1.status == OfferStatus.SUBMITTED
    assert Offer.objects.filter(status=OfferStatus.DRAFT).count() == 1
    assert Offer.objects.filter(operator=operator).count() == 2


def test_a_session_client_needs_the_csrf_token(world, lot, client_for):
    client = client_for(world.bidders[0])
    client.handler.enforce_csrf_checks = True
    with time_machine.travel(at(20, 9, 0), tick=False):
        response = prepare(client, lot)
    assert response.status_code == 403 and "Verifica CSRF non riuscita" in detail(response)
    assert not Offer.objects.exists()


# --- limits and input -------------------------------------------------------------------------


def test_files_over_the_limits_are_refused(world, lot, client_for):
    # Scaled-down limits (1 MB per file, 2 MB per envelope), the same rule as 15 and 50 MB.
    type(lot.tender).objects.filter(pk=lot.tender_id).update(
        max_file_size_mb=1, max_envelope_size_mb=2
    )
    chunk = b"%PDF-1.4\n" + b"0" * (900 * 1024)
    with time_machine.travel(at(20, 9, 0), tick=False):
        client = client_for(world.bidders[0])
        prepare(client, lot)
        big = upload(client, lot, "B", "TECHNICAL_REPORT", pdf("grande.pdf", b"0" * 1100 * 1024))
        assert big.status_code == 400
        assert re.search(r"Il file supera il limite di 1[,.]0\sMB per singolo file", detail(big))
        for name in ("a.pdf", "b.pdf"):
            ok = upload(client, lot, "A", "OTHER_A", SimpleUploadedFile(name, chunk))
            assert ok.status_code == 201
        full = upload(client, lot, "A", "OTHER_A", SimpleUploadedFile("c.pdf", chunk))
        assert full.status_code == 400 and "La busta supererebbe il limite" in detail(full)
    assert sorted(EnvelopeFile.objects.values_list("original_name", flat=True)) == [
        "a.pdf",
        "b.pdf",
    ]


def test_bad_input_gets_the_pages_messages(world, lot, client_for):
    with time_machine.travel(at(20, 9, 0), tick=False):
        client = client_for(world.bidders[0])
        no_draft = put_data(client, lot, "C", SECRET_C)
        assert no_draft.status_code == 400
        assert detail(no_draft) == "Prepara prima una nuova offerta."
        assert submit(client, lot).status_code == 400
        bad_form = prepare(client, lot, form="SOCIETA_SEGRETA")
        assert bad_form.status_code == 400 and "forma di partecipazione" in detail(bad_form)
        assert prepare(client, lot, form="RTI_CONSTITUTED", members=["Alfa", " ", "Beta"]).json()[
            "members"
        ] == ["Alfa", "Beta"]
        assert client.get(f"{base(lot)}buste/D/dati/").status_code == 405
        assert put_data(client, lot, "D", SECRET_C).status_code == 404
        no_data = put_data(client, lot, "A", {"x": 1})
        assert no_data.status_code == 400 and "non ha dati strutturati" in detail(no_data)
        discount = put_data(client, lot, "C", {**SECRET_C, "discount": "100"})
        assert discount.status_code == 400 and "Il ribasso deve essere compreso" in detail(discount)
        days = put_data(client, lot, "C", {**SECRET_C, "days": "459"})
        assert "tra 1 e 458" in detail(days)
        tabular = put_data(client, lot, "B", {"A2": "tre"})
        assert "numeri interi per A2 e D2" in detail(tabular)
        no_file = client.post(f"{base(lot)}buste/A/file/", {"requirement": "DGUE"})
        assert no_file.status_code == 400 and detail(no_file) == "Scegli il file da caricare."
        wrong = upload(client, lot, "A", "ECONOMIC_OFFER", pdf())
        assert wrong.status_code == 400
        assert detail(wrong) == "Scegli il documento richiesto per questa busta."
        not_pdf = upload(
            client, lot, "A", "DGUE", SimpleUploadedFile("x.exe", b"MZ\x90\x00" + b"\x00" * 64)
        )
        assert not_pdf.status_code == 400
    assert not EnvelopeFile.objects.exists()
    assert not Envelope.objects.filter(sealed_data__isnull=False).exists()


# --- sealing ----------------------------------------------------------------------------------


def test_no_answer_reveals_envelopes_b_and_c_before_their_opening(
    world, lot, strong_client_for, client_for
):
    texts = []
    with time_machine.travel(at(20, 9, 0), tick=False):
        owner = strong_client_for(world.bidders[0])
        prepare(owner, lot)
        fill_draft(owner, lot, texts)
        texts.append(owner.get(base(lot)).content.decode())
        offer_id = submit(owner, lot).json()["id"]
    # The figures are really stored, sealed: B and C hold data and files.
    offer = Offer.objects.get(pk=offer_id)
    assert all(offer.envelopes.get(type=t).sealed_data for t in ("B", "C"))
    assert EnvelopeFile.objects.filter(envelope__offer=offer, envelope__type="C").exists()
    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)
    with time_machine.travel(at(27, 12, 30), tick=False):
        owner = client_for(world.bidders[0])  # a new day, a new login
        readers = [owner, client_for(world.rup), client_for(world.board), client_for(superuser)]
        for client in readers:
            for url in (base(lot), f"/gare/api/offerte/{offer_id}/ricevuta/"):
                response = client.get(url)
                assert response.status_code in (200, 403, 404)
                texts.append(response.content.decode())
            for item in EnvelopeFile.objects.filter(envelope__offer=offer):
                # There is no download in this API: the file's address is not an endpoint.
                response = client.get(f"{base(lot)}file/{item.pk}/")
                assert response.status_code in (403, 404, 405)
                texts.append(response.content.decode())
        receipt = owner.get(f"/gare/api/offerte/{offer_id}/ricevuta/").json()
        assert receipt["receipt_no"] == offer.receipt_no
    for text in texts:
        assert_nothing_of_b_and_c(text)


def test_the_schema_documents_the_write_endpoints(db):
    schema = Client().get("/api/schema/?format=json").json()
    paths = schema["paths"]
    assert "post" in paths["/gare/api/lotti/{id}/offerta/invia/"]
    assert "put" in paths["/gare/api/lotti/{id}/offerta/buste/{envelope}/dati/"]
    assert "delete" in paths["/gare/api/lotti/{id}/offerta/file/{file_pk}/"]
    responses = paths["/gare/api/lotti/{id}/offerta/ritira/"]["post"]["responses"]
    assert {"200", "400", "403", "404"} <= set(responses)
