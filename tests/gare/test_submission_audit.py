"""Building a draft offer leaves an audit trail that never tells the content of B and C, and the
changes to a draft are made under its lock: a draft submitted meanwhile is not changed any
more (its envelopes are sealed)."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from gare.models import EnvelopeFile, Offer, OfferStatus
from gare.services import submission as sub
from gare.services.common import GareError, StrongAuthRequired
from procurement.audit.models import AuditEvent
from tests.factories.kernel import aware

from .conftest import MINIMAL_PDF, pdf_upload

pytestmark = pytest.mark.django_db

SECRET_DISCOUNT, SECRET_DAYS = "17.37", 433
SECRET_B_NAME = "relazione-con-ribasso-17.37.pdf"
SECRET_C_NAME = "offerta-economica-ribasso-17.37.pdf"
ACTIONS = ("file caricato nella busta", "file eliminato dalla busta", "dati della busta salvati")


def at(day, h, m):
    return aware(2026, 7, day, h, m)


@pytest.fixture
def draft(world, lot):
    return sub.offer_draft(
        user=world.bidders[0], lot=lot, operator=world.operators[0], now=at(20, 9, 0)
    )


def add(world, offer, envelope, code, name, now=None):
    return sub.envelope_file_add(
        user=world.bidders[0],
        offer=offer,
        envelope_type=envelope,
        requirement_code=code,
        uploaded_file=pdf_upload(name),
        now=now or at(20, 9, 1),
    )


def economic(offer_user, offer, now):
    return sub.envelope_data_set(
        user=offer_user,
        offer=offer,
        envelope_type="C",
        data={
            "discount": SECRET_DISCOUNT,
            "discount_words": "diciassette virgola trentasette",
            "days": SECRET_DAYS,
            "days_words": "quattrocentotrentatré",
            "labour_costs": "612345.67",
            "company_safety_costs": "23456.78",
        },
        now=now,
    )


def events(offer):
    return list(AuditEvent.objects.for_object(offer).filter(action__in=ACTIONS).order_by("id"))


def test_every_change_of_a_draft_is_audited_without_the_content_of_b_and_c(world, draft):
    bidder = world.bidders[0]
    dgue = add(world, draft, "A", "DGUE", "dgue-operatore-1.pdf")
    report = add(world, draft, "B", "TECHNICAL_REPORT", SECRET_B_NAME)
    add(world, draft, "C", "ECONOMIC_OFFER", SECRET_C_NAME)
    sub.envelope_data_set(
        user=bidder,
        offer=draft,
        envelope_type="B",
        data={"A2": 3, "D1": "on", "D2": 2, "D3": ""},
        now=at(20, 9, 2),
    )
    economic(bidder, draft, at(20, 9, 3))
    sub.envelope_file_remove(user=bidder, item=report, now=at(20, 9, 4))

    trail = events(draft)
    assert [(e.action, e.payload) for e in trail[1:]] == [
        ("file caricato nella busta", {"envelope": "B", "requirement": "TECHNICAL_REPORT"}),
        ("file caricato nella busta", {"envelope": "C", "requirement": "ECONOMIC_OFFER"}),
        ("dati della busta salvati", {"envelope": "B", "requirement": "TABULAR_OFFER"}),
        ("dati della busta salvati", {"envelope": "C", "requirement": "ECONOMIC_OFFER"}),
        ("file eliminato dalla busta", {"envelope": "B", "requirement": "TECHNICAL_REPORT"}),
    ]
    assert all(e.actor_id == bidder.pk for e in trail)
    assert trail[0].organisation_id == world.sua.pk  # the authority's audit log
    # Envelope A: name, size and the fingerprint of the sealed blob as stored.
    with default_storage.open(dgue.storage_name, "rb") as fh:
        blob = fh.read()
    assert blob != MINIMAL_PDF  # sealed at rest
    assert trail[0].action == "file caricato nella busta"
    assert trail[0].payload == {
        "envelope": "A",
        "requirement": "DGUE",
        "name": "dgue-operatore-1.pdf",
        "size": len(MINIMAL_PDF),
        "sealed_sha256": hashlib.sha256(blob).hexdigest(),
    }
    # Nothing of B or C anywhere in the trail of the tender: no name, no figure.
    everything = json.dumps(
        [
            [e.action, e.object_repr, e.payload, e.from_state, e.to_state]
            for e in AuditEvent.objects.all()
        ]
    )
    for secret in ("relazione-con", "offerta-economica", SECRET_DISCOUNT, str(SECRET_DAYS)):
        assert secret not in everything, secret
    assert "612345" not in everything and "23456" not in everything


def test_removing_an_a_file_is_audited_and_its_blob_deleted_after_commit(
    world, draft, django_capture_on_commit_callbacks
):
    item = add(world, draft, "A", "SOA", "soa.pdf")
    with default_storage.open(item.storage_name, "rb") as fh:
        sealed = hashlib.sha256(fh.read()).hexdigest()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sub.envelope_file_remove(user=world.bidders[0], item=item, now=at(20, 10, 0))
        # the blob stays until the deletion of the row is committed
        assert default_storage.exists(item.storage_name)
    assert not EnvelopeFile.objects.filter(pk=item.pk).exists()
    removed = events(draft)[-1]
    assert removed.action == "file eliminato dalla busta"
    assert removed.payload == {
        "envelope": "A",
        "requirement": "SOA",
        "name": "soa.pdf",
        "size": len(MINIMAL_PDF),
        "sealed_sha256": sealed,
    }
    for callback in callbacks:
        callback()
    assert not default_storage.exists(item.storage_name)
    # Removing it twice (a second tab): a clear message, no error page.
    with pytest.raises(GareError, match="non è più nella busta"):
        sub.envelope_file_remove(user=world.bidders[0], item=item, now=at(20, 10, 1))


def test_a_draft_submitted_meanwhile_is_not_changed_under_its_lock(world, lot, draft):
    """Two tabs: one submits the draft; the other, with the draft it loaded before, still tries
    to add or remove a file or to change the figures. The sealed offer must not change."""
    bidder = world.bidders[0]
    item = add(world, draft, "A", "DGUE", "dgue.pdf")
    economic(bidder, draft, at(20, 9, 2))
    stale_offer = Offer.objects.get(pk=draft.pk)
    stale_item = EnvelopeFile.objects.select_related("envelope__offer").get(pk=item.pk)
    submitted = sub.offer_submit(
        user=bidder, offer=draft, loa=2, confirm_problems=True, now=at(20, 9, 5)
    )
    assert submitted.status == OfferStatus.SUBMITTED
    assert stale_offer.status == OfferStatus.DRAFT  # what the other tab still holds
    before = submitted.envelopes.get(type="C").sealed_data
    audited = AuditEvent.objects.count()

    with pytest.raises(GareError, match="già stata presentata"):
        sub.envelope_file_remove(user=bidder, item=stale_item, now=at(20, 9, 6))
    with pytest.raises(GareError, match="già stata presentata"):
        add(world, stale_offer, "A", "SOA", "soa.pdf", now=at(20, 9, 6))
    with pytest.raises(GareError, match="già stata presentata"):
        sub.envelope_data_set(
            user=bidder,
            offer=stale_offer,
            envelope_type="C",
            data={
                "discount": "1.00",
                "days": 400,
                "labour_costs": "612345.67",
                "company_safety_costs": "23456.78",
            },
            now=at(20, 9, 6),
        )
    assert EnvelopeFile.objects.filter(envelope__offer=submitted).count() == 1
    assert EnvelopeFile.objects.filter(pk=item.pk).exists()
    assert bytes(submitted.envelopes.get(type="C").sealed_data) == bytes(before)
    assert AuditEvent.objects.count() == audited  # nothing half-written
    # the refused upload left no orphan blob behind
    sealed_dir = f"gare/sealed/{lot.tender_id}"
    assert len(default_storage.listdir(sealed_dir)[1]) == 1


def test_an_upload_refused_for_the_envelope_limit_leaves_nothing(world, lot, draft):
    type(lot.tender).objects.filter(pk=lot.tender_id).update(
        max_file_size_mb=1, max_envelope_size_mb=1
    )
    draft.lot.tender.refresh_from_db()
    chunk = b"%PDF-1.4\n" + b"0" * (700 * 1024)
    upload = dict(user=world.bidders[0], offer=draft, envelope_type="A", requirement_code="OTHER_A")
    sub.envelope_file_add(
        **upload, uploaded_file=SimpleUploadedFile("a.pdf", chunk), now=at(20, 9, 1)
    )
    audited = AuditEvent.objects.count()
    with pytest.raises(GareError, match="La busta supererebbe il limite"):
        sub.envelope_file_add(
            **upload, uploaded_file=SimpleUploadedFile("b.pdf", chunk), now=at(20, 9, 2)
        )
    assert AuditEvent.objects.count() == audited
    assert EnvelopeFile.objects.filter(envelope__offer=draft).count() == 1


def test_strong_authentication_is_its_own_refusal(world, draft):
    """The API turns it into a 403 by its type (gare/api_write.py), not by its wording."""
    add(world, draft, "A", "DGUE", "dgue.pdf")
    economic(world.bidders[0], draft, at(20, 9, 2))
    for loa in (None, 1):
        with pytest.raises(StrongAuthRequired) as exc:
            sub.offer_submit(
                user=world.bidders[0], offer=draft, loa=loa, confirm_problems=True, now=at(20, 9, 5)
            )
        assert isinstance(exc.value, GareError)  # the pages show it as any other refusal
        assert "SPID o CIE" in exc.value.message
    draft.refresh_from_db()
    assert draft.status == OfferStatus.DRAFT
