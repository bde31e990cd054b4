"""Editing the minutes draft (R-GARE-084: "draft generated from the session's events, edited,
signed by the board members"): who signs the minutes writes their free-text parts; each edit is
a new version rendered after commit (the earlier ones stay, with their SHA-256); the facts of the
session come from the procedure only; a signed version can no longer be edited."""

from __future__ import annotations

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile

from gare.models import GareDocument, GareDocumentKind, GareDocumentStatus, SessionKind
from gare.services import procedure as proc
from gare.services.common import GareError
from gare.services.documents import (
    document_request,
    document_sign,
    minutes_text_edit,
    render_pending,
)
from procurement.audit.models import AuditEvent
from procurement.documents import testca
from procurement.documents.services import document_version_content
from tests.factories.kernel import aware

from .conftest import run_to_admissions, run_to_ranking, run_to_technical
from .test_pdf import pdf_text

pytestmark = pytest.mark.django_db

EDITED_AT = aware(2026, 7, 28, 11, 30)
PREAMBLE = "Alle ore 15:00 il seggio, presieduto dalla dott.ssa Rossi, dichiara aperta la seduta."
STATEMENTS = "Il legale rappresentante di Operatore 2 chiede che sia messo a verbale il ritardo."
REMARKS = "Nessuna osservazione da parte dei presenti collegati da remoto."


def versions(session) -> list[GareDocument]:
    return list(
        GareDocument.objects.filter(kind=GareDocumentKind.MINUTES, session=session).order_by(
            "version"
        )
    )


def edit_url(lot, session) -> str:
    return f"/gare/lotti/{lot.pk}/sedute/{session.pk}/verbale/modifica/"


def pdf_of(doc: GareDocument) -> str:
    doc.refresh_from_db()
    return pdf_text(document_version_content(version=doc.generated))


@pytest.fixture
def admin_session(world, lot):
    """The first session held, its minutes (v1) rendered as the Celery task does."""
    run_to_admissions(world, lot, 2)
    render_pending(now=aware(2026, 7, 28, 10, 1))
    return lot.sessions.get(kind=SessionKind.ADMIN_OPENING)


@pytest.fixture
def tech_session(world, lot):
    """The commission appointed and the technical opening held: its minutes v1 requested."""
    run_to_admissions(world, lot, 2)
    proc.commission_appoint(
        user=world.rup,
        lot=lot,
        members=world.commissioners,
        president=world.commissioners[0],
        now=aware(2026, 8, 3, 9, 0),
    )
    for c in world.commissioners:
        proc.commissioner_declare(user=c, lot=lot, now=aware(2026, 8, 3, 10, 0))
    proc.session_schedule(
        user=world.rup,
        lot=lot,
        kind="TECH_OPENING",
        scheduled_at=aware(2026, 8, 10, 10, 0),
        now=aware(2026, 8, 5, 9, 0),
    )
    proc.session_start(
        user=world.commissioners[0], lot=lot, kind="TECH_OPENING", now=aware(2026, 8, 10, 10, 0)
    )
    proc.technical_session_close(
        user=world.commissioners[0], lot=lot, now=aware(2026, 8, 10, 11, 0)
    )
    render_pending(now=aware(2026, 8, 10, 11, 5))
    return lot.sessions.get(kind=SessionKind.TECH_OPENING)


def test_the_board_edits_the_draft_and_gets_a_new_version_with_the_text_in_the_pdf(
    world, lot, admin_session, client_for
):
    client = client_for(world.board)
    (v1,) = versions(admin_session)
    v1_pdf = document_version_content(version=v1.generated)
    names = [p.display_name for p in lot.participants.all()]

    page = client.get(edit_url(lot, admin_session))
    assert page.status_code == 200
    html = page.content.decode()
    # the generated facts are shown, read-only, next to the free-text fields
    assert "Parti generate dai dati della procedura (non modificabili)" in html
    assert "Esito della verifica amministrativa" in html
    assert all(name in html for name in names)
    assert 'name="preamble"' in html and 'name="statements"' in html and 'name="remarks"' in html
    assert 'data-testid="minutes-version-1"' in html and v1.sha256 in html

    with time_machine.travel(EDITED_AT, tick=False):
        response = client.post(
            edit_url(lot, admin_session),
            {
                "base_version": 1,
                "preamble": PREAMBLE,
                "statements": STATEMENTS,
                "remarks": REMARKS,
            },
        )
    assert response.status_code == 302
    old, new = versions(admin_session)
    # the new version waits for its render after commit; the previous one is untouched
    assert new.version == 2 and new.status == GareDocumentStatus.PENDING
    assert old.pk == v1.pk and old.status == GareDocumentStatus.DRAFT and old.sha256 == v1.sha256
    assert document_version_content(version=old.generated) == v1_pdf
    assert new.edited_by == world.board and new.edited_at == EDITED_AT

    event = AuditEvent.objects.get(action="verbale modificato")
    assert event.actor == world.board and event.created_at == EDITED_AT
    assert event.payload["from_version"] == 1 and event.payload["version"] == 2
    assert event.payload["changed"] == ["preamble", "statements", "remarks"]
    assert event.payload["texts"]["preamble"] == PREAMBLE

    render_pending(now=aware(2026, 7, 28, 11, 31))
    new.refresh_from_db()
    assert new.status == GareDocumentStatus.DRAFT and new.sha256 != v1.sha256
    text = pdf_of(new)
    for heading, body in (
        ("Premessa", PREAMBLE),
        ("Note e dichiarazioni a verbale", STATEMENTS),
        ("Osservazioni dei presenti", REMARKS),
    ):
        assert heading in text and body in text
    assert "Parti di testo libero redatte da" in text
    # the generated parts are still there, from the procedure's data
    assert "Esito della verifica amministrativa" in text and all(n in text for n in names)
    assert PREAMBLE not in pdf_text(v1_pdf)

    # both versions are listed with their SHA-256; the minutes link serves the newest
    html = client.get(edit_url(lot, admin_session)).content.decode()
    assert v1.sha256 in html and new.sha256 in html
    assert 'data-testid="minutes-version-2"' in html
    served = client.get(f"/gare/lotti/{lot.pk}/sedute/{admin_session.pk}/verbale.pdf")
    assert served["X-Content-SHA256"] == new.sha256
    ranking = client.get(f"/gare/lotti/{lot.pk}/graduatoria/").content.decode()
    assert f'data-testid="minutes-edit-{new.pk}"' in ranking


def test_only_who_signs_the_minutes_may_edit_them(world, lot, tech_session, client_for):
    url = edit_url(lot, tech_session)
    (v1,) = versions(tech_session)
    post = {"base_version": 1, "preamble": "Testo non autorizzato"}

    # the technical minutes: the commission's president (and the RUP), not the seggio nor
    # the other commissioners; who does not see the procedure gets 404
    for user, status in (
        (world.board, 403),
        (world.commissioners[1], 403),
        (world.outsider, 404),
        (world.bidders[0], 404),
    ):
        client = client_for(user)
        assert client.get(url).status_code == status, user
        assert client.post(url, post).status_code == status, user
        ranking = client.get(f"/gare/lotti/{lot.pk}/graduatoria/").content.decode()
        assert f'data-testid="minutes-edit-{v1.pk}"' not in ranking
    with pytest.raises(PermissionDenied, match="Non puoi modificare questo verbale"):
        minutes_text_edit(
            user=world.commissioners[1], document=v1, texts={"preamble": "x"}, now=EDITED_AT
        )
    assert versions(tech_session) == [v1]
    assert not AuditEvent.objects.filter(action="verbale modificato").exists()

    president = client_for(world.commissioners[0])
    page = president.get(url)
    assert page.status_code == 200 and "Commissione giudicatrice" in page.content.decode()
    ranking = president.get(f"/gare/lotti/{lot.pk}/graduatoria/").content.decode()
    assert f'data-testid="minutes-edit-{v1.pk}"' in ranking
    assert president.post(url, {**post, "preamble": "Seduta riservata."}).status_code == 302
    assert [d.version for d in versions(tech_session)] == [1, 2]


def test_a_signed_version_can_no_longer_be_edited(world, lot, admin_session, client_for, samples):
    (v1,) = versions(admin_session)
    draft = document_version_content(version=v1.generated)
    signer = testca.issue_signer(
        samples.ca,
        name=world.board.get_full_name(),
        tax_code=world.board.tax_code,
        now=aware(2026, 6, 1, 9, 0),
    )
    document_sign(
        user=world.board,
        document=v1,
        uploaded_file=SimpleUploadedFile(
            "v.pdf.p7m", samples.p7m_of(draft, signer=signer), content_type="application/pkcs7-mime"
        ),
        now=aware(2026, 7, 29, 9, 0),
    )
    client = client_for(world.board)
    page = client.get(edit_url(lot, admin_session)).content.decode()
    assert "il testo di una versione firmata non può più essere modificato" in page
    assert 'name="preamble"' not in page

    response = client.post(edit_url(lot, admin_session), {"base_version": 1, "preamble": "Dopo"})
    assert response.status_code == 400
    assert "il testo di una versione firmata non può più essere modificato" in (
        response.content.decode()
    )
    with pytest.raises(GareError, match="versione firmata"):
        minutes_text_edit(user=world.board, document=v1, texts={"preamble": "x"}, now=EDITED_AT)
    assert versions(admin_session) == [v1]
    v1.refresh_from_db()
    assert v1.status == GareDocumentStatus.SIGNED and v1.texts == {}


def test_the_facts_cannot_be_edited(world, lot, admin_session, client_for):
    client = client_for(world.board)
    response = client.post(
        edit_url(lot, admin_session),
        {
            "base_version": 1,
            "preamble": PREAMBLE,
            # a tampered request trying to rewrite the generated parts
            "events": "Nessuna busta aperta",
            "admissions": "Operatore 1 S.r.l. escluso",
            "started_at": "01/01/2026 08:00",
            "texts": '{"ranking": "primo Operatore 2"}',
        },
    )
    assert response.status_code == 302
    _old, new = versions(admin_session)
    assert new.texts == {"preamble": PREAMBLE}
    render_pending(now=aware(2026, 7, 28, 11, 31))
    text = pdf_of(new)
    assert PREAMBLE in text
    for forged in ("Nessuna busta aperta", "escluso", "01/01/2026 08:00", "primo Operatore 2"):
        assert forged not in text
    assert "27/07/2026 15:00" in text  # the session's real opening, from the procedure

    # the service itself takes nothing but the free-text parts
    with pytest.raises(GareError, match="solo le parti di testo libero"):
        minutes_text_edit(
            user=world.board,
            document=new,
            texts={"preamble": PREAMBLE, "events": "Nessuna busta aperta"},
            now=EDITED_AT,
        )
    assert len(versions(admin_session)) == 2


def test_a_stale_draft_is_refused_and_a_regeneration_keeps_the_texts(
    world, lot, admin_session, client_for
):
    client = client_for(world.board)
    url = edit_url(lot, admin_session)
    assert client.post(url, {"base_version": 1, "preamble": PREAMBLE}).status_code == 302

    # a second editor still on version 1 does not overwrite version 2
    response = client.post(url, {"base_version": 1, "preamble": "Altro testo"})
    assert response.status_code == 400
    assert "aggiornato nel frattempo (ora è alla versione 2)" in response.content.decode()
    # saving the same text again makes no new version
    response = client.post(url, {"base_version": 2, "preamble": PREAMBLE})
    assert response.status_code == 400
    assert "Il testo non è cambiato" in response.content.decode()
    assert [d.version for d in versions(admin_session)] == [1, 2]

    # a later step regenerates the minutes from the data: what the board wrote stays
    render_pending(now=aware(2026, 7, 28, 11, 31))
    document_request(
        lot=lot,
        kind=GareDocumentKind.MINUTES,
        session=admin_session,
        user=world.rup,
        now=aware(2026, 7, 29, 9, 0),
    )
    render_pending(now=aware(2026, 7, 29, 9, 1))
    latest = versions(admin_session)[-1]
    assert latest.version == 3 and latest.texts == {"preamble": PREAMBLE}
    assert PREAMBLE in pdf_of(latest)


def test_the_economic_minutes_stay_hidden_from_the_seggio(world, lot, client_for):
    """Matrix row 26: the edit page shows the offered values, so the seggio gets 404 on it."""
    run_to_admissions(world, lot, 2, discounts=["14.25", "12.50"])
    run_to_technical(world, lot)
    run_to_ranking(world, lot)
    session = lot.sessions.get(kind=SessionKind.ECON_OPENING)
    assert client_for(world.board).get(edit_url(lot, session)).status_code == 404

    page = client_for(world.commissioners[0]).get(edit_url(lot, session))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Buste C aperte: valori offerti" in html and "Punteggi e graduatoria" in html
