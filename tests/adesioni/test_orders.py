"""Supply orders against the ANAC simulator over HTTP: AS-ADE-01/02/05/06/07/08/09/10.

The browser-level actions go through the views (password client for the buyer, dev SPID client for
the RUP); polls are driven with the kernel's `poll_due` under time-machine.
"""

from __future__ import annotations

import io
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone

from adesioni import services as S
from adesioni.models import OrderStatus, OutcomeNotice, SupplyOrder
from adesioni.tasks import render_summary_pdf
from procurement.anac import operations
from procurement.anac.cig import cig_is_valid_pcp
from procurement.anac.models import AnacOperation, AnacTransmission
from procurement.anac.simulator.models import SimAppalto, SimScheda, SimulatorConfig
from procurement.anac.simulator.pcp_views import script_error
from procurement.audit.models import AuditEvent
from procurement.documents.services import document_version_content
from procurement.notifications.models import Notification
from procurement.opendata.models import OcdsRelease, PublicProcedure
from procurement.opendata.ocds import release_errors
from procurement.pcp.models import PcpScheda, SchedaStatus
from tests.factories.documents import upload

from .conftest import approved_adhesion, draft_order, ne_url

pytestmark = pytest.mark.django_db(transaction=True)


def pdf_metadata(data: bytes) -> dict:
    from pyhanko.pdf_utils.reader import PdfFileReader

    info = PdfFileReader(io.BytesIO(data)).trailer["/Info"]
    return {key: str(info[key]) for key in ("/Title", "/Keywords")}


def configure(**fields):
    config = SimulatorConfig.current()
    for key, value in fields.items():
        setattr(config, key, value)
    config.save()


@pytest.fixture
def live(anac_live, settings):
    settings.ANAC_DISPATCH_INLINE = True
    return anac_live


def fresh(order) -> SupplyOrder:
    return SupplyOrder.objects.get(pk=order.pk)


def log_of(order) -> list[str]:
    return list(
        AnacTransmission.objects.filter(appalto=fresh(order).pcp_appalto)
        .order_by("id")
        .values_list("operation", flat=True)
    )


def url(order, action=""):
    return ne_url(f"ordini/{order.pk}/{action}")


def confirm_until(order, client, clock, status=OrderStatus.CIG_CONFIRMED):
    response = client.post(url(order, "conferma-appalto/"))
    assert response.status_code == 302
    assert fresh(order).status == OrderStatus.CIG_CONFIRMATION_PENDING
    for _ in range(6):
        clock.shift(timedelta(seconds=20))
        operations.poll_due(now=timezone.now())
        if fresh(order).status != OrderStatus.CIG_CONFIRMATION_PENDING:
            break
    assert fresh(order).status == status


def acquire(order, client):
    client.post(url(order, "acquisisci-cig/"))
    order = fresh(order)
    assert order.status == OrderStatus.CIG_ACQUIRED, order.last_anac_error
    render_summary_pdf.apply(args=[str(order.pk)])
    return fresh(order)


def sign_and_send(ne, order, samples, buyer):
    generated = document_version_content(version=order.summary_generated)
    signed = samples.p7m_of(generated)
    response = buyer.post(
        url(order, "scheda-firmata/"), {"file": upload("sintesi.pdf.p7m", signed)}
    )
    assert response.status_code == 302
    assert fresh(order).status == OrderStatus.READY_TO_SEND
    page = buyer.post(url(order, "invia/"), {"risposta": "si"}, follow=True).content.decode()
    assert fresh(order).status == OrderStatus.SENT
    return page


def test_as_ade_01_order_end_to_end_with_derived_cig(
    ne, samples, live, password_client, spid_client
):
    configure(wt_seconds=30)
    approved_adhesion(ne, samples)
    buyer = password_client(ne.giulio)
    year = timezone.localtime().year
    with time_machine.travel(timezone.now(), tick=True) as clock:
        order = draft_order(ne, samples)
        assert order.number == f"O000045/{year}"
        assert fresh(order).lines_total == Decimal("8056.32")
        page = buyer.get(url(order)).content.decode()
        assert "Per poter finalizzare l’invio dell’ordine è necessario integrare" in page
        assert "Operazione riservata al RUP dell’ordinativo" in page  # Giulio: password session
        assert buyer.post(url(order, "conferma-appalto/")).status_code == 302
        assert fresh(order).status == OrderStatus.DRAFT
        assert log_of(order) == []
        lucia = spid_client(ne.lucia)
        lucia.post(url(order, "conferma-appalto/"))
        assert fresh(order).status == OrderStatus.CIG_CONFIRMATION_PENDING
        page = lucia.get(url(order)).content.decode()
        assert "La richiesta di conferma appalto è in corso, si prega di attendere." in page
        with pytest.raises(S.AdesioniError):  # lines locked while pending
            S.order_line_save(
                user=ne.giulio,
                order_id=order.pk,
                description="x",
                unit_price="1",
                quantity="1",
                now=timezone.now(),
            )
        for _ in range(8):
            clock.shift(timedelta(seconds=10))
            operations.poll_due(now=timezone.now())
            if fresh(order).status == OrderStatus.CIG_CONFIRMED:
                break
        assert fresh(order).status == OrderStatus.CIG_CONFIRMED
        assert Notification.objects.filter(
            recipient=ne.lucia, subject__startswith="Conferma appalto riuscita"
        ).exists()
        page = lucia.get(url(order)).content.decode()
        assert 'data-testid="acquisisci-cig"' in page
        order = acquire(order, lucia)
    assert cig_is_valid_pcp(order.derived_cig)
    assert order.pcp_appalto.lots.get().cig == order.derived_cig
    page = buyer.get(url(order)).content.decode()
    assert order.derived_cig in page and "procedi al passo 2" in page
    # Step 2: the generated PDF carries the CIG; a signed copy of another file is refused.
    pdf = buyer.get(url(order, "scheda-sintesi.pdf"))
    assert pdf["Content-Type"] == "application/pdf"
    title = pdf_metadata(b"".join(pdf.streaming_content))
    assert order.derived_cig in title["/Title"] and "8.056,32" in title["/Title"]
    buyer.post(url(order, "scheda-firmata/"), {"file": upload("altro.p7m", samples.p7m)})
    assert fresh(order).status == OrderStatus.CIG_ACQUIRED
    page = sign_and_send(ne, order, samples, buyer)
    assert "In attesa del nulla osta di Regione." in page
    assert "SCT.Toscana@pec.telecomitalia.it" in page
    # D-ADE-33: the optional PEC check box, stored, not required.
    assert "Ho inviato i documenti al fornitore via PEC" in page
    assert fresh(order).pec_reminder_acknowledged_at is None
    buyer.post(url(order, "pec/"), {"pec_sent": "on"})
    assert fresh(order).pec_reminder_acknowledged_at is not None
    assert "Dichiarato il" in buyer.get(url(order) + "?passo=3").content.decode()
    n05 = Notification.objects.filter(
        subject=f"Ordinativo O000045/{year} inviato – CIG {order.derived_cig}"
    )
    assert {n.recipient for n in n05} == {ne.giulio, ne.mario}
    # The supplier does not see the order before the nulla osta.
    alfa = password_client(ne.alfa)
    assert alfa.get(url(order)).status_code == 404
    password_client(ne.mario).post(url(order, "approva/"))
    assert fresh(order).status == OrderStatus.APPROVED
    assert Notification.objects.filter(
        recipient=ne.alfa, subject__startswith="Nuovo ordinativo approvato"
    ).exists()
    assert alfa.get(url(order)).status_code == 200
    # Esito: salva e pubblica → salva e procedi → public page without login.
    buyer.post(
        url(order, "esito/"),
        {
            "award_date": timezone.localdate().isoformat(),
            "duration_from": "2025-10-03",
            "duration_to": "2026-10-02",
        },
    )
    published = buyer.post(url(order, "esito/pubblica/"), follow=True).content.decode()
    assert "L’esito è stato pubblicato correttamente" in published
    public = Client().get(ne_url("aggiudicazioni/")).content.decode()
    assert order.derived_cig in public and "Comune di Esempio" in public
    # Open data: an OCDS award release, listed in the platform's public "affidamenti".
    release = OcdsRelease.objects.get(source="adesioni")
    assert release.ocid.endswith(order.derived_cig) and release.tags == ["award"]
    assert release.data["awards"][0]["value"] == {"amount": 8056.32, "currency": "EUR"}
    assert release.data["relatedProcesses"][0]["identifier"].endswith(ne.contract.parent_cig)
    assert release_errors(release.data) == []
    listed = Client().get("/trasparenza/affidamenti/", {"cig": order.derived_cig})
    assert "1 procedura trovata" in listed.content.decode()
    log = log_of(order)
    assert log.count("crea-appalto") == 1 and log.count("conferma-appalto") == 1
    assert "esito-operazione" in log and log[-1] == "recupera-cig"
    log_page = buyer.get(url(order) + "?passo=log").content.decode()
    assert "crea-appalto" in log_page and "recupera-cig" in log_page


def test_as_ade_02_totals_that_do_not_match_block_before_any_anac_call(
    ne, samples, live, spid_client
):
    approved_adhesion(ne, samples)
    order = draft_order(ne, samples, lot_amount=Decimal("8056.00"))
    lucia = spid_client(ne.lucia)
    page = lucia.post(url(order, "conferma-appalto/"), follow=True).content.decode()
    assert (
        "Il totale delle righe dell’ordine non corrisponde al totale dell’ordine inserito in "
        "fase di richiesta del CIG." in page
    )
    assert fresh(order).status == OrderStatus.DRAFT
    assert not AnacTransmission.objects.exists() and not AnacOperation.objects.exists()
    backup = fresh(order).lines.get(description="Backup")
    line = S.order_line_save(
        user=ne.giulio,
        order_id=order.pk,
        line_id=backup.pk,
        description="Backup",
        unit_price="41.96",
        quantity="11.992",
        now=timezone.now(),
    )
    assert line.line_total == Decimal("503.18")
    assert fresh(order).lines_total == Decimal("8055.98")
    S.order_line_save(
        user=ne.giulio,
        order_id=order.pk,
        line_id=backup.pk,
        description="Backup",
        unit_price="41.96",
        quantity="12",
        now=timezone.now(),
    )
    S.order_update_cig_request(
        user=ne.giulio,
        order_id=order.pk,
        cig_data={"lot_amount": Decimal("8056.32")},
        now=timezone.now(),
    )
    lucia.post(url(order, "conferma-appalto/"))
    assert fresh(order).status == OrderStatus.CIG_CONFIRMATION_PENDING
    assert log_of(order)[:2] == ["crea-appalto", "conferma-appalto"]


def test_as_ade_05_negative_outcome_then_retry_on_the_same_appalto(ne, samples, live, spid_client):
    # The simulator is told that CDC-01 is not the cost centre registered in AUSA (ERR69).
    script_error("conferma-appalto", "ERR69", codice_centro_costo="CDC-01")
    approved_adhesion(ne, samples)
    order = draft_order(ne, samples)
    lucia = spid_client(ne.lucia)
    with time_machine.travel(timezone.now(), tick=True) as clock:
        confirm_until(order, lucia, clock, status=OrderStatus.DRAFT)
        order = fresh(order)
        assert order.lines_locked_at is None
        assert [e["codice"] for e in order.last_anac_error["errors"]] == ["ERR69"]
        page = lucia.get(url(order)).content.decode()
        assert (
            "ANAC ha restituito un esito negativo. Correggere i dati e ripetere l’operazione."
            in page
        )
        assert (
            "ERR69 – il centro di costo SA presente nella lista delle stazioni appaltanti non è "
            "coerente con l&#x27;anagrafe AUSA" in page
        )
        assert 'data-testid="conferma-appalto" disabled' not in page
        assert Notification.objects.filter(
            recipient=ne.lucia, subject__startswith="Esito negativo ANAC"
        ).exists()
        id_appalto = order.pcp_appalto.id_appalto
        # The cost-centre code is corrected; the same appalto is modified and confirmed again.
        S.order_update_cig_request(
            user=ne.giulio,
            order_id=order.pk,
            cig_data={"cost_centre_code": "CDC-SCT-01"},
            now=timezone.now(),
        )
        clock.shift(timedelta(minutes=30))
        confirm_until(order, lucia, clock)
    order = fresh(order)
    assert order.pcp_appalto.id_appalto == id_appalto
    log = log_of(order)
    assert log.count("crea-appalto") == 1 and log.count("modifica-appalto") == 1
    assert log.count("conferma-appalto") == 2
    assert SimAppalto.objects.count() == 1
    keys = set(AnacOperation.objects.values_list("idempotency_key", flat=True))
    assert any(k.endswith(":conferma-appalto:1") for k in keys)
    assert any(k.endswith(":conferma-appalto:2") for k in keys)


def test_rup_not_profiled_at_anac_is_told_so_msg_d17(ne, samples, live, spid_client):
    script_error("crea-appalto", "SEC01", http_status=403, times=1)
    approved_adhesion(ne, samples)
    order = draft_order(ne, samples)
    lucia = spid_client(ne.lucia)
    lucia.post(url(order, "conferma-appalto/"))
    order = fresh(order)
    assert order.status == OrderStatus.DRAFT
    assert order.last_anac_error["kind"] == "not_authorised"
    page = lucia.get(url(order)).content.decode()
    assert (
        "L’utente non risulta registrato e profilato come Responsabile Unico del Progetto sui "
        "servizi ANAC per questa stazione appaltante (SEC01 – Utente non presente nel sistema)."
        in page
    )
    assert "ANAC ha restituito un esito negativo" not in page


def test_anac_unreachable_is_shown_with_msg_d18(ne, samples, live, settings, spid_client):
    approved_adhesion(ne, samples)
    order = draft_order(ne, samples)
    settings.PDND_TOKEN_URL = live + "/pdnd/non-esiste"
    lucia = spid_client(ne.lucia)
    lucia.post(url(order, "conferma-appalto/"))
    order = fresh(order)
    assert order.status == OrderStatus.DRAFT
    assert order.last_anac_error["kind"] == "unreachable"
    page = lucia.get(url(order)).content.decode()
    assert "Il servizio ANAC non è al momento raggiungibile." in page


def test_deleting_a_draft_order_with_an_appalto_calls_cancella_appalto_and_is_audited(
    ne, samples, live, password_client, spid_client
):
    script_error("conferma-appalto", "ERR69", times=1)
    approved_adhesion(ne, samples)
    order = draft_order(ne, samples)
    lucia = spid_client(ne.lucia)
    with time_machine.travel(timezone.now(), tick=True) as clock:
        confirm_until(order, lucia, clock, status=OrderStatus.DRAFT)
    appalto = fresh(order).pcp_appalto
    assert appalto.id_appalto is not None
    # The buyer (password session) may not: the appalto exists at ANAC (D-ADE-27).
    password_client(ne.giulio).post(url(order, "elimina/"))
    assert fresh(order).status == OrderStatus.DRAFT
    assert "cancella-appalto" not in log_of(order)
    lucia.post(url(order, "elimina/"))
    assert fresh(order).status == OrderStatus.DELETED
    assert log_of(order).count("cancella-appalto") == 1
    assert SimAppalto.objects.get(id_appalto=appalto.id_appalto).stato == "CANC"
    assert AnacOperation.objects.get(kind="cancella-appalto").state == "OK"
    actions = list(
        AuditEvent.objects.filter(object_id=str(order.pk)).values_list("action", flat=True)
    )
    assert "cancellazione appalto richiesta" in actions
    assert actions[-1] == "bozza dell'ordinativo eliminata"


def test_in_progress_banner_is_refreshed_by_htmx_until_the_outcome(ne, samples, live, spid_client):
    configure(wt_seconds=30)
    approved_adhesion(ne, samples)
    order = draft_order(ne, samples)
    lucia = spid_client(ne.lucia)
    banners = ne_url(f"ordini/{order.pk}/avvisi/")
    with time_machine.travel(timezone.now(), tick=True) as clock:
        lucia.post(url(order, "conferma-appalto/"))
        page = lucia.get(url(order)).content.decode()
        assert 'hx-trigger="every 15s"' in page and "django_htmx/htmx-2.min.js" in page
        fragment = lucia.get(banners + "?da=1", HTTP_HX_REQUEST="true").content.decode()
        assert "La richiesta di conferma appalto è in corso" in fragment
        assert 'hx-trigger="every 15s"' in fragment
        for _ in range(4):
            clock.shift(timedelta(seconds=20))
            operations.poll_due(now=timezone.now())
        assert fresh(order).status == OrderStatus.CIG_CONFIRMED
        fragment = lucia.get(banners + "?da=1", HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in fragment  # polling stops
    assert "La richiesta di conferma appalto è in corso" not in fragment
    assert "L’operazione in corso si è conclusa." in fragment
    page = lucia.get(url(order)).content.decode()
    assert "hx-trigger" not in page


def test_as_ade_07_outcome_stays_wt_then_resolves_late(ne, samples, live, spid_client):
    configure(never_resolves=True)
    approved_adhesion(ne, samples)
    order = draft_order(ne, samples)
    lucia = spid_client(ne.lucia)
    lucia.post(url(order, "conferma-appalto/"))
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        for minutes in (1, 5, 30, 120):
            clock.move_to(start + timedelta(minutes=minutes))
            operations.poll_due(now=timezone.now())
        assert fresh(order).status == OrderStatus.CIG_CONFIRMATION_PENDING
        page = lucia.get(url(order)).content.decode()
        assert "La richiesta di conferma appalto è in corso" in page
        assert 'data-testid="conferma-appalto" disabled' in page
        clock.move_to(start + timedelta(hours=73))
        operations.poll_due(now=timezone.now())
        assert fresh(order).status == OrderStatus.CIG_CONFIRMATION_PENDING
        assert Notification.objects.filter(subject__startswith="Esito ANAC in attesa").exists()
        # ANAC finally answers: the next poll confirms.
        SimAppalto.objects.update()
        configure(never_resolves=False, wt_seconds=0)
        from procurement.anac.simulator.models import SimEsito

        SimEsito.objects.filter(resolves_at__isnull=True).update(resolves_at=timezone.now())
        clock.move_to(start + timedelta(hours=80))
        operations.poll_due(now=timezone.now())
    assert fresh(order).status == OrderStatus.CIG_CONFIRMED
    log = log_of(order)
    assert log.count("crea-appalto") == 1 and log.count("conferma-appalto") == 1


def test_double_click_on_conferma_appalto_creates_one_appalto(ne, samples, live, spid_client):
    approved_adhesion(ne, samples)
    order = draft_order(ne, samples)
    clients = [spid_client(ne.lucia), spid_client(ne.lucia)]
    barrier = threading.Barrier(2)
    results = []

    def click(client):
        barrier.wait()
        results.append(client.post(url(order, "conferma-appalto/")).status_code)
        connection.close()

    threads = [threading.Thread(target=click, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [302, 302]
    assert AnacOperation.objects.filter(kind="crea-appalto").count() == 1
    assert AnacOperation.objects.filter(kind="conferma-appalto").count() == 1
    assert SimAppalto.objects.count() == 1


def _approved_order_with_cig(ne, samples, password_client, spid_client):
    approved_adhesion(ne, samples)
    order = draft_order(ne, samples)
    lucia = spid_client(ne.lucia)
    buyer = password_client(ne.giulio)
    with time_machine.travel(timezone.now(), tick=True) as clock:
        confirm_until(order, lucia, clock)
        order = acquire(order, lucia)
    sign_and_send(ne, order, samples, buyer)
    return fresh(order), lucia, buyer


def test_as_ade_08_order_refused_reopened_resent_approved(
    ne, samples, live, password_client, spid_client
):
    order, _lucia, buyer = _approved_order_with_cig(ne, samples, password_client, spid_client)
    cig = order.derived_cig
    mario = password_client(ne.mario)
    mario.post(
        url(order, "rifiuta/"), {"reason": "Manca la firma del legale rappresentante sull'atto"}
    )
    assert fresh(order).status == OrderStatus.REFUSED
    n08 = Notification.objects.get(
        recipient=ne.giulio, subject=f"Ordinativo {order.number} rifiutato"
    )
    assert "Manca la firma del legale rappresentante" in n08.body
    assert not Notification.objects.filter(recipient=ne.alfa).exists()
    with pytest.raises(S.AdesioniError, match="Operazione non consentita"):
        S.order_line_save(
            user=ne.giulio,
            order_id=order.pk,
            line_id=order.lines.first().pk,
            description="x",
            unit_price="1",
            quantity="1",
            now=timezone.now(),
        )
    act = ne.contract.order_requirements.get(code="ACT_A")
    S.order_upload_document(
        user=ne.giulio,
        order_id=order.pk,
        requirement_id=act.pk,
        uploaded_file=upload("atto_firmato_lr.pdf", samples.signed_pdf),
        now=timezone.now(),
    )
    assert order.documents.filter(requirement=act).count() == 2  # the old act is kept
    buyer.post(url(order, "riapri/"))
    assert fresh(order).status == OrderStatus.READY_TO_SEND
    buyer.post(url(order, "invia/"), {"risposta": "si"})
    order = fresh(order)
    assert order.status == OrderStatus.SENT and order.derived_cig == cig
    assert order.lines_total == Decimal("8056.32")
    mario.post(url(order, "approva/"))
    order = fresh(order)
    assert order.status == OrderStatus.APPROVED
    # R-ADE-078: the approval (nulla osta) date is the date the obligation is perfected, shown.
    assert order.approved_at is not None
    approved_on = timezone.localtime(order.approved_at).strftime("%d/%m/%Y")
    page = buyer.get(url(order) + "?passo=3").content.decode()
    assert "Nulla osta rilasciato il" in page and approved_on in page


def test_as_ade_09_cancellation_with_scheda_ann(ne, samples, live, password_client, spid_client):
    order, lucia, buyer = _approved_order_with_cig(ne, samples, password_client, spid_client)
    password_client(ne.mario).post(url(order, "approva/"))
    buyer.post(url(order, "esito/"), {"award_date": "2025-10-22", "duration_to": "2026-10-02"})
    buyer.post(url(order, "esito/pubblica/"))
    page = lucia.get(url(order) + "?passo=schede").content.decode()
    assert "Annullamento procedura – ANN" in page
    lucia.post(url(order, "schede/ann/"))
    scheda = PcpScheda.objects.get(code="ANN")
    assert scheda.status == SchedaStatus.DRAFT
    page = lucia.get(url(order) + "?passo=schede").content.decode()
    assert "errata comunicazione" in page
    with time_machine.travel(timezone.now(), tick=True) as clock:
        response = lucia.post(url(order, f"schede/{scheda.pk}/invia/"), follow=True)
        assert "La richiesta di invio scheda è in corso." in response.content.decode()
        # MSG-05 on the scheda page is refreshed by htmx (same approach as the order banners).
        detail_page = lucia.get(url(order, f"schede/{scheda.pk}/")).content.decode()
        assert 'hx-trigger="every 15s"' in detail_page and "htmx-2.min.js" in detail_page
        scheda_banner = url(order, f"schede/{scheda.pk}/avvisi/") + "?da=1"
        fragment = lucia.get(scheda_banner, HTTP_HX_REQUEST="true").content.decode()
        assert "La richiesta di invio scheda è in corso." in fragment
        assert 'hx-trigger="every 15s"' in fragment
        sim = SimScheda.objects.get()
        assert sim.body["anacForm"] == {
            "cig": order.derived_cig,
            "annullamento": {
                "motivoAnnullamento": {"idTipologica": "motivoAnnullamento", "codice": "1"}
            },
        }
        clock.shift(timedelta(seconds=40))
        lucia.post(url(order, f"schede/{scheda.pk}/verifica/"))
        operations.poll_due(now=timezone.now())
    assert PcpScheda.objects.get(pk=scheda.pk).status == SchedaStatus.CONFIRMED
    fragment = lucia.get(scheda_banner, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in fragment  # polling stops once the send is over
    assert "La richiesta di invio scheda è in corso." not in fragment
    assert "L’operazione in corso si è conclusa." in fragment
    assert password_client(ne.alfa).get(scheda_banner).status_code == 404
    # The scheda's own page: "Inserimento dati" and its "log trasmissioni" tab (R-ADE-104).
    detail = url(order, f"schede/{scheda.pk}/")
    assert f'href="{detail}"' in lucia.get(url(order) + "?passo=schede").content.decode()
    data = lucia.get(detail).content.decode()
    assert "confermata" in data and "errata comunicazione" in data
    assert "hx-trigger" not in data
    log = lucia.get(detail + "?tab=log").content.decode()
    for operation in ("crea-scheda", "conferma-scheda", "esito-operazione"):
        assert f'data-operation="{operation}"' in log
    assert 'data-operation="crea-appalto"' not in log  # only this scheda's exchanges
    assert 'data-testid="log-request-body"' in log  # the RUP sees the bodies (D-ADE-37)
    mario_log = password_client(ne.mario).get(detail + "?tab=log").content.decode()
    assert 'data-operation="conferma-scheda"' in mario_log
    assert 'data-testid="log-request-body"' not in mario_log
    assert password_client(ne.alfa).get(detail).status_code == 404  # not the supplier
    order = fresh(order)
    assert order.status == OrderStatus.ANNULLED
    assert OutcomeNotice.objects.get(order=order).annulled_flag_at is not None
    assert "Annullato il" in Client().get(ne_url("aggiudicazioni/")).content.decode()
    assert [r.tags for r in OcdsRelease.objects.order_by("id")] == [["award"], ["awardUpdate"]]
    procedure = PublicProcedure.objects.get()
    assert procedure.annulled and procedure.award_value is None  # the award is cancelled
    listed = Client().get("/trasparenza/affidamenti/", {"cig": order.derived_cig}).content
    assert "Annullata" in listed.decode()  # still public, marked as annulled
    n11 = {
        n.recipient for n in Notification.objects.filter(subject__endswith="annullato (scheda ANN)")
    }
    assert {ne.giulio, ne.mario, ne.alfa, ne.lucia} <= n11
    with pytest.raises(S.AdesioniError):
        S.scheda_ann_create(user=ne.lucia, order_id=order.pk, now=timezone.now())
    assert SimScheda.objects.count() == 1
    # The adhesion stays approved: a new order is allowed.
    assert (
        "nuovo ordine"
        in buyer.get(ne_url(f"contratti/{ne.contract.pk}/?tab=ordinativi")).content.decode()
    )


def test_as_ade_10_ann_double_click_ko_and_deletion(
    ne, samples, live, password_client, spid_client
):
    order, lucia, _buyer = _approved_order_with_cig(ne, samples, password_client, spid_client)
    lucia.post(url(order, "schede/ann/"))
    scheda = PcpScheda.objects.get(code="ANN")
    script_error("conferma-scheda", "ERR2")
    second = Client()
    second.cookies = lucia.cookies
    barrier = threading.Barrier(2)
    codes = []

    def click(client):
        barrier.wait()
        codes.append(client.post(url(order, f"schede/{scheda.pk}/invia/")).status_code)
        connection.close()

    threads = [threading.Thread(target=click, args=(c,)) for c in (lucia, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert AnacOperation.objects.filter(kind="crea-scheda").count() == 1
    assert SimScheda.objects.count() == 1
    with time_machine.travel(timezone.now(), tick=True) as clock:
        clock.shift(timedelta(seconds=40))
        operations.poll_due(now=timezone.now())
    assert PcpScheda.objects.get(pk=scheda.pk).status == SchedaStatus.ERROR
    page = lucia.get(url(order) + "?passo=schede").content.decode()
    assert "ANAC ha restituito un esito negativo." in page
    assert "ERR2 – scheda non ammessa in questa fase dell&#x27;appalto" in page
    assert 'data-testid="crea-ann" disabled' in page
    lucia.post(url(order, f"schede/{scheda.pk}/elimina/"))
    assert PcpScheda.objects.get(pk=scheda.pk).status == SchedaStatus.DELETED
    assert fresh(order).status == OrderStatus.SENT


def test_ann_is_refused_after_an_execution_scheda(ne, samples, live, password_client, spid_client):
    order, _lucia, _buyer = _approved_order_with_cig(ne, samples, password_client, spid_client)
    PcpScheda.objects.create(
        appalto=order.pcp_appalto,
        code="SC1",
        status=SchedaStatus.CONFIRMED,
        payload={},
        created_by=ne.lucia,
        created_at=timezone.now(),
    )
    with pytest.raises(S.AdesioniError, match="fase di esecuzione"):
        S.scheda_ann_create(user=ne.lucia, order_id=order.pk, now=timezone.now())
    assert not SimScheda.objects.exists()


def test_as_ade_06_timeout_on_crea_appalto_never_creates_two_appalti(
    ne, samples, live, settings, spid_client
):
    approved_adhesion(ne, samples)
    order = draft_order(ne, samples)
    settings.ANAC_TIMEOUT_READ = 0.5
    configure(latency_ms=1500)
    lucia = spid_client(ne.lucia)
    with time_machine.travel(timezone.now(), tick=True) as clock:
        lucia.post(url(order, "conferma-appalto/"))
        assert fresh(order).status == OrderStatus.CIG_CONFIRMATION_PENDING
        for _i in range(50):
            if SimAppalto.objects.exists():
                break
            time.sleep(0.1)
        configure(latency_ms=0)
        settings.ANAC_TIMEOUT_READ = 30.0
        clock.shift(timedelta(minutes=5))
        operations.reconcile_due(now=timezone.now())
        for _ in range(6):
            clock.shift(timedelta(seconds=30))
            operations.dispatch_due(now=timezone.now())
            operations.poll_due(now=timezone.now())
    assert fresh(order).status == OrderStatus.CIG_CONFIRMED
    assert SimAppalto.objects.count() == 1
    assert log_of(order).count("crea-appalto") == 1


def test_orders_exceeding_the_adhesion_amount_show_a_non_blocking_warning_msg_d09(
    ne, samples, password_client
):
    """D-ADE-26: when the non-annulled orders of an adhesion exceed its amount, step 1 shows
    MSG-D09, and the order can still be worked on."""
    adhesion = approved_adhesion(ne, samples, amount=Decimal("8000.00"))
    order = draft_order(ne, samples)  # lines 8.056,32 > 8.000,00
    assert fresh(order).lines_total == Decimal("8056.32")
    buyer = password_client(ne.giulio)
    page = buyer.get(url(order)).content.decode()
    assert (
        f"Attenzione: il totale degli ordinativi dell’adesione {adhesion.code} (€ 8.056,32) "
        "supera l’importo di adesione (€ 8.000,00)."
    ) in page
    S.order_line_save(  # non-blocking: the draft is still editable
        user=ne.giulio,
        order_id=order.pk,
        description="Supporto",
        unit_price="1.00",
        quantity="1",
        now=timezone.now(),
    )
    assert fresh(order).lines_total == Decimal("8057.32")
    type(adhesion).objects.filter(pk=adhesion.pk).update(amount=Decimal("9000.00"))
    assert "supera l’importo di adesione" not in buyer.get(url(order)).content.decode()
