"""Uploading documents and versions: checks, storage, audit, access, pages."""

import hashlib
import re
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from procurement.audit.models import AuditEvent
from procurement.documents import services
from procurement.documents.models import DocumentVersion, SignatureFormat, StoredDocument
from procurement.documents.services import (
    DocumentError,
    document_purge_orphan_files,
    document_replace,
    document_upload,
    document_version_content,
)
from procurement.documents.tasks import purge_orphan_files
from procurement.documents.uses import PDF, PKCS7, DocumentUse, register_use
from tests.factories.documents import (
    SIGNER_TAX_CODE,
    fake_exe,
    shared_test_ca,
    tamper_p7m,
    tamper_pdf,
    upload,
)
from tests.factories.kernel import UserFactory, aware

pytestmark = pytest.mark.django_db


@pytest.fixture
def samples(tmp_path_factory, settings, tmp_path):
    signed = shared_test_ca(tmp_path_factory.getbasetemp())
    settings.SIGNATURE_TRUST_ROOTS = signed.trust_roots
    settings.MEDIA_ROOT = tmp_path / "media"
    return signed


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def upload_as(trio, data, *, name="atto.pdf", use="generic", title="Determina a contrarre", **kw):
    return document_upload(
        user=trio.owner,
        organisation=trio.organisation,
        use=use,
        title=title,
        uploaded_file=upload(name, data),
        **kw,
    )


# --- the service -----------------------------------------------------------------------------


def test_a_signed_p7m_is_stored_with_its_hash_type_and_signature(trio, samples, settings):
    now = timezone.now()
    version = upload_as(trio, samples.p7m, name="determina.pdf.p7m", use="signed_act", now=now)

    version.refresh_from_db()
    document = version.document
    assert (document.organisation, document.use, document.created_by) == (
        trio.organisation,
        "signed_act",
        trio.owner,
    )
    assert version.number == 1
    assert version.original_name == "determina.pdf.p7m"
    assert version.content_type == PKCS7
    assert version.signed_content_type == PDF
    assert version.size == len(samples.p7m)
    assert version.sha256 == hashlib.sha256(samples.p7m).hexdigest()
    assert version.signature_format == SignatureFormat.CADES_P7M
    assert version.signature_ok
    assert (version.signer_name, version.signer_tax_code) == ("Mario Rossi", SIGNER_TAX_CODE)
    assert version.signing_time is not None
    assert version.verified_at == now
    assert "Firma valida" in version.signature_message
    # The file name in storage never comes from the user.
    assert "determina" not in version.file.name
    assert document_version_content(version=version) == samples.p7m
    assert document_version_content(version=version, unwrap=True) == samples.pdf
    assert len(stored_files(settings)) == 1


def test_a_pades_pdf_is_verified_on_upload(trio, samples):
    version = upload_as(trio, samples.signed_pdf, use="signed_act")

    assert version.signature_format == SignatureFormat.PADES
    assert version.signature_ok
    assert version.signer_tax_code == SIGNER_TAX_CODE


def test_the_upload_is_recorded_in_the_audit_trail(trio, samples):
    version = upload_as(trio, samples.p7m, use="signed_act")

    event = AuditEvent.objects.for_object(version.document).get()
    assert event.action == "documento caricato"
    assert event.actor == trio.owner
    assert event.organisation == trio.organisation
    assert event.to_state == "v1"
    assert event.payload["sha256"] == version.sha256
    assert event.payload["signature"]["ok"] is True
    assert event.payload["signature"]["signer_tax_code"] == SIGNER_TAX_CODE


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("unsigned", "non contiene firme"),
        ("tampered_p7m", "modificato dopo la firma"),
        ("tampered_pdf", "modificato dopo la firma"),
        ("untrusted", "non attendibile"),
    ],
)
def test_a_use_that_requires_a_signature_refuses_anything_but_a_good_one(
    trio, samples, settings, kind, expected
):
    data = {
        "unsigned": lambda: samples.pdf,
        "tampered_p7m": lambda: tamper_p7m(samples.p7m),
        "tampered_pdf": lambda: tamper_pdf(samples.signed_pdf),
        "untrusted": samples.untrusted_p7m,
    }[kind]()

    with pytest.raises(DocumentError) as excinfo:
        upload_as(trio, data, use="signed_act")

    assert "serve un documento con firma digitale valida" in excinfo.value.message
    assert expected in excinfo.value.message
    assert not StoredDocument.objects.exists()
    assert stored_files(settings) == []


def test_a_generic_use_keeps_a_tampered_file_and_says_so(trio, samples):
    version = upload_as(trio, tamper_pdf(samples.signed_pdf), use="generic")

    assert version.signature_format == SignatureFormat.PADES
    assert version.signature_intact is False
    assert not version.signature_ok


def test_the_size_limit_comes_from_settings_and_is_explained_in_italian(trio, samples, settings):
    settings.DOCUMENT_MAX_SIZE_DEFAULT = 1000

    with pytest.raises(DocumentError) as excinfo:
        upload_as(trio, samples.pdf)

    assert excinfo.value.code == "too_big"
    assert "Il file supera la dimensione massima di" in excinfo.value.message
    assert "Documento generico" in excinfo.value.message
    assert stored_files(settings) == []


def test_a_use_can_set_its_own_size_limit(trio, samples):
    register_use(
        DocumentUse(
            code="test_tiny",
            label="Allegato minuscolo",
            content_types=frozenset({PDF}),
            max_size=100,
        )
    )
    with pytest.raises(DocumentError, match="supera la dimensione massima"):
        upload_as(trio, samples.pdf, use="test_tiny")


def test_an_empty_file_is_refused(trio, samples):
    with pytest.raises(DocumentError, match="Il file è vuoto"):
        upload_as(trio, b"")


def test_the_type_comes_from_the_content_not_the_name(trio, samples, settings):
    with pytest.raises(DocumentError) as excinfo:
        upload_as(trio, fake_exe(), name="offerta.pdf")
    assert "programma eseguibile" in excinfo.value.message
    assert "Formato non ammesso" in excinfo.value.message

    version = upload_as(trio, samples.pdf, name="foto.png")
    assert version.content_type == PDF


def test_a_p7m_wrapping_a_forbidden_type_is_refused(trio, samples):
    with pytest.raises(DocumentError, match=r"contenuto nella busta \.p7m non è in un formato"):
        upload_as(trio, samples.p7m_of(fake_exe()), name="documento.pdf.p7m")


def test_a_replacement_is_a_new_version_and_the_original_stays_readable(trio, samples, settings):
    first = upload_as(trio, samples.pdf, name="capitolato.pdf", use="generic")
    second = document_replace(
        user=trio.colleague,
        document=first.document,
        uploaded_file=upload("capitolato-firmato.pdf", samples.signed_pdf),
        now=aware(2026, 11, 24, 9, 0),
    )

    versions = list(first.document.versions.order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    assert first.file.name != second.file.name
    assert document_version_content(version=versions[0]) == samples.pdf
    assert document_version_content(version=versions[1]) == samples.signed_pdf
    assert first.document.current_version == second
    assert second.uploaded_by == trio.colleague
    assert len(stored_files(settings)) == 2

    events = list(AuditEvent.objects.for_object(first.document).order_by("id"))
    assert [e.action for e in events] == ["documento caricato", "nuova versione caricata"]
    assert (events[1].from_state, events[1].to_state) == ("v1", "v2")


def test_a_replacement_follows_the_rules_of_the_documents_use(trio, samples):
    act = upload_as(trio, samples.p7m, use="signed_act")

    with pytest.raises(DocumentError, match="firma digitale valida"):
        document_replace(
            user=trio.owner, document=act.document, uploaded_file=upload("x.pdf", samples.pdf)
        )
    assert act.document.versions.count() == 1


def test_only_members_of_the_organisation_can_upload_or_replace(trio, samples):
    with pytest.raises(PermissionDenied):
        document_upload(
            user=trio.outsider,
            organisation=trio.organisation,
            use="generic",
            title="Intruso",
            uploaded_file=upload("a.pdf", samples.pdf),
        )
    version = upload_as(trio, samples.pdf)
    with pytest.raises(Http404):
        document_replace(
            user=trio.outsider,
            document=version.document,
            uploaded_file=upload("b.pdf", samples.pdf),
        )
    with pytest.raises(PermissionDenied):
        document_upload(
            user=UserFactory(),
            organisation=trio.organisation,
            use="generic",
            title="Senza abilitazioni",
            uploaded_file=upload("a.pdf", samples.pdf),
        )


def test_an_unknown_use_is_refused(trio, samples):
    with pytest.raises(DocumentError, match="Tipo di documento sconosciuto"):
        upload_as(trio, samples.pdf, use="non_esiste")


def test_a_failed_transaction_leaves_no_file(trio, samples, settings, monkeypatch):
    def broken_audit(**kwargs):
        raise RuntimeError("database non disponibile")

    monkeypatch.setattr(services, "audit_record", broken_audit)

    with pytest.raises(RuntimeError):
        upload_as(trio, samples.pdf)

    assert not StoredDocument.objects.exists()
    assert stored_files(settings) == []


def test_files_left_by_an_outer_rollback_are_purged_after_the_grace_period(trio, samples, settings):
    kept = upload_as(trio, samples.pdf, title="Resta")
    with pytest.raises(RuntimeError), transaction.atomic():
        upload_as(trio, samples.signed_pdf, title="Annullato")
        raise RuntimeError("il chiamante annulla tutto")
    assert len(stored_files(settings)) == 2  # the row is gone, its file is not (yet)

    assert document_purge_orphan_files(now=timezone.now()) == []  # too recent: maybe in flight
    removed = document_purge_orphan_files(now=timezone.now() + services.ORPHAN_GRACE * 2)

    assert len(removed) == 1
    assert [p.name for p in stored_files(settings)] == [Path(kept.file.name).name]
    assert document_version_content(version=kept) == samples.pdf
    assert document_purge_orphan_files(now=timezone.now() + services.ORPHAN_GRACE * 2) == []


def test_the_daily_purge_job_runs_once_per_day_and_the_command_reports(samples, capsys):
    assert purge_orphan_files() == 0
    assert purge_orphan_files() is None  # the day's slot is already claimed
    call_command("documents_purge_orphans")
    assert "File orfani rimossi: 0." in capsys.readouterr().out


# --- pages -----------------------------------------------------------------------------------


def test_outsiders_get_404_on_the_page_and_the_download(trio, samples, client_for):
    version = upload_as(trio, samples.p7m, use="signed_act")
    detail = reverse("documents:detail", args=[version.document.uuid])
    download = reverse("documents:download", args=[version.document.uuid, 1])
    replace = reverse("documents:replace", args=[version.document.uuid])

    outsider = client_for(trio.outsider)
    assert outsider.get(detail).status_code == 404
    assert outsider.get(download).status_code == 404
    assert outsider.post(replace, {"file": upload("x.pdf", samples.pdf)}).status_code == 404

    for user in (trio.owner, trio.colleague):
        client = client_for(user)
        assert client.get(detail).status_code == 200
        response = client.get(download)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == samples.p7m
        assert response["Content-Type"] == PKCS7


def test_the_detail_page_shows_the_signature_next_to_the_file(trio, samples, client_for):
    version = upload_as(trio, samples.p7m, name="determina.pdf.p7m", use="signed_act")

    response = client_for(trio.colleague).get(
        reverse("documents:detail", args=[version.document.uuid])
    )

    page = response.content.decode()
    assert "determina.pdf.p7m" in page
    assert "Firma valida" in page
    assert "Mario Rossi" in page
    assert SIGNER_TAX_CODE in page
    assert re.search(r"Integra:</dt> <dd[^>]*>sì", page)
    assert re.search(r"Attendibile:</dt> <dd[^>]*>sì", page)
    assert "Carica nuova versione" in page
    assert "documento caricato" in page  # history panel


def test_a_user_uploads_from_the_page_and_sees_the_result(trio, samples, client_for):
    client = client_for(trio.owner)
    assert client.get(reverse("documents:upload")).status_code == 200

    response = client.post(
        reverse("documents:upload"),
        {
            "title": "Atto firmato",
            "use": "signed_act",
            "file": upload("atto.pdf", samples.signed_pdf),
        },
    )

    document = StoredDocument.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("documents:detail", args=[document.uuid])
    assert document.organisation == trio.organisation
    page = client.get(response["Location"]).content.decode()
    assert "Firma valida" in page and "Documento caricato" in page
    assert "Atto firmato" in client.get(reverse("documents:list")).content.decode()


def test_a_refused_upload_is_shown_as_a_form_error(trio, samples, client_for, settings):
    response = client_for(trio.owner).post(
        reverse("documents:upload"),
        {"title": "Offerta", "use": "generic", "file": upload("offerta.pdf", fake_exe())},
    )

    assert response.status_code == 200
    assert "Formato non ammesso" in response.content.decode()
    assert "programma eseguibile" in response.content.decode()
    assert not StoredDocument.objects.exists()
    assert stored_files(settings) == []


def test_a_new_version_is_uploaded_from_the_detail_page(trio, samples, client_for):
    version = upload_as(trio, samples.pdf)
    client = client_for(trio.colleague)
    url = reverse("documents:replace", args=[version.document.uuid])

    refused = client.post(url, {"file": upload("vuoto.pdf", b"")})
    assert refused.status_code == 200
    assert DocumentVersion.objects.count() == 1

    response = client.post(url, {"file": upload("v2.pdf", samples.signed_pdf)})
    assert response.status_code == 302
    assert list(version.document.versions.values_list("number", flat=True).order_by("number")) == [
        1,
        2,
    ]
    page = client.get(reverse("documents:detail", args=[version.document.uuid])).content.decode()
    assert "v2.pdf" in page and "atto.pdf" in page


def test_the_admin_shows_versions_with_their_signature(trio, samples, client):
    version = upload_as(trio, samples.p7m, use="signed_act")
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin_user)

    listing = client.get(reverse("admin:documents_storeddocument_changelist"))
    change = client.get(
        reverse("admin:documents_storeddocument_change", args=[version.document.pk])
    )

    assert listing.status_code == 200
    assert change.status_code == 200
    assert "Firma valida" in change.content.decode()
    assert SIGNER_TAX_CODE in change.content.decode()
