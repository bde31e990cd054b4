"""Replacing a variation's authorising documents on "Modifica" (R-PTIM-076, D-35, D-37)."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from procurement.audit.models import AuditEvent
from procurement.documents.models import StoredDocument
from ptim import services
from ptim.models import Variation, VariationKind
from tests.factories.kernel import aware

from .conftest import D, pdf
from .test_booking import _definitive

pytestmark = pytest.mark.django_db


@pytest.fixture
def variation(f0):
    c = _definitive(f0, "A", "MU", D("100000.00"), aware(2024, 3, 4, 9), root=500)
    return services.add_variation(
        user=f0.p1,
        contract_id=c.pk,
        kind=VariationKind.VARIANT,
        description="variante",
        works_amount=D(1000),
        non_discounted_amount=D(0),
        documents=[pdf("v1.pdf")],
        now=aware(2024, 6, 10),
    )


def _update(f0, v, **kw):
    args = dict(
        user=f0.t1,
        variation_id=v.pk,
        works_amount=v.works_amount,
        non_discounted_amount=v.non_discounted_amount,
        now=aware(2024, 6, 12),
    )
    args.update(kw)
    return services.update_variation(**args)


def test_documents_replaced_old_ones_kept_and_audited(f0, variation):
    old_ids = list(variation.documents.values_list("pk", flat=True))
    _update(f0, variation, documents=[pdf("n1.pdf"), pdf("n2.pdf")])
    new_ids = sorted(Variation.objects.get(pk=variation.pk).documents.values_list("pk", flat=True))
    assert len(new_ids) == 2 and not set(new_ids) & set(old_ids)
    assert StoredDocument.objects.filter(pk__in=old_ids).count() == 1  # never deleted
    event = AuditEvent.objects.filter(action="variazione modificata").get()
    assert event.payload["replaced_documents"] == old_ids
    assert event.payload["documents"] == new_ids


def test_more_than_five_refused_and_none_keeps_the_current(f0, variation):
    old_ids = list(variation.documents.values_list("pk", flat=True))
    with pytest.raises(services.PtimError) as exc:
        _update(f0, variation, documents=[pdf()] * 6)
    assert exc.value.message == "È possibile inserire al massimo 5 documenti autorizzativi."
    _update(f0, variation, works_amount=D(2000), documents=[])
    v = Variation.objects.get(pk=variation.pk)
    assert list(v.documents.values_list("pk", flat=True)) == old_ids
    assert v.works_amount == D(2000)


def test_bad_file_changes_nothing(f0, variation):
    from tests.factories.documents import upload

    old_ids = list(variation.documents.values_list("pk", flat=True))
    with pytest.raises(services.PtimError):
        _update(
            f0,
            variation,
            works_amount=D(3000),
            documents=[pdf(), upload("x.exe", b"MZ\x90\x00binary", "application/x-msdownload")],
        )
    v = Variation.objects.get(pk=variation.pk)
    assert list(v.documents.values_list("pk", flat=True)) == old_ids
    assert v.works_amount == D(1000)


def test_page_replaces_documents(f0, variation, client_for):
    with time_machine.travel(aware(2024, 6, 12, 10), tick=True):
        client = client_for(f0.t1)
        page = client.get(
            reverse("ptim:contract-detail", args=[variation.contract_id])
        ).content.decode()
        update = reverse("ptim:variation-action", args=[variation.pk, "update"])
        assert f'enctype="multipart/form-data" action="{update}"' in page
        r = client.post(
            reverse("ptim:variation-action", args=[variation.pk, "update"]),
            {
                "works_amount": "1.000,00",
                "non_discounted_amount": "0,00",
                "documents": [pdf("n1.pdf")],
            },
            follow=True,
        )
        assert "Variazione modificata." in r.content.decode()
        doc = Variation.objects.get(pk=variation.pk).documents.get()
        assert doc.versions.get().original_name == "n1.pdf"
        r = client.get(reverse("ptim:contract-document", args=[variation.contract_id, doc.pk]))
        assert r.status_code == 200
