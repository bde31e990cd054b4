"""R-GARE-074 with D-21/R-GARE-120 and D-24: a participant that does not confirm the validity of
its offer after the ranking leaves the admitted set, so the ranking is recomputed as a new run
(re-parametrisation over the remaining offers, the old run kept); if it was the proposed awardee
the proposal is superseded and the RPA/RUP is told a new one is needed. The confirmation carries
the guarantee extended to the new date, stored in the kernel documents with its SHA-256.

Calendar: ranking 18/08/2026, proposal 09/09, verification 10/09; extension request on
28/12/2026 to 23/04/2027 with replies until 02/01/2027 09:00; the sweep runs at 09:20."""

from __future__ import annotations

import datetime
import hashlib
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gare.models import (
    Award,
    LotStatus,
    ParticipantStatus,
    ScoreRun,
    ValidityReply,
)
from gare.services import procedure as proc
from gare.services.common import GareError
from gare.services.validity import validity_confirm, validity_extension_request, validity_sweep
from procurement.audit.models import AuditEvent
from procurement.documents.models import StoredDocument
from procurement.notifications.models import Notification
from tests.factories.kernel import aware

from .conftest import MINIMAL_PDF, pdf_upload, run_to_admissions, run_to_ranking, run_to_technical

pytestmark = pytest.mark.django_db

REQUEST_AT = aware(2026, 12, 28, 9, 0)
CONFIRM_AT = aware(2026, 12, 30, 9, 0)
AFTER_DEADLINE = aware(2027, 1, 2, 9, 20)
NEW_DATE = datetime.date(2027, 4, 23)


def bidder_of(world, participant):
    return world.bidders[world.operators.index(participant.operator)]


def ask_extension(world, lot):
    return validity_extension_request(
        user=world.rup, lot=lot, new_validity_date=NEW_DATE, now=REQUEST_AT
    )


def confirm(world, req, participant):
    return validity_confirm(
        user=bidder_of(world, participant),
        reply=ValidityReply.objects.get(request=req, participant=participant),
        guarantee_file=pdf_upload("garanzia-prorogata.pdf"),
        now=CONFIRM_AT,
    )


def points(run, participant, code="A1") -> Decimal:
    row = next(o for o in run.result["offers"] if o["id"] == str(participant.pk))
    return Decimal(row["points"][code])


def recomputed_notices(user):
    return list(
        Notification.objects.filter(recipient=user, subject__startswith="Graduatoria ricalcolata")
    )


# --- 1. a renunciation after the ranking -------------------------------------------------------


def _third_best_on_a1(k, i, code):
    # Offer 2 has the best A1 (so it sets the A1 re-parametrisation) but is weak elsewhere;
    # offer 0 is first overall.
    if i == 2:
        return Decimal("1.0") if code == "A1" else Decimal("0.5")
    return Decimal("0.8") if i == 0 else Decimal("0.6")


def test_renounced_after_the_ranking_new_run_re_parametrised_old_run_kept(world, lot):
    run_to_admissions(world, lot, 3)
    first, second, third = proc.admitted(lot)
    run_to_technical(world, lot, _third_best_on_a1)
    old = run_to_ranking(world, lot)
    assert lot.status == LotStatus.RANKED
    assert next(o["id"] for o in old.result["offers"] if o["rank"] == 1) == str(first.pk)
    # A1 (6 points): best provisional 1.0 is the third's, so 0.8 → 4.80 and 0.6 → 3.60
    assert (points(old, first), points(old, second), points(old, third)) == (
        Decimal("4.80"),
        Decimal("3.60"),
        Decimal("6.00"),
    )

    req = ask_extension(world, lot)
    confirm(world, req, first)
    confirm(world, req, second)
    assert validity_sweep(now=AFTER_DEADLINE)["renounced"] == 1

    third.refresh_from_db()
    assert third.status == ParticipantStatus.RENOUNCED
    new = proc.latest_run(lot, "FULL")
    assert new.version > old.version and new.supersedes_id == old.pk
    assert sorted(new.admitted) == sorted([first.pk, second.pk])
    assert str(third.pk) not in [o["id"] for o in new.result["offers"]]
    # re-parametrised over the remaining offers: the best A1 is now 0.8 → 1 → 6.00
    assert points(new, first) == Decimal("6.00")
    assert points(new, second) == Decimal("4.50")
    # the old run is kept as it was
    old.refresh_from_db()
    assert points(old, first) == Decimal("4.80")
    assert ScoreRun.objects.filter(lot=lot, stage="FULL").count() == 2
    lot.refresh_from_db()
    assert lot.status == LotStatus.RANKED
    event = AuditEvent.objects.get(action="graduatoria ricalcolata: concorrenti rinunciatari")
    assert event.payload["renounced"] == [third.pk]
    assert (event.payload["run"], event.payload["previous_run"]) == (new.version, old.version)
    [notice] = recomputed_notices(world.rup)
    assert third.display_name in notice.body and "nuova proposta" not in notice.body

    # idempotent: a second sweep recomputes nothing
    assert validity_sweep(now=aware(2027, 1, 2, 10, 20))["renounced"] == 0
    assert ScoreRun.objects.filter(lot=lot, stage="FULL").count() == 2


def test_nothing_is_recomputed_for_a_lot_not_ranked_yet(world, lot):
    run_to_admissions(world, lot, 3)
    first, second, third = proc.admitted(lot)
    run_to_technical(world, lot)  # technical scores published, no ranking yet
    req = ask_extension(world, lot)
    confirm(world, req, first)
    confirm(world, req, second)
    assert validity_sweep(now=AFTER_DEADLINE)["renounced"] == 1
    third.refresh_from_db()
    assert third.status == ParticipantStatus.RENOUNCED
    assert list(ScoreRun.objects.filter(lot=lot).values_list("stage", flat=True)) == ["TECHNICAL"]
    assert not AuditEvent.objects.filter(
        action="graduatoria ricalcolata: concorrenti rinunciatari"
    ).exists()
    assert recomputed_notices(world.rup) == []


# --- 2. the proposed awardee renounces ---------------------------------------------------------


def _first_best(k, i, code):
    return Decimal("0.9") if i == 0 else Decimal("0.6")


def _ranked_with_proposal(world, lot, *, verification: bool):
    run_to_admissions(world, lot, 3)
    participants = list(proc.admitted(lot))
    run_to_technical(world, lot, _first_best)
    old = run_to_ranking(world, lot)
    award = proc.award_propose(user=world.rup, lot=lot, now=aware(2026, 9, 9, 9, 0))
    assert award.participant_id == participants[0].pk
    if verification:
        proc.verification_start(user=world.rup, lot=lot, now=aware(2026, 9, 10, 9, 0))
    return participants, old, award


def _assert_awardee_renounced_superseded(world, lot, participants, old, award, *, from_state):
    awardee, second, third = participants
    req = ask_extension(world, lot)
    confirm(world, req, second)
    confirm(world, req, third)
    assert validity_sweep(now=AFTER_DEADLINE)["renounced"] == 1

    awardee.refresh_from_db()
    assert awardee.status == ParticipantStatus.RENOUNCED
    award.refresh_from_db()
    assert award.superseded_at == AFTER_DEADLINE
    assert proc.current_award(lot) is None
    lot.refresh_from_db()
    assert lot.status == LotStatus.RANKED
    event = AuditEvent.objects.get(
        action="proposta di aggiudicazione superata: aggiudicatario proposto rinunciatario"
    )
    assert (event.from_state, event.to_state) == (from_state, "RANKED")
    assert event.payload["award"] == award.pk

    new = proc.latest_run(lot, "FULL")
    assert new.version > old.version and sorted(new.admitted) == sorted([second.pk, third.pk])
    # A1 re-parametrised without the awardee's 0.9: 0.6 / 0.6 → 6.00 (was 0.6 / 0.9 → 4.00)
    assert points(old, second) == Decimal("4.00")
    assert points(new, second) == Decimal("6.00")
    assert old.pk in ScoreRun.objects.filter(lot=lot).values_list("pk", flat=True)

    [notice] = recomputed_notices(world.rup)
    assert awardee.display_name in notice.body
    assert "occorre formulare una nuova proposta di aggiudicazione" in notice.body
    assert notice.url == f"/gare/lotti/{lot.pk}/"

    # a new proposal for the new first is now possible
    again = proc.award_propose(user=world.rup, lot=lot, now=aware(2027, 1, 4, 9, 0))
    first_of_new = next(o for o in new.result["offers"] if o["rank"] == 1)
    assert again.participant_id == int(first_of_new["id"]) != awardee.pk
    assert again.run_id == new.pk
    assert Award.objects.filter(lot=lot).count() == 2


def test_awardee_renounced_during_verification_supersedes_the_proposal(world, lot):
    participants, old, award = _ranked_with_proposal(world, lot, verification=True)
    _assert_awardee_renounced_superseded(
        world, lot, participants, old, award, from_state="VERIFICATION"
    )


def test_awardee_renounced_after_the_proposal_supersedes_it(world, lot):
    participants, old, award = _ranked_with_proposal(world, lot, verification=False)
    _assert_awardee_renounced_superseded(
        world, lot, participants, old, award, from_state="PROPOSED"
    )


def test_another_participant_renounced_keeps_the_proposal(world, lot):
    participants, old, award = _ranked_with_proposal(world, lot, verification=True)
    awardee, second, third = participants
    req = ask_extension(world, lot)
    confirm(world, req, awardee)
    confirm(world, req, second)
    assert validity_sweep(now=AFTER_DEADLINE)["renounced"] == 1
    award.refresh_from_db()
    assert award.superseded_at is None
    lot.refresh_from_db()
    assert lot.status == LotStatus.VERIFICATION
    new = proc.latest_run(lot, "FULL")
    assert new.version > old.version and third.pk not in new.admitted
    [notice] = recomputed_notices(world.rup)
    assert "nuova proposta" not in notice.body


# --- 3. the confirmation carries the extended guarantee ---------------------------------------


def test_confirmation_without_the_guarantee_is_refused(world, lot):
    run_to_admissions(world, lot, 2)
    first, _second = proc.admitted(lot)
    req = ask_extension(world, lot)
    reply = ValidityReply.objects.get(request=req, participant=first)
    with pytest.raises(GareError) as exc:
        validity_confirm(
            user=bidder_of(world, first), reply=reply, guarantee_file=None, now=CONFIRM_AT
        )
    assert exc.value.message == (
        "Per confermare la validità dell'offerta allega la garanzia provvisoria prorogata fino "
        "al 23/04/2027, oppure una nuova garanzia che decorra dalla data di presentazione "
        "dell'offerta (20/07/2026) e sia valida fino al 23/04/2027."
    )
    text = SimpleUploadedFile("garanzia.txt", b"garanzia prorogata", content_type="text/plain")
    with pytest.raises(GareError, match="Formato non ammesso"):
        validity_confirm(
            user=bidder_of(world, first), reply=reply, guarantee_file=text, now=CONFIRM_AT
        )
    reply.refresh_from_db()
    assert reply.confirmed_at is None and reply.guarantee is None
    assert not AuditEvent.objects.filter(action="validità dell'offerta confermata").exists()


def test_confirmation_with_the_guarantee_is_stored_with_its_sha256(world, lot, client_for):
    import time_machine

    run_to_admissions(world, lot, 2)
    first, second = proc.admitted(lot)
    req = ask_extension(world, lot)
    reply = confirm(world, req, first)

    reply.refresh_from_db()
    digest = hashlib.sha256(MINIMAL_PDF).hexdigest()
    assert reply.confirmed_at == CONFIRM_AT
    assert reply.guarantee.sha256 == digest == reply.guarantee_sha256
    assert reply.guarantee.original_name == "garanzia-prorogata.pdf"
    document = StoredDocument.objects.get(pk=reply.guarantee.document_id)
    assert document.organisation_id == first.operator_id and document.use == "gare_offer_file"
    assert "23/04/2027" in document.title
    event = AuditEvent.objects.get(action="validità dell'offerta confermata")
    assert event.payload["guarantee"]["sha256"] == digest

    # the RPA/RUP sees replies and guarantees on the lot's validity page, and downloads it
    url = f"/gare/lotti/{lot.pk}/proroga-validita/"
    with time_machine.travel(aware(2026, 12, 31, 9, 0), tick=False):
        rup = client_for(world.rup)
        page = rup.get(url).content.decode()
        assert f'data-testid="validity-guarantee-{reply.pk}"' in page
        assert digest in page and "garanzia-prorogata.pdf" in page
        other = ValidityReply.objects.get(request=req, participant=second)
        assert f'data-testid="validity-guarantee-{other.pk}"' not in page
        download = rup.get(url, {"garanzia": reply.pk})
        assert download.status_code == 200 and download.content == MINIMAL_PDF
        assert rup.get(url, {"garanzia": other.pk}).status_code == 404
        # neither the bidders nor the seggio read it here
        assert client_for(bidder_of(world, second)).get(url).status_code == 404
        assert client_for(world.board).get(url, {"garanzia": reply.pk}).status_code == 404
        assert (
            client_for(bidder_of(world, first)).get(url, {"garanzia": reply.pk}).status_code == 404
        )
