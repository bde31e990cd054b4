"""Requirement verification through FVOE (R-GARE-146, R-GARE-132/133, D-29, AS-10 and variant),
against the ANAC simulator served by the live server, through the kernel's FVOE client.

The tender is linked to a kernel PCP appalto with an idAppalto; the proposed awardee (Operatore
1) bids with a member (an RTI mandante), so both files are requested.
"""

from __future__ import annotations

import datetime
import hashlib
import uuid

import httpx
import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from gare.models import (
    FvoeCheckStatus,
    LotStatus,
    Participant,
    RequirementVerification,
    Tender,
    VerificationOutcome,
)
from gare.services import procedure as proc
from gare.services import verification_fvoe as vf
from gare.services.common import GareError
from procurement.anac.transport import AnacClient
from procurement.documents.services import document_version_content
from tests.anac.conftest import (  # noqa: F401 (fixtures)
    anac_live,
    simulator_answers_conform_to_the_official_documents,
)
from tests.factories.kernel import aware
from tests.factories.pcp import PcpAppaltoFactory, actor_for
from tests.gare.conftest import run_to_admissions, run_to_ranking, run_to_technical

pytestmark = pytest.mark.django_db(transaction=True)

MEMBER = "09876543210"  # the RTI mandante of the proposed awardee
VERIFICATION_DAY = aware(2026, 9, 10, 9, 0)


@pytest.fixture(autouse=True)
def inline_tasks(monkeypatch):
    """Tasks handed to Celery after commit run at once, in the same thread (`Task.apply`), so
    the tests do not depend on the broker nor on another test's Celery configuration."""
    from django.db import transaction

    from gare import tasks

    def run_after_commit(name, *args):
        transaction.on_commit(lambda: getattr(tasks, name).apply(args=args))

    monkeypatch.setattr(vf, "_on_commit_task", run_after_commit)


class Sim:
    """The FVOE simulator's control API (plays the economic operators)."""

    def __init__(self, base: str):
        self.base = base + "/_control/fvoe"

    def post(self, path: str, data: dict) -> dict:
        response = httpx.post(f"{self.base}/{path}", json=data, timeout=10)
        assert response.status_code < 300, response.text
        return response.json()

    def script(self, tax_code: str, behaviour: str) -> None:
        self.post("scripts", {"codiceFiscale": tax_code, "behaviour": behaviour})


@pytest.fixture
def sim(anac_live) -> Sim:  # noqa: F811
    control = Sim(anac_live)
    control.post("reset", {})
    return control


@pytest.fixture
def proposed(world, lot):
    """AS-10 up to the award proposal of 09/09/2026, the tender linked to a PCP appalto."""
    run_to_admissions(world, lot, 2)
    run_to_technical(world, lot)
    run_to_ranking(world, lot)
    award = proc.award_propose(user=world.rup, lot=lot, now=aware(2026, 9, 9, 9, 0))
    Participant.objects.filter(pk=award.participant_id).update(
        members=[f"Mu Costruzioni S.r.l. {MEMBER} mandante"]
    )
    appalto = PcpAppaltoFactory(
        organisation=world.sua, rup=world.rup, id_appalto=uuid.uuid4(), sa_ausa_code="0000123456"
    )
    Tender.objects.filter(pk=lot.tender_id).update(pcp_appalto=appalto)
    lot.refresh_from_db()
    return lot, award


def _awardee_code(award) -> str:
    return Participant.objects.get(pk=award.participant_id).operator.tax_code


@pytest.fixture
def calls(monkeypatch):
    """Every ANAC call, with whether a database transaction was open when it was made."""
    seen = []
    original = AnacClient.call

    def call(self, eservice, operation, **kwargs):
        seen.append((operation, connection.in_atomic_block))
        return original(self, eservice, operation, **kwargs)

    monkeypatch.setattr(AnacClient, "call", call)
    return seen


def test_rup_gets_the_files_documents_are_stored_and_the_outcome_allows_the_award(
    world, proposed, sim, calls, strong_client_for
):
    lot, award = proposed
    for code in (_awardee_code(award), MEMBER):
        sim.script(code, "approve")
    with time_machine.travel(VERIFICATION_DAY, tick=True):
        client = strong_client_for(world.rup)
        response = client.post(f"/gare/lotti/{lot.pk}/verifica-fvoe/avvia/")
        assert response.status_code == 302

        verification = RequirementVerification.objects.get(lot=lot)
        lot.refresh_from_db()
        assert lot.status == LotStatus.VERIFICATION  # started from PROPOSED (L20)
        assert verification.status == FvoeCheckStatus.AUTHORISED
        assert verification.id_richiesta
        assert verification.actor_tax_code == world.rup.tax_code
        assert sorted(verification.subjects.values_list("tax_code", "auth_state")) == sorted(
            [(_awardee_code(award), "02"), (MEMBER, "02")]
        )
        # Default simulated file: three documents per operator, each stored with its SHA-256.
        documents = list(verification.documents.select_related("file"))
        assert len(documents) == 6
        assert verification.documents_retrieved_at is not None
        for doc in documents:
            content = document_version_content(version=doc.file)
            assert hashlib.sha256(content).hexdigest() == doc.sha256 == doc.file.sha256
            assert content.startswith(b"%PDF-")

        page = client.get(f"/gare/lotti/{lot.pk}/verifica-fvoe/")
        assert page.status_code == 200
        text = page.content.decode()
        assert "Autorizzata: fascicolo accessibile" in text
        assert documents[0].sha256 in text
        download = client.get(f"/gare/verifiche-fvoe/documenti/{documents[0].pk}/")
        assert download.status_code == 200
        assert hashlib.sha256(download.content).hexdigest() == documents[0].sha256

        response = client.post(
            f"/gare/verifiche-fvoe/{verification.pk}/esito/",
            {"outcome": "ok", "note": "DURC e casellario regolari"},
        )
        assert response.status_code == 302

    verification.refresh_from_db()
    assert verification.outcome == VerificationOutcome.POSITIVE
    assert verification.outcome_by == world.rup
    award.refresh_from_db()
    assert award.verification_outcome == "POSITIVE"
    # No fallback needed: the award's precondition (L22) holds on the verified requirements
    # (adopting it then waits for ANAC's A2_29 acknowledgement, R-GARE-145).
    lot.refresh_from_db()
    assert proc.award_precheck(lot, now=aware(2026, 9, 22, 9, 0)) == award

    operations = [op for op, _atomic in calls]
    assert "richiesta-accesso-fvoe" in operations
    assert "recupera-documento-fvoe" in operations
    assert [op for op, atomic in calls if atomic] == []  # no HTTP inside a transaction


def test_documents_wait_for_every_member_to_authorise(world, proposed, sim):
    lot, award = proposed
    sim.script(_awardee_code(award), "approve")
    sim.script(MEMBER, "manual")
    with time_machine.travel(VERIFICATION_DAY, tick=True):
        verification = vf.verification_fvoe_start(
            user=world.rup, lot=lot, actor=actor_for(lot.tender.pcp_appalto), now=VERIFICATION_DAY
        )
        verification.refresh_from_db()
        assert verification.status == FvoeCheckStatus.REQUESTED
        assert verification.documents.count() == 0
        with pytest.raises(GareError, match="documenti non sono ancora stati acquisiti"):
            vf.verification_fvoe_outcome(
                user=world.rup,
                verification=verification,
                positive=True,
                note="",
                now=VERIFICATION_DAY,
            )
        sim.post(
            "access/autorizza",
            {"idAppalto": verification.id_appalto, "codiceFiscale": MEMBER, "motivo": ""},
        )
        status = vf.verification_fvoe_poll(
            verification_id=verification.pk, now=aware(2026, 9, 10, 10, 0), trigger="user"
        )
    assert status == FvoeCheckStatus.AUTHORISED
    assert verification.documents.filter(file__isnull=False).count() == 6


def test_a_negative_outcome_excludes_the_awardee_and_recomputes(world, proposed, sim):
    lot, award = proposed
    sim.script(_awardee_code(award), "deny")
    sim.script(MEMBER, "approve")
    with time_machine.travel(VERIFICATION_DAY, tick=True):
        verification = vf.verification_fvoe_start(
            user=world.rup, lot=lot, actor=actor_for(lot.tender.pcp_appalto), now=VERIFICATION_DAY
        )
    verification.refresh_from_db()
    assert verification.status == FvoeCheckStatus.REFUSED
    with pytest.raises(GareError, match="motivi"):
        vf.verification_fvoe_outcome(
            user=world.rup, verification=verification, positive=False, note="", now=VERIFICATION_DAY
        )
    vf.verification_fvoe_outcome(
        user=world.rup,
        verification=verification,
        positive=False,
        note="Accesso al fascicolo negato; SOA scaduta",
        now=aware(2026, 9, 21, 9, 0),
    )
    award.refresh_from_db()
    assert award.verification_outcome == "NEGATIVE"
    assert award.superseded_at is not None
    lot.refresh_from_db()
    assert lot.status == LotStatus.RANKED


def test_fvoe_down_keeps_the_30_day_self_declaration_fallback(
    world, proposed, sim, calls, client_for
):
    """AS-10 variant: FVOE down from 10/09 → award with self-declaration from 09/10/2026."""
    lot, award = proposed
    sim.script(_awardee_code(award), "approve")
    sim.post(
        "settings",
        {
            "maintenance_from": aware(2026, 9, 1, 0, 0).isoformat(),
            "maintenance_until": aware(2026, 10, 31, 0, 0).isoformat(),
        },
    )
    with time_machine.travel(VERIFICATION_DAY, tick=True):
        verification = vf.verification_fvoe_start(
            user=world.rup, lot=lot, actor=actor_for(lot.tender.pcp_appalto), now=VERIFICATION_DAY
        )
    verification.refresh_from_db()
    assert verification.status == FvoeCheckStatus.UNKNOWN  # the POST got a 503: reconcile first
    assert timezone.localtime(verification.unavailable_since).date() == datetime.date(2026, 9, 10)
    assert "Servizio FVOE non disponibile" in verification.last_error

    with time_machine.travel(aware(2026, 9, 20, 9, 0), tick=True):
        vf.verification_fvoe_sweep(now=aware(2026, 9, 20, 9, 0))
    verification.refresh_from_db()
    assert verification.status == FvoeCheckStatus.UNKNOWN  # still down: nothing resent blindly

    lot.refresh_from_db()
    with pytest.raises(GareError) as exc:
        proc.award_precheck(lot, now=aware(2026, 10, 8, 9, 0), self_declaration_fallback=True)
    assert "09/10/2026" in exc.value.message
    assert (
        proc.award_precheck(lot, now=aware(2026, 10, 9, 9, 0), self_declaration_fallback=True)
        == award
    )
    page = client_for(world.rup).get(f"/gare/lotti/{lot.pk}/verifica-fvoe/")
    assert "FVOE non disponibile dal 10/09/2026" in page.content.decode()
    assert "ammessa dal 09/10/2026" in page.content.decode()
    assert calls and not any(atomic for _op, atomic in calls)


def test_a_lost_request_is_reconciled_and_sent_again_when_fvoe_is_back(world, proposed, sim):
    lot, award = proposed
    sim.script(_awardee_code(award), "approve")
    sim.script(MEMBER, "approve")
    sim.post(
        "settings",
        {
            "maintenance_from": aware(2026, 9, 10, 0, 0).isoformat(),
            "maintenance_until": aware(2026, 9, 10, 12, 0).isoformat(),
        },
    )
    with time_machine.travel(VERIFICATION_DAY, tick=True):
        verification = vf.verification_fvoe_start(
            user=world.rup, lot=lot, actor=actor_for(lot.tender.pcp_appalto), now=VERIFICATION_DAY
        )
    later = aware(2026, 9, 10, 15, 0)
    with time_machine.travel(later, tick=True):
        vf.verification_fvoe_poll(verification_id=verification.pk, now=later)
        verification.refresh_from_db()
        assert verification.status == FvoeCheckStatus.QUEUED  # ANAC never registered it
        vf.verification_fvoe_sweep(now=later)
    verification.refresh_from_db()
    assert verification.status == FvoeCheckStatus.AUTHORISED
    assert verification.documents.filter(file__isnull=False).count() == 6


def test_a_tender_with_a_typed_cig_keeps_the_manual_verification(world, lot, client_for):
    run_to_admissions(world, lot, 2)
    run_to_technical(world, lot)
    run_to_ranking(world, lot)
    proc.award_propose(user=world.rup, lot=lot, now=aware(2026, 9, 9, 9, 0))
    assert not vf.fvoe_available(lot)
    from procurement.anac.identity import Actor

    with pytest.raises(GareError, match="CIG inserito a mano"):
        vf.verification_fvoe_start(
            user=world.rup, lot=lot, actor=Actor(tax_code=world.rup.tax_code), now=VERIFICATION_DAY
        )
    page = client_for(world.rup).get(f"/gare/lotti/{lot.pk}/verifica-fvoe/")
    assert page.status_code == 200
    assert "Registrare la verifica dei requisiti manualmente" in page.content.decode()
    assert "Avvia verifica FVOE" not in page.content.decode()
    # The manual flow and its 30-day fallback stay as they are.
    proc.verification_start(user=world.rup, lot=lot, now=VERIFICATION_DAY)
    proc.award_adopt(
        user=world.rup, lot=lot, now=aware(2026, 10, 9, 9, 0), self_declaration_fallback=True
    )
    lot.refresh_from_db()
    assert lot.status == LotStatus.AWARDED


def test_other_users_are_refused(world, proposed, sim, client_for, strong_client_for):
    lot, award = proposed
    sim.script(_awardee_code(award), "approve")
    sim.script(MEMBER, "approve")
    appalto = lot.tender.pcp_appalto
    # A user of another organisation sees nothing and cannot start the check.
    outsider = client_for(world.outsider)
    assert outsider.get(f"/gare/lotti/{lot.pk}/verifica-fvoe/").status_code == 404
    assert outsider.post(f"/gare/lotti/{lot.pk}/verifica-fvoe/avvia/").status_code == 404
    with pytest.raises(PermissionDenied):
        vf.verification_fvoe_start(
            user=world.outsider, lot=lot, actor=actor_for(appalto), now=VERIFICATION_DAY
        )
    # The seggio of the same authority is not the RUP whose identity ANAC receives.
    with pytest.raises(PermissionDenied):
        vf.verification_fvoe_start(
            user=world.board, lot=lot, actor=actor_for(appalto), now=VERIFICATION_DAY
        )
    # The RUP without a strong session is told so, and nothing is sent.
    response = client_for(world.rup).post(f"/gare/lotti/{lot.pk}/verifica-fvoe/avvia/", follow=True)
    assert "SPID, CIE o CNS" in response.content.decode()
    assert not RequirementVerification.objects.exists()

    with time_machine.travel(VERIFICATION_DAY, tick=True):
        strong_client_for(world.rup).post(f"/gare/lotti/{lot.pk}/verifica-fvoe/avvia/")
    verification = RequirementVerification.objects.get()
    doc = verification.documents.first()
    assert outsider.get(f"/gare/verifiche-fvoe/documenti/{doc.pk}/").status_code == 404
    assert (
        outsider.post(
            f"/gare/verifiche-fvoe/{verification.pk}/esito/", {"outcome": "ok"}
        ).status_code
        == 404
    )
    verification.refresh_from_db()
    assert verification.outcome == VerificationOutcome.PENDING


def test_anac_fee_check_is_recorded_per_participant(world, lot):
    """R-GARE-054 / AS scenario S1: FVOE check NOT_FOUND, then PAID after the late payment."""
    run_to_admissions(world, lot, 2)
    first, second = lot.participants.order_by("pk")
    vf.anac_contribution_record(
        user=world.rup, participant=first, outcome="NOT_FOUND", now=aware(2026, 7, 27, 16, 0)
    )
    with pytest.raises(GareError, match="documento FVOE o gli estremi"):
        vf.anac_contribution_record(
            user=world.rup, participant=first, outcome="PAID", now=aware(2026, 7, 31, 9, 0)
        )
    with pytest.raises(PermissionDenied):
        vf.anac_contribution_record(
            user=world.outsider,
            participant=first,
            outcome="PAID",
            note="x",
            now=aware(2026, 7, 31, 9, 0),
        )
    vf.anac_contribution_record(
        user=world.rup,
        participant=first,
        outcome="PAID",
        note="Ricevuta di pagamento del 31/07/2026",
        now=aware(2026, 7, 31, 9, 0),
    )
    latest = vf.anac_contribution_latest(first)
    assert latest.outcome == "PAID"
    assert latest.cig == lot.cig
    assert latest.amount_due == lot.anac_contribution_amount
    # The other one keeps the check recorded before its admission (run_to_admissions).
    assert vf.anac_contribution_latest(second).checked_at == aware(2026, 7, 27, 15, 30)
    assert second.anac_contributions.count() == 1
