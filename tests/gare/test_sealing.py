"""Secrecy: envelopes B and C cannot be read by anyone before their opening (S-31, DESIGN)."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.exceptions import InvalidTag
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage

from gare import sealing
from gare.models import Envelope, EnvelopeFile, EnvelopeState
from gare.services import procedure as proc
from gare.services import submission as sub
from gare.services.common import GareError
from tests.factories.kernel import aware

from .conftest import pdf_upload, submit_offer

pytestmark = pytest.mark.django_db

SECRET = b"%PDF-1.4\n% RELAZIONE TECNICA RISERVATA: ribasso 17,35 %\n%%EOF\n"


@pytest.fixture
def sealed(world, lot):
    offer = submit_offer(
        user=world.bidders[0],
        operator=world.operators[0],
        lot=lot,
        now=aware(2026, 7, 20, 9, 0),
        discount="17.35",
        files=[("B", "TECHNICAL_REPORT", pdf_upload("relazione.pdf", SECRET))],
    )
    return offer


def test_a_sealed_envelope_cannot_be_read_before_opening(world, lot, sealed, settings, client_for):
    env_b = sealed.envelopes.get(type="B")
    env_c = sealed.envelopes.get(type="C")
    item = env_b.files.get()
    assert env_b.state == EnvelopeState.SEALED

    # 1. Storage: the file on disk is ciphertext.
    with default_storage.open(item.storage_name, "rb") as fh:
        blob = fh.read()
    assert b"RISERVATA" not in blob and SECRET not in blob
    # 2. Database: the economic figures are ciphertext; the row holds only a *wrapped* key.
    raw_c = bytes(Envelope.objects.get(pk=env_c.pk).sealed_data)
    assert b"17.35" not in raw_c
    wrapped = bytes(lot.tender.wrapped_key)
    # The DB row alone does not decrypt: without the sealing key (outside the DB), unwrapping fails.
    settings.GARE_SEALING_KEY = base64.b64encode(b"\x01" * 32).decode()
    with pytest.raises(InvalidTag):
        sealing.data_key(lot.tender)
    with pytest.raises(InvalidTag):  # nor does using the wrapped key itself as a data key
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        AESGCM(wrapped[12:44]).decrypt(raw_c[:12], raw_c[12:], f"data:{env_c.pk}".encode())
    from .conftest import TEST_SEALING_KEY

    settings.GARE_SEALING_KEY = TEST_SEALING_KEY
    # 3. Services: refused before the opening, even to the RUP.
    with pytest.raises(sealing.SealedError):
        sub.envelope_file_content(user=world.rup, item=item)
    with pytest.raises(sealing.SealedError):
        sub.envelope_data(env_c)
    # 4. Web: the download is refused; the admin shows no content.
    response = client_for(world.rup).get(f"/gare/file/{item.pk}/")
    assert response.status_code in (403, 404)
    assert b"RISERVATA" not in response.content
    admin = world.rup
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = client_for(admin)
    page = client.get(f"/admin/gare/envelope/{env_c.pk}/change/").content
    assert b"17.35" not in page
    page = client.get(f"/admin/gare/envelopefile/{item.pk}/change/").content
    assert item.storage_name.encode() not in page
    assert client.get(f"/gare/file/{item.pk}/").status_code == 403


def test_opening_is_a_logged_session_step_and_only_then_content_is_readable(world, lot, sealed):
    from procurement.audit.models import AuditEvent

    submit_offer(
        user=world.bidders[1], operator=world.operators[1], lot=lot, now=aware(2026, 7, 21, 9, 0)
    )
    proc.session_start(user=world.rup, lot=lot, kind="ADMIN_OPENING", now=aware(2026, 7, 27, 15, 0))
    env_a = sealed.envelopes.get(type="A")
    env_b = sealed.envelopes.get(type="B")
    assert env_a.state == EnvelopeState.OPENED and env_b.state == EnvelopeState.SEALED
    assert AuditEvent.objects.filter(action="busta A aperta").count() == 2
    # Opening B before the admissions act is refused (AS-07 a).
    with pytest.raises(GareError):
        proc.session_start(
            user=world.rup, lot=lot, kind="TECH_OPENING", now=aware(2026, 7, 28, 9, 0)
        )
    with pytest.raises(sealing.SealedError):
        sub.envelope_file_content(user=world.rup, item=EnvelopeFile.objects.get(envelope=env_b))


def test_the_first_session_cannot_start_before_its_time(world, lot, sealed):
    from gare.services.common import GareError

    with pytest.raises(GareError) as exc:
        proc.session_start(
            user=world.rup, lot=lot, kind="ADMIN_OPENING", now=aware(2026, 7, 27, 14, 59)
        )
    assert "27/07/2026 15:00" in exc.value.message


def test_the_bidder_sees_its_own_figures_only_while_preparing(world, lot):
    offer = sub.offer_draft(
        user=world.bidders[0], lot=lot, operator=world.operators[0], now=aware(2026, 7, 20, 9, 0)
    )
    env = sub.envelope_data_set(
        user=world.bidders[0],
        offer=offer,
        envelope_type="C",
        data={
            "discount": "9.5",
            "days": 400,
            "labour_costs": "600000",
            "company_safety_costs": "0",
        },
        now=aware(2026, 7, 20, 9, 1),
    )
    assert sub.draft_envelope_data(user=world.bidders[0], envelope=env)["discount"] == "9.50"
    assert json.dumps(sub.draft_envelope_data(user=world.bidders[0], envelope=env))
    with pytest.raises(PermissionDenied):
        sub.draft_envelope_data(user=world.bidders[1], envelope=env)
