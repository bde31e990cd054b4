"""Minutes and award documents stored in the procedure file (R-GARE-084): requested by the step,
rendered after commit by the Celery task (never inside a request), stored with SHA-256, signed
by the board/president (signature and content checked by the kernel), and the offered values
hidden from the tender board (permission matrix row 26)."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gare.models import GareDocument, GareDocumentKind, GareDocumentStatus, SessionKind
from gare.services import procedure as proc
from gare.services.common import GareError
from gare.services.documents import document_render, document_sign, render_pending
from procurement.audit.models import AuditEvent
from procurement.documents import testca
from procurement.documents.models import DocumentVersion
from procurement.documents.services import document_version_content
from tests.factories.kernel import aware

from .conftest import run_to_admissions, run_to_ranking, run_to_technical

pytestmark = pytest.mark.django_db

RENDER_AT = aware(2026, 7, 28, 10, 1)


def minutes_of(lot, kind) -> GareDocument:
    return (
        GareDocument.objects.filter(lot=lot, kind=GareDocumentKind.MINUTES, session__kind=kind)
        .order_by("-version")
        .first()
    )


def minutes_url(lot, kind) -> str:
    session = lot.sessions.get(kind=kind)
    return f"/gare/lotti/{lot.pk}/sedute/{session.pk}/verbale.pdf"


def signer_for(samples, user):
    # valid from before the tender's dates, which the services receive as `now`
    return testca.issue_signer(
        samples.ca, name=user.get_full_name(), tax_code=user.tax_code, now=aware(2026, 6, 1, 9, 0)
    )


def test_the_step_requests_the_minutes_and_the_request_never_renders(
    world, lot, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        run_to_admissions(world, lot, 2)
    doc = minutes_of(lot, SessionKind.ADMIN_OPENING)
    assert doc.status == GareDocumentStatus.PENDING and doc.generated is None
    assert doc.version == 1 and doc.key == f"minutes:{doc.session_id}"
    # the render is handed to Celery after the commit of the step, not during it
    assert any(getattr(cb, "__qualname__", "").startswith("document_request") for cb in callbacks)

    versions = DocumentVersion.objects.count()
    response = client_for(world.rup).get(minutes_url(lot, SessionKind.ADMIN_OPENING))
    assert response.status_code == 202
    assert "Il verbale è in preparazione" in response.content.decode()
    assert DocumentVersion.objects.count() == versions  # nothing rendered inside the request


def test_render_stores_the_pdf_with_sha256_once_and_the_view_serves_the_stored_file(
    world, lot, client_for
):
    run_to_admissions(world, lot, 2)
    doc = minutes_of(lot, SessionKind.ADMIN_OPENING)
    document_render(document_id=doc.pk, now=RENDER_AT)
    document_render(document_id=doc.pk, now=RENDER_AT)  # a retried task does nothing twice
    doc.refresh_from_db()
    assert doc.status == GareDocumentStatus.DRAFT
    stored = document_version_content(version=doc.generated)
    assert stored.startswith(b"%PDF-")
    assert doc.sha256 == hashlib.sha256(stored).hexdigest() == doc.generated.sha256
    assert DocumentVersion.objects.filter(document__use="gare_procedure_pdf").count() == 1
    assert AuditEvent.objects.filter(action="documento della procedura generato").count() == 1

    response = client_for(world.rup).get(minutes_url(lot, SessionKind.ADMIN_OPENING))
    assert response.status_code == 200
    assert response.content == stored
    assert response["X-Content-SHA256"] == doc.sha256
    assert render_pending(now=RENDER_AT) == 0


def test_technical_minutes_get_a_new_version_when_the_scores_are_published(world, lot):
    run_to_admissions(world, lot, 2)
    run_to_technical(world, lot)
    docs = list(
        GareDocument.objects.filter(session__kind=SessionKind.TECH_OPENING).order_by("version")
    )
    assert [d.version for d in docs] == [1, 2]
    assert docs[0].run is None and docs[1].run.stage == "TECHNICAL"
    assert render_pending(now=aware(2026, 8, 12, 9, 5)) == 3  # admin minutes + two technical
    assert all(d.sha256 for d in GareDocument.objects.all())


def _upload(name, data, content_type):
    return SimpleUploadedFile(name, data, content_type=content_type)


def test_the_board_signs_the_administrative_minutes_p7m_checked_against_the_draft(
    world, lot, client_for, samples
):
    run_to_admissions(world, lot, 2)
    render_pending(now=RENDER_AT)
    doc = minutes_of(lot, SessionKind.ADMIN_OPENING)
    client = client_for(world.board)
    draft = client.get(f"/gare/lotti/{lot.pk}/documenti/{doc.pk}/")
    assert draft.status_code == 200 and draft.content.startswith(b"%PDF-")
    url = f"/gare/lotti/{lot.pk}/documenti/{doc.pk}/firma/"
    signer = signer_for(samples, world.board)

    # another PDF, correctly signed: refused, nothing changes
    other = samples.p7m_of(samples.pdf, signer=signer)
    response = client.post(url, {"file": _upload("v.pdf.p7m", other, "application/pkcs7-mime")})
    assert response.status_code == 302
    page = client.get(f"/gare/lotti/{lot.pk}/graduatoria/").content.decode()
    assert "Il file firmato non corrisponde alla bozza generata" in page
    doc.refresh_from_db()
    assert doc.status == GareDocumentStatus.DRAFT

    # the draft signed by someone else (the RUP, with a trusted certificate): refused
    by_other = samples.p7m_of(draft.content, signer=signer_for(samples, world.rup))
    with pytest.raises(GareError, match="deve essere firmato da chi lo carica"):
        document_sign(
            user=world.board,
            document=doc,
            uploaded_file=_upload("v.p7m", by_other, "application/pkcs7-mime"),
            now=aware(2026, 7, 29, 9, 0),
        )
    # a signature from an untrusted certificate: the kernel refuses it
    untrusted = testca.sign_p7m(draft.content, samples.stranger)
    with pytest.raises(GareError):
        document_sign(
            user=world.board,
            document=doc,
            uploaded_file=_upload("v.p7m", untrusted, "application/pkcs7-mime"),
            now=aware(2026, 7, 29, 9, 0),
        )
    # a bidder cannot even see it
    assert client_for(world.bidders[0]).post(url, {}).status_code == 404

    signed = samples.p7m_of(draft.content, signer=signer)
    response = client.post(url, {"file": _upload("v.pdf.p7m", signed, "application/pkcs7-mime")})
    assert response.status_code == 302
    doc.refresh_from_db()
    assert doc.status == GareDocumentStatus.SIGNED
    assert doc.signed_by == world.board and doc.signed.signer_tax_code == world.board.tax_code
    event = AuditEvent.objects.get(action="documento della procedura firmato")
    assert event.payload["generated_sha256"] == doc.sha256
    assert event.from_state == "DRAFT" and event.to_state == "SIGNED"
    downloaded = client.get(f"/gare/lotti/{lot.pk}/documenti/{doc.pk}/firmato/")
    assert downloaded.status_code == 200 and downloaded.content == signed
    with pytest.raises(GareError, match="già firmato"):
        document_sign(
            user=world.board,
            document=doc,
            uploaded_file=_upload("v.p7m", signed, "application/pkcs7-mime"),
            now=aware(2026, 7, 29, 9, 0),
        )


def test_pades_signature_by_the_rup_and_only_the_allowed_signers(world, lot, samples):
    run_to_admissions(world, lot, 2)
    run_to_technical(world, lot)
    render_pending(now=aware(2026, 8, 12, 9, 5))
    doc = minutes_of(lot, SessionKind.TECH_OPENING)
    draft = document_version_content(version=doc.generated)
    # the technical minutes: the president of the commission or the RUP, not the board
    with pytest.raises(Exception, match="Non puoi firmare"):
        document_sign(
            user=world.board,
            document=doc,
            uploaded_file=_upload("v.pdf", draft, "application/pdf"),
            now=aware(2026, 8, 13, 9, 0),
        )
    pades = testca.sign_pdf(draft, signer_for(samples, world.rup), chain=[samples.ca])
    doc = document_sign(
        user=world.rup,
        document=doc,
        uploaded_file=_upload("verbale.pdf", pades, "application/pdf"),
        now=aware(2026, 8, 13, 9, 0),
    )
    assert doc.status == GareDocumentStatus.SIGNED and doc.signed.signature_format == "PADES"


def test_matrix_row_26_the_board_does_not_see_offered_values(world, lot, client_for):
    run_to_admissions(world, lot, 2, discounts=["14.25", "12.50"])
    run_to_technical(world, lot)
    run_to_ranking(world, lot)
    proc.award_propose(user=world.rup, lot=lot, now=aware(2026, 9, 9, 9, 0))
    render_pending(now=aware(2026, 9, 9, 9, 5))
    assert GareDocument.objects.get(kind=GareDocumentKind.AWARD_PROPOSAL).status == "DRAFT"

    board = client_for(world.board)
    page = board.get(f"/gare/lotti/{lot.pk}/graduatoria/").content.decode()
    assert "Tecnico" in page
    assert "Economico" not in page and "Totale" not in page
    assert "non sono visibili al seggio di gara" in page
    assert 'data-testid="minutes-econ_opening"' not in page
    assert 'data-testid="award-document"' not in page
    assert 'data-testid="minutes-admin_opening"' in page
    assert board.get(minutes_url(lot, SessionKind.ECON_OPENING)).status_code == 404
    assert board.get(f"/gare/lotti/{lot.pk}/aggiudicazione.pdf").status_code == 404
    econ = minutes_of(lot, SessionKind.ECON_OPENING)
    assert board.get(f"/gare/lotti/{lot.pk}/documenti/{econ.pk}/").status_code == 404
    # the administrative and technical minutes carry no offered value: the board gets them
    assert board.get(minutes_url(lot, SessionKind.ADMIN_OPENING)).status_code == 200
    assert board.get(minutes_url(lot, SessionKind.TECH_OPENING)).status_code == 200

    for user in (world.rup, world.commissioners[1]):
        client = client_for(user)
        page = client.get(f"/gare/lotti/{lot.pk}/graduatoria/").content.decode()
        assert "Economico" in page and "Totale" in page
        assert 'data-testid="minutes-econ_opening"' in page
        assert 'data-testid="award-document"' in page
        assert client.get(minutes_url(lot, SessionKind.ECON_OPENING)).status_code == 200
        response = client.get(f"/gare/lotti/{lot.pk}/aggiudicazione.pdf")
        assert response.status_code == 200 and response.content.startswith(b"%PDF-")


def test_award_adoption_adds_the_decision_and_keeps_the_proposal(world, lot, client_for):
    run_to_admissions(world, lot, 2)
    run_to_technical(world, lot)
    run_to_ranking(world, lot)
    proc.award_propose(user=world.rup, lot=lot, now=aware(2026, 9, 9, 9, 0))
    proc.verification_start(user=world.rup, lot=lot, now=aware(2026, 9, 10, 9, 0))
    proc.verification_record(
        user=world.rup, lot=lot, positive=True, note="", now=aware(2026, 9, 20, 9, 0)
    )
    proc.award_adopt(user=world.rup, lot=lot, now=aware(2026, 10, 1, 9, 0))
    client = client_for(world.rup)
    pending = client.get(f"/gare/lotti/{lot.pk}/aggiudicazione.pdf")
    assert pending.status_code == 202
    assert "Il verbale è in preparazione" in pending.content.decode()
    render_pending(now=aware(2026, 10, 1, 9, 5))
    kinds = set(GareDocument.objects.filter(award__isnull=False).values_list("kind", flat=True))
    assert kinds == {GareDocumentKind.AWARD_PROPOSAL, GareDocumentKind.AWARD_DECISION}
    decision = GareDocument.objects.get(kind=GareDocumentKind.AWARD_DECISION)
    response = client.get(f"/gare/lotti/{lot.pk}/aggiudicazione.pdf")
    assert response.status_code == 200
    assert response["X-Content-SHA256"] == decision.sha256


@pytest.fixture
def worker_media(settings, tmp_path):
    """The worker of tests/services.py stores under its VAR_DIR (tmp_path/var): read from there."""
    settings.MEDIA_ROOT = tmp_path / "var" / "media"
    return settings.MEDIA_ROOT


def test_a_real_worker_renders_the_minutes_after_the_commit(
    worker_media, celery_worker, world, lot, client_for
):
    from tests.services import wait_for

    run_to_admissions(world, lot, 2)  # committed: the step's on_commit queues the render
    doc = minutes_of(lot, SessionKind.ADMIN_OPENING)

    def rendered():
        doc.refresh_from_db()
        return doc.status == GareDocumentStatus.DRAFT

    wait_for(rendered, timeout=90, what="the minutes rendered by the worker")
    response = client_for(world.rup).get(minutes_url(lot, SessionKind.ADMIN_OPENING))
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == doc.sha256
    assert "render_gare_document" in celery_worker.output()
