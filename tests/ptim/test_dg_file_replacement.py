"""DG replacement of a contract's attached files (R-PTIM-047, R-PTIM-147, D-37)."""

from __future__ import annotations

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from procurement.audit.models import AuditEvent
from procurement.documents.models import StoredDocument
from ptim import services
from ptim.models import Contract
from tests.factories.documents import upload
from tests.factories.kernel import aware

from .conftest import PDF, pdf

pytestmark = pytest.mark.django_db


@pytest.fixture
def definitive(f0):
    c = f0.book("I-1", at=aware(2024, 3, 4, 9, 0))
    services.accept_contract(
        user=f0.p1, contract_id=c.pk, document=pdf("acc.pdf"), now=aware(2024, 3, 5, 9)
    )
    services.confirm_contract(
        user=f0.p1, contract_id=c.pk, document=pdf("stipula.pdf"), now=aware(2024, 3, 20, 9)
    )
    return Contract.objects.get(pk=c.pk)


def test_dg_replaces_the_stipula_keeping_the_old_one(f0, definitive):
    old = definitive.stipula_document_id
    with pytest.raises(PermissionDenied):
        services.replace_contract_file(
            user=f0.t1,
            contract_id=definitive.pk,
            target="stipula_document",
            uploaded=pdf(),
            now=aware(2024, 4, 1),
        )
    # same rules as the original upload: PDF only, at most 5 MB
    for bad in (upload("s.txt", b"testo", "text/plain"), pdf(size=5 * 1024 * 1024 + 10)):
        with pytest.raises(services.PtimError):
            services.replace_contract_file(
                user=f0.g1,
                contract_id=definitive.pk,
                target="stipula_document",
                uploaded=bad,
                now=aware(2024, 4, 1),
            )
    assert Contract.objects.get(pk=definitive.pk).stipula_document_id == old
    services.replace_contract_file(
        user=f0.g1,
        contract_id=definitive.pk,
        target="stipula_document",
        uploaded=pdf("nuova.pdf"),
        now=aware(2024, 4, 1),
    )
    c = Contract.objects.get(pk=definitive.pk)
    assert c.stipula_document_id != old and StoredDocument.objects.filter(pk=old).exists()
    assert c.stipula_document.versions.get().original_name == "nuova.pdf"
    event = AuditEvent.objects.filter(action="sostituzione file (DG)").get()
    assert event.payload == {
        "target": "stipula_document",
        "replaced_document": old,
        "document": c.stipula_document_id,
    }
    assert c.state == "DEFINITIVE"


def test_unknown_target_refused(f0, definitive):
    with pytest.raises(services.PtimError):
        services.replace_contract_file(
            user=f0.g1,
            contract_id=definitive.pk,
            target="rescission_document",  # none yet
            uploaded=pdf(),
            now=aware(2024, 4, 1),
        )


def test_page_offers_and_performs_the_replacement(f0, definitive, client_for):
    detail = reverse("ptim:contract-detail", args=[definitive.pk])
    with time_machine.travel(aware(2024, 4, 1, 10), tick=True):
        assert 'data-testid="op-dg-replace"' not in client_for(f0.t1).get(detail).content.decode()
        dg = client_for(f0.g1)
        page = dg.get(detail).content.decode()
        assert 'data-testid="op-dg-replace"' in page and 'value="acceptance_document"' in page
        old = definitive.acceptance_document_id
        r = dg.post(
            reverse("ptim:contract-action", args=[definitive.pk, "dg_replace_file"]),
            {"target": "acceptance_document", "document": pdf("acc2.pdf")},
            follow=True,
        )
        page = r.content.decode()
        assert "File sostituito." in page
        new = Contract.objects.get(pk=definitive.pk).acceptance_document_id
        assert new != old
        old_url = reverse("ptim:contract-document", args=[definitive.pk, old])
        new_url = reverse("ptim:contract-document", args=[definitive.pk, new])
        assert new_url in page and old_url not in page  # the old version is not shown
        r = client_for(f0.p1).get(new_url)
        assert r.status_code == 200 and b"".join(r.streaming_content) == PDF


def test_waiver_and_variation_files_are_replaceable(f0):
    from ptim.models import Refusal, Variation, VariationKind

    from .conftest import D
    from .test_supervision import _refusal

    r = _refusal(f0, "A", 330, aware(2024, 3, 4, 10), aware(2024, 3, 6, 10))
    v = services.add_variation(
        user=f0.p1,
        contract_id=r.contract_id,
        kind=VariationKind.VARIANT,
        description="variante",
        works_amount=D(100),
        non_discounted_amount=D(0),
        documents=[pdf("a.pdf"), pdf("b.pdf")],
        now=aware(2024, 6, 10),
    )
    targets = dict(services.replaceable_files(Contract.objects.get(pk=r.contract_id)))
    first, second = v.documents.order_by("pk").values_list("pk", flat=True)
    assert f"waiver:{r.pk}" in targets and f"variation:{v.pk}:{second}" in targets
    services.replace_contract_file(
        user=f0.g1,
        contract_id=r.contract_id,
        target=f"waiver:{r.pk}",
        uploaded=pdf("w2.pdf"),
        now=aware(2024, 6, 11),
    )
    assert Refusal.objects.get(pk=r.pk).waiver_document_id != r.waiver_document_id
    services.replace_contract_file(
        user=f0.g1,
        contract_id=r.contract_id,
        target=f"variation:{v.pk}:{second}",
        uploaded=pdf("b2.pdf"),
        now=aware(2024, 6, 11),
    )
    ids = set(Variation.objects.get(pk=v.pk).documents.values_list("pk", flat=True))
    assert first in ids and second not in ids and len(ids) == 2
