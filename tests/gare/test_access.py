"""AS-12: access to documents after the award, and the top five."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gare.models import Exclusion
from gare.services import procedure as proc
from gare.services.access import access_rights
from tests.factories.kernel import aware

from .conftest import (
    fee_paid,
    make_operator,
    pdf_upload,
    run_to_ranking,
    run_to_technical,
    submit_offer,
)

pytestmark = pytest.mark.django_db


def test_as_12_access_to_documents_and_the_top_five(world, lot, client_for):
    x6, x6_user = make_operator(6)
    x7, x7_user = make_operator(7)
    operators = [*world.operators, x6, x7]
    users = [*world.bidders, x6_user, x7_user]
    discounts = ["14.25", "12.50", "16.40", "9.55", "18.72", "10.00", "11.00"]
    for i, (op, user) in enumerate(zip(operators, users, strict=True)):
        submit_offer(
            user=user,
            operator=op,
            lot=lot,
            now=aware(2026, 7, 20, 10, i),
            discount=discounts[i],
            files=[("B", "TECHNICAL_REPORT", pdf_upload(f"relazione-{i}.pdf"))],
        )
    proc.session_start(user=world.rup, lot=lot, kind="ADMIN_OPENING", now=aware(2026, 7, 27, 15, 0))
    by_op = {p.operator_id: p for p in lot.participants.all()}
    for op in world.operators:
        fee_paid(world, by_op[op.pk])
        proc.admin_check_admit(
            user=world.board, participant=by_op[op.pk], now=aware(2026, 7, 27, 16, 0)
        )
    for op in (x6, x7):
        proc.exclusion_adopt(
            user=world.rup,
            participant=by_op[op.pk],
            phase="ADMIN_CHECK",
            grounds="DGUE mancante",
            now=aware(2026, 7, 27, 17, 0),
        )
    Exclusion.objects.filter(participant=by_op[x6.pk]).update(is_definitive=True)
    proc.admissions_adopt(user=world.rup, lot=lot, now=aware(2026, 7, 28, 10, 0))
    lot.refresh_from_db()
    run_to_technical(world, lot, lambda k, i, code: Decimal("0.5") + Decimal(i) / 10)
    run = run_to_ranking(world, lot)
    award = proc.award_propose(user=world.rup, lot=lot, now=aware(2026, 9, 9, 9, 0))
    proc.verification_start(user=world.rup, lot=lot, now=aware(2026, 9, 10, 9, 0))
    proc.verification_record(
        user=world.rup, lot=lot, positive=True, note="", now=aware(2026, 9, 21, 9, 0)
    )
    proc.award_adopt(user=world.rup, lot=lot, now=aware(2026, 10, 13, 9, 0))
    lot.refresh_from_db()
    top = [int(o["id"]) for o in run.result["offers"]]
    assert len(top) == 5
    awardee = award.participant_id
    for pid in top:
        rights = access_rights(lot.participants.get(pk=pid))
        assert rights.notified
        assert rights.offers == frozenset(set(top) - {pid})  # reciprocal among the top five
    x7_rights = access_rights(by_op[x7.pk])
    assert x7_rights.offers == frozenset({awardee}) and x7_rights.notified
    x6_rights = access_rights(by_op[x6.pk])
    assert x6_rights.offers == frozenset() and not x6_rights.notified
    # Through the web: X7 downloads the awardee's technical report, not another top-five's.
    awardee_file = (
        lot.participants.get(pk=awardee).current_offer.envelopes.get(type="B").files.get()
    )
    other = next(p for p in top if p != awardee)
    other_file = lot.participants.get(pk=other).current_offer.envelopes.get(type="B").files.get()
    client = client_for(x7_user)
    assert client.get(f"/gare/lotti/{lot.pk}/accesso/{awardee_file.pk}/").status_code == 200
    assert client.get(f"/gare/lotti/{lot.pk}/accesso/{other_file.pk}/").status_code == 403
    assert (
        client_for(x6_user).get(f"/gare/lotti/{lot.pk}/accesso/{awardee_file.pk}/").status_code
        == 403
    )
