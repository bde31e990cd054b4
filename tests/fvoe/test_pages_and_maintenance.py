"""Cronologia PCP triggers, "Accesso revocato", "Storico documento", the "in corso" banner,
ANAC maintenance windows (R-FVOE-083, MSG-FV-12) — against the simulator over HTTP."""

from __future__ import annotations

import re

import pytest
import time_machine

from fvoe.jobs import verify_slot
from fvoe.models import AuthorizationStatus, FvoeDocument, FvoeMaintenanceWindow
from procurement.anac.models import AnacTransmission
from procurement.core.models import JobRun
from tests.factories.kernel import aware
from tests.fvoe.conftest import DELTA, GAMMA, strong_login
from tests.fvoe.test_access_requests import auth_of, calls, page_of, send

pytestmark = pytest.mark.django_db(transaction=True)

MSG_FV_12 = (
    "Servizi FVOE di ANAC in manutenzione fino alle 25/05/2026 23:59: le verifiche automatiche "
    "riprenderanno al termine."
)


def triggers(html: str) -> list[str]:
    return re.findall(r'<td data-testid="trigger">([^<]*)</td>', html)


def test_chronology_names_the_user_of_manual_actions_and_the_slot_of_automatic_ones(
    world, sim, client_for
):
    giulio = client_for(world.giulio)
    with time_machine.travel(aware(2026, 11, 23, 10, 0), tick=True) as clock:
        strong_login(world.elisa, aware(2026, 11, 23, 9, 0))
        send(giulio, world, [GAMMA, DELTA])
        sim.answer("autorizza", GAMMA)
        clock.move_to(aware(2026, 11, 23, 11, 0))
        giulio.post(f"/fvoe/autorizzazioni/{auth_of(world, DELTA).pk}/verifica/")
        verify_slot(now=aware(2026, 11, 23, 14, 0), concurrency=1)
        verify_slot(now=aware(2026, 11, 24, 7, 0), concurrency=1)
    seen = triggers(page_of(giulio, world, "chronology").content.decode())
    assert len(seen) == AnacTransmission.objects.count()
    assert seen.count("Manuale – Giulio Bianchi") == 2  # the request and the manual check
    assert seen.count("Automatica 14:00") == 2 + 1 + 3  # 2 checks, Gamma's listing, 3 docs
    assert seen.count("Automatica 07:00") == 2 + 1  # 2 checks, Gamma's listing
    assert set(seen) == {"Manuale – Giulio Bianchi", "Automatica 14:00", "Automatica 07:00"}


def test_ended_access_reads_accesso_revocato(world, sim, client_for):
    with time_machine.travel(aware(2026, 11, 23, 9, 0), tick=True) as clock:
        strong_login(world.elisa, aware(2026, 11, 23, 9, 0))
        send(client_for(world.giulio), world, [GAMMA])
        sim.answer("autorizza", GAMMA)
        verify_slot(now=aware(2026, 11, 23, 14, 0), concurrency=1)
        clock.move_to(aware(2026, 12, 1, 10, 0))
        sim.answer("revoca", GAMMA)
        verify_slot(now=aware(2026, 12, 1, 14, 0), concurrency=1)
    page = page_of(client_for(world.giulio), world, "documents").content.decode()
    assert "Accesso revocato il 01/12/2026" in page
    assert "revocata il" not in page


def test_storico_documento_is_read_from_anac_and_not_stored(world, sim, client_for):
    giulio = client_for(world.giulio)
    with time_machine.travel(aware(2026, 11, 23, 9, 0), tick=True):
        strong_login(world.elisa, aware(2026, 11, 23, 9, 0))
        send(giulio, world, [GAMMA])
        sim.answer("autorizza", GAMMA)
        verify_slot(now=aware(2026, 11, 23, 14, 0), concurrency=1)
        document = FvoeDocument.objects.get(type_code="00008")
        listing = page_of(giulio, world, "documents").content.decode()
        assert f"/fvoe/documenti/{document.pk}/storico/" in listing
        assert "Storico documento" in listing
        page = giulio.get(f"/fvoe/documenti/{document.pk}/storico/").content.decode()
    assert "01 – inserito" in page and "04 – associato al fascicolo" in page
    [call] = AnacTransmission.objects.filter(operation="recupera-storico-documento-fvoe")
    assert call.http_status == 200 and call.actor_tax_code == world.elisa.tax_code
    assert client_for(world.marco).get(f"/fvoe/documenti/{document.pk}/storico/").status_code == (
        403
    )


def test_the_in_progress_banner_polls_while_a_request_is_queued(world, sim, client_for):
    from fvoe.services import access_request_create

    giulio = client_for(world.giulio)
    with time_machine.travel(aware(2026, 11, 23, 10, 0), tick=True):
        strong_login(world.elisa, aware(2026, 11, 23, 9, 0))
        page = page_of(giulio, world).content.decode()
        assert "django_htmx/htmx-2.min.js" in page  # a file, not an inline script (CSP)
        assert 'data-testid="progress"' in page and "hx-trigger" not in page
        from procurement.celery import app

        app.conf["CELERY_TASK_ALWAYS_EAGER"] = False  # the worker has not sent it yet
        try:
            request = access_request_create(
                user=world.giulio,
                appalto=world.appalto,
                tax_codes=[GAMMA],
                now=aware(2026, 11, 23, 10, 0),
            )
        finally:
            app.conf["CELERY_TASK_ALWAYS_EAGER"] = True
        page = page_of(giulio, world).content.decode()
        assert "Invio della richiesta ad ANAC in corso…" in page
        assert 'hx-trigger="every 3s"' in page
        partial = giulio.get(f"/fvoe/appalti/{world.appalto.pk}/in-corso/?attivo=1")
        assert "hx-get" in partial.content.decode() and "HX-Refresh" not in partial.headers

        from fvoe.services import access_request_submit

        access_request_submit(request_id=request.pk, now=aware(2026, 11, 23, 10, 0, 5))
        partial = giulio.get(f"/fvoe/appalti/{world.appalto.pk}/in-corso/?attivo=1")
        assert partial.headers["HX-Refresh"] == "true"  # done: the page reloads
        assert "hx-get" not in partial.content.decode()


def test_maintenance_window_postpones_the_slots_and_users_see_msg_fv_12(world, sim, client_for):
    giulio = client_for(world.giulio)
    FvoeMaintenanceWindow.objects.create(
        starts_at=aware(2026, 5, 22, 0, 0), ends_at=aware(2026, 5, 25, 23, 59)
    )
    with time_machine.travel(aware(2026, 5, 21, 10, 0), tick=True) as clock:
        strong_login(world.elisa, aware(2026, 5, 21, 9, 0))
        send(giulio, world, [GAMMA])
        sim.answer("autorizza", GAMMA)
        before = AnacTransmission.objects.count()

        clock.move_to(aware(2026, 5, 23, 7, 0))
        summary = verify_slot(now=aware(2026, 5, 23, 7, 0), concurrency=1)
        assert summary.skipped == 1 and summary.verified == summary.changed == 0
        assert AnacTransmission.objects.count() == before  # nothing sent to ANAC
        run = JobRun.objects.get(key="fvoe-verify:2026-05-23T07")
        assert run.summary["reason"] == "Manutenzione ANAC"
        page = page_of(giulio, world).content.decode()
        assert MSG_FV_12 in page
        answer = giulio.post(
            f"/fvoe/autorizzazioni/{auth_of(world, GAMMA).pk}/verifica/", follow=True
        ).content.decode()
        assert MSG_FV_12 in answer and AnacTransmission.objects.count() == before
        chronology = page_of(giulio, world, "chronology").content.decode()
        assert "Saltata – Manutenzione ANAC" in chronology

        clock.move_to(aware(2026, 5, 26, 7, 0))
        assert MSG_FV_12 not in page_of(giulio, world).content.decode()
        summary = verify_slot(now=aware(2026, 5, 26, 7, 0), concurrency=1)
        assert summary.changed == 1
        assert auth_of(world, GAMMA).status == AuthorizationStatus.AUTHORISED
        assert calls("verifica-richiesta-accesso-fvoe") == 1


def test_the_simulator_plays_anac_maintenance_through_its_control_api(world, sim, client_for):
    giulio = client_for(world.giulio)
    with time_machine.travel(aware(2026, 11, 23, 10, 0), tick=True):
        strong_login(world.elisa, aware(2026, 11, 23, 9, 0))
        send(giulio, world, [GAMMA])
        body = sim.post(
            "fvoe/settings",
            {
                "maintenance_from": "2026-11-23T08:30:00Z",
                "maintenance_until": "2026-11-23T10:00:00Z",
            },
        )
        assert body["maintenance_until"] == "2026-11-23T10:00:00Z"  # 11:00 in Rome
        answer = giulio.post(
            f"/fvoe/autorizzazioni/{auth_of(world, GAMMA).pk}/verifica/", follow=True
        ).content.decode()
        assert "Il servizio ANAC non è al momento raggiungibile" in answer
        statuses = AnacTransmission.objects.filter(
            operation="verifica-richiesta-accesso-fvoe"
        ).values_list("http_status", flat=True)
        assert statuses and set(statuses) == {503}  # the gateway answered, with retries
        sim.post("fvoe/settings", {"maintenance_until": None})
