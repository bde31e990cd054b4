"""GUIDA OPERATIVA versions published by the DG (R-PTIM-141, D-50)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from procurement.audit.models import AuditEvent
from ptim import services
from ptim.models import GuideDocument
from tests.factories.documents import upload
from tests.factories.kernel import aware

from .conftest import PDF

pytestmark = pytest.mark.django_db


def _pdf(tag: bytes):
    return upload("guida.pdf", PDF + b"%" + tag + b"\n", "application/pdf")


def test_dg_publishes_versions_and_the_latest_is_served(f0, client_for):
    with pytest.raises(PermissionDenied):
        services.publish_guide(user=f0.t1, uploaded=_pdf(b"x"), now=aware(2024, 3, 1))
    with pytest.raises(services.PtimError):
        services.publish_guide(
            user=f0.g1,
            uploaded=upload("g.txt", b"testo", "text/plain"),
            now=aware(2024, 3, 1),
        )
    assert not GuideDocument.objects.exists()
    g1 = services.publish_guide(user=f0.g1, uploaded=_pdf(b"v1"), now=aware(2024, 3, 1))
    g2 = services.publish_guide(
        user=f0.g1, uploaded=_pdf(b"v2"), note="Aggiornamento", now=aware(2024, 4, 1)
    )
    assert (g1.version, g2.version) == (1, 2)
    assert GuideDocument.objects.count() == 2  # earlier version kept
    assert AuditEvent.objects.filter(action="pubblicazione guida operativa").count() == 2
    for user in (f0.p1, f0.t1, f0.g1):
        r = client_for(user).get(reverse("ptim:guide"))
        assert r.status_code == 200
        assert b"".join(r.streaming_content).endswith(b"%v2\n")
        assert "v2.pdf" in r["Content-Disposition"]


def test_guide_versions_page_dg_only(f0, client_for):
    url = reverse("ptim:guide-versions")
    assert client_for(f0.t1).get(url).status_code == 403
    assert 'data-testid="guide-versions-link"' not in (
        client_for(f0.t1).get(reverse("ptim:operator-report")).content.decode()
    )
    dg = client_for(f0.g1)
    assert 'data-testid="guide-versions-link"' in dg.get(url).content.decode()
    r = dg.post(url, {"note": "prima"})
    assert r.status_code == 400 and not GuideDocument.objects.exists()
    r = dg.post(url, {"document": _pdf(b"p1"), "note": "prima"}, follow=True)
    page = r.content.decode()
    assert "Pubblicata la versione 1 della guida operativa." in page and "prima" in page
    r = dg.get(reverse("ptim:guide"))
    assert b"".join(r.streaming_content).endswith(b"%p1\n")
