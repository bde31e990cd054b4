"""Minutes of the sessions and the award document (PDF, WeasyPrint): the figures in the PDF text
are those of the scoring runs (the engine), for the spec's AS-01, AS-03 and AS-09 data entered
through the procedure; only who sees the ranking page downloads them; no sealed content.

The text is read with pyHanko's PDF reader (a project dependency) and the fonts' ToUnicode maps:
neither pypdf nor pdfminer is installed.
"""

from __future__ import annotations

import io
import re

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from gare.models import LotStatus, SessionKind
from gare.services import procedure as proc
from gare.services.documents import render_pending
from tests.factories.kernel import aware

from .conftest import (
    AS01_IDS,
    run_as01_to_ranking,
    run_to_admissions,
    run_to_ranking,
    run_to_technical,
)
from .evaluation.data import AS01_ECONOMIC
from .evaluation.test_acceptance import AS01_POINTS

pytestmark = pytest.mark.django_db

# --- PDF text ------------------------------------------------------------------------------------

_HEX = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]*>|\[[^\]]*\])")
_CHAR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
_TOKENS = re.compile(
    rb"\[(?:[^\]\\]|\\.)*\]|<[0-9A-Fa-f\s]*>|\((?:[^)\\]|\\.)*\)|/[^\s/\[\]<>()]+|[^\s\[\]<>()/]+"
)


def _utf16(hex_bytes: bytes) -> str:
    return bytes.fromhex(hex_bytes.decode()).decode("utf-16-be", errors="replace")


def _cmap(stream) -> tuple[dict[int, str], int]:
    data = stream.data
    mapping: dict[int, str] = {}
    width = 2
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for src, dst in _CHAR.findall(block):
            width = len(src) // 2
            mapping[int(src, 16)] = _utf16(dst)
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for lo, hi, dst in _HEX.findall(block):
            width = len(lo) // 2
            lo_i, hi_i = int(lo, 16), int(hi, 16)
            if dst.startswith(b"["):
                for i, item in enumerate(re.findall(rb"<([0-9A-Fa-f]*)>", dst)):
                    mapping[lo_i + i] = _utf16(item)
            else:
                base = _utf16(dst[1:-1])
                for i in range(hi_i - lo_i + 1):
                    mapping[lo_i + i] = base[:-1] + chr(ord(base[-1]) + i)
    return mapping, width


def _decode(raw: bytes, font: tuple[dict[int, str], int] | None) -> str:
    if font is None:
        return raw.decode("latin-1")
    mapping, width = font
    return "".join(
        mapping.get(int.from_bytes(raw[i : i + width], "big"), "")
        for i in range(0, len(raw), width)
    )


def _string_bytes(token: bytes) -> bytes:
    if token.startswith(b"<"):
        return bytes.fromhex(re.sub(rb"\s", b"", token[1:-1]).decode())
    body = token[1:-1]
    return re.sub(rb"\\([()\\])", rb"\1", body)


def _obj(value):
    return value.get_object() if hasattr(value, "get_object") else value


def _pages(node):
    node = node.get_object()
    if node.get("/Type") == "/Pages":
        for kid in node["/Kids"]:
            yield from _pages(kid)
    else:
        yield node


def _content(page) -> bytes:
    contents = page["/Contents"]
    if isinstance(contents.get_object(), generic.ArrayObject):
        return b"\n".join(c.get_object().data for c in contents.get_object())
    return contents.get_object().data


def pdf_pages_text(data: bytes) -> list[str]:
    """The text of each page: the strings of every text operator, separated by spaces."""
    reader = PdfFileReader(io.BytesIO(data))
    texts = []
    for page in _pages(reader.root["/Pages"]):
        fonts = {}
        resources = _obj(page.get("/Resources"))
        if resources is not None:
            for name, ref in _obj(resources.get("/Font", generic.DictionaryObject())).items():
                font = _obj(ref)
                fonts[name] = (
                    _cmap(font["/ToUnicode"].get_object()) if "/ToUnicode" in font else None
                )
        current = None
        pieces: list[str] = []
        operands: list[bytes] = []
        for token in _TOKENS.findall(_content(page)):
            if token in (b"Tj", b"TJ", b"'", b'"'):
                text = ""
                for operand in operands:
                    if operand.startswith(b"["):
                        for part in _TOKENS.findall(operand[1:-1]):
                            if part.startswith((b"<", b"(")):
                                text += _decode(_string_bytes(part), fonts.get(current))
                    elif operand.startswith((b"<", b"(")):
                        text += _decode(_string_bytes(operand), fonts.get(current))
                pieces.append(text)
                operands = []
            elif token == b"Tf":
                current = next((o.decode() for o in operands if o.startswith(b"/")), current)
                operands = []
            elif token.isalpha() or token in (b"T*", b"'", b'"'):
                operands = []
            else:
                operands.append(token)
        texts.append(re.sub(r"\s+", " ", " ".join(pieces)).strip())
    return texts


def pdf_text(data: bytes) -> str:
    return " ".join(pdf_pages_text(data))


# --- the procedure with the AS-01 offers -------------------------------------------------------


def name_of(world, oid: str) -> str:
    return world.operators[AS01_IDS.index(oid)].name


def render_documents() -> int:
    """What the Celery task does after each step's commit (the test transaction never commits)."""
    return render_pending(now=aware(2026, 12, 1, 9, 0))


def award_response(client, lot):
    render_documents()
    return client.get(f"/gare/lotti/{lot.pk}/aggiudicazione.pdf")


def minutes(client, lot, kind) -> bytes:
    render_documents()
    session = lot.sessions.get(kind=kind)
    response = client.get(f"/gare/lotti/{lot.pk}/sedute/{session.pk}/verbale.pdf")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    data = response.content
    assert data.startswith(b"%PDF-")
    return data


def row_after(text: str, name: str, count: int) -> list[str]:
    """The `count` figures printed after `name` in a table row."""
    tail = text.split(name, 1)[1]
    return re.findall(r"\d+\.\d{2}", tail)[:count]


def test_minutes_of_the_three_sessions_carry_the_engine_figures_of_as_01(world, lot, client_for):
    run_as01_to_ranking(world, lot)
    client = client_for(world.rup)

    admin = pdf_text(minutes(client, lot, SessionKind.ADMIN_OPENING))
    assert "Verbale di gara" in admin and "Apertura della documentazione amministrativa" in admin
    assert "Esito della verifica amministrativa" in admin
    assert admin.count("Ammesso") == 5
    assert "Nessuna esclusione." in admin
    assert "Busta A di " + name_of(world, "O1") + " aperta" in admin

    tech = pdf_text(minutes(client, lot, SessionKind.TECH_OPENING))
    assert "Commissione giudicatrice" in tech and "Presidente" in tech
    assert "Punteggi tecnici" in tech
    # AS-01 technical points per criterion (A1 … D3, then the technical total), for O2 and O4.
    scores = tech.split("Punteggi tecnici", 1)[1]
    assert row_after(scores, name_of(world, "O2") + " ", 14) == [*AS01_POINTS["O2"], "69.52"]
    assert row_after(scores, name_of(world, "O4") + " ", 14) == [*AS01_POINTS["O4"], "67.50"]
    # the technical minutes never show an economic value (C opens in a later session)
    assert "Economico" not in tech and "14.25" not in tech

    econ = pdf_text(minutes(client, lot, SessionKind.ECON_OPENING))
    assert "Buste C aperte: valori offerti" in econ
    for oid in AS01_IDS:
        assert AS01_ECONOMIC[oid][0] in econ
    assert "Punteggi e graduatoria" in econ
    table = econ.split("Punteggi e graduatoria", 1)[1]
    # AS-01 ranking: O2 83.86, O1 79.74, O4 79.64, O3 77.66, O5 72.96 (rank, points, totals)
    expected = [
        ("O2", "69.52", "9.46", "4.88", "14.34", "83.86"),
        ("O1", "63.73", "11.42", "4.59", "16.01", "79.74"),
        ("O4", "67.50", "7.65", "4.49", "12.14", "79.64"),
        ("O3", "59.82", "13.14", "4.70", "17.84", "77.66"),
        ("O5", "52.96", "15.00", "5.00", "20.00", "72.96"),
    ]
    positions = [table.index(name_of(world, oid) + " ") for oid, *_ in expected]
    assert positions == sorted(positions)
    for rank, (oid, technical, price, time, economic, total) in enumerate(expected, start=1):
        assert f"{rank} {name_of(world, oid)} " in table
        figures = row_after(table, name_of(world, oid) + " ", 18)
        assert figures == [*AS01_POINTS[oid], technical, price, time, economic, total]
    assert "Parità" not in econ
    assert "SHA-256" in econ


def test_as_09_award_document_after_the_exclusion_shows_the_new_ranking(world, lot, client_for):
    label, _ = run_as01_to_ranking(world, lot)
    proc.award_propose(user=world.rup, lot=lot, now=aware(2026, 9, 9, 9, 0))
    client = client_for(world.rup)
    proposal = pdf_text(award_response(client, lot).content)
    assert "Proposta di aggiudicazione" in proposal
    assert f"{name_of(world, 'O2')}" in proposal.split("Aggiudicatario proposto", 1)[1][:200]

    proc.verification_start(user=world.rup, lot=lot, now=aware(2026, 9, 10, 9, 0))
    proc.verification_record(
        user=world.rup,
        lot=lot,
        positive=False,
        note="SOA OS30 di Gamma Impianti scaduta",
        now=aware(2026, 9, 21, 9, 0),
    )
    award = proc.award_propose(user=world.rup, lot=lot, now=aware(2026, 9, 22, 9, 0))
    assert label[award.participant_id] == "O4"
    proc.verification_start(user=world.rup, lot=lot, now=aware(2026, 9, 23, 9, 0))
    proc.verification_record(
        user=world.rup, lot=lot, positive=True, note="", now=aware(2026, 9, 30, 9, 0)
    )
    proc.award_adopt(user=world.rup, lot=lot, now=aware(2026, 10, 1, 9, 0))
    lot.refresh_from_db()
    assert lot.status == LotStatus.AWARDED

    response = award_response(client, lot)
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert "Provvedimento di aggiudicazione" in text
    head = text.split("Aggiudicatario", 1)[1][:400]
    assert name_of(world, "O4") in head
    assert "1 – punteggio totale 80.56 (tecnico 68.42, economico 12.14)" in head
    assert "Ribasso contrattuale 9.55 %" in text
    assert "Importo contrattuale € 1503539.71" in text
    # AS-09 recomputed ranking: O4 80.56, O1 80.51, O3 78.51, O5 73.61; C2 re-parametrised.
    table = text.split("Punteggi e graduatoria", 1)[1]
    for rank, (oid, total) in enumerate(
        [("O4", "80.56"), ("O1", "80.51"), ("O3", "78.51"), ("O5", "73.61")], start=1
    ):
        assert f"{rank} {name_of(world, oid)} " in table
        assert row_after(table, name_of(world, oid) + " ", 18)[-1] == total
    assert row_after(table, name_of(world, "O5") + " ", 18)[6] == "8.50"  # C2
    assert f"{name_of(world, 'O2')} " not in table.split("Esclusioni", 1)[0]
    # the exclusion of the first-ranked, with its grounds
    exclusions = text.split("Esclusioni", 1)[1]
    assert name_of(world, "O2") in exclusions
    assert "SOA OS30 di Gamma Impianti scaduta" in exclusions
    # standstill: contract not before 32 full days after the communications (01/10 → 03/11)
    assert "non prima del 03/11/2026" in text


def test_as_03_tie_improvement_offers_and_draw_in_the_draw_minutes(world, lot, client_for):
    run_to_admissions(world, lot, 2, discounts=["12.00", "12.00"], days=[420, 420])
    run_to_technical(world, lot)
    run_to_ranking(world, lot)
    client = client_for(world.rup)
    econ = pdf_text(minutes(client, lot, SessionKind.ECON_OPENING))
    names = [world.operators[0].name, world.operators[1].name]
    assert "Parità (stesso punteggio totale e tecnico)" in econ
    assert "da risolvere con le offerte migliorative" in econ
    for name in names:
        assert f"1 {name} " in econ  # both first ex aequo
    from gare.models import ImprovementOffer

    for imp in ImprovementOffer.objects.filter(participant__lot=lot):
        bidder = world.bidders[[o.pk for o in world.operators].index(imp.participant.operator_id)]
        proc.improvement_submit(
            user=bidder, improvement=imp, discount="13.00", now=aware(2026, 8, 20, 9, 0)
        )
    proc.improvements_open(user=world.rup, lot=lot, now=aware(2026, 8, 23, 11, 0))
    run = proc.draw_conduct(user=world.rup, lot=lot, now=aware(2026, 8, 25, 10, 0))
    drawn = [lot.participants.get(pk=int(o["id"])).display_name for o in run.result["offers"]]
    draw = pdf_text(minutes(client, lot, SessionKind.DRAW))
    assert "Sorteggio pubblico" in draw
    assert "Offerte migliorative: " in draw and draw.count("13.00 %") == 2
    assert f"Ordine fissato dal sorteggio pubblico: {drawn[0]}, {drawn[1]}" in draw
    assert f"1 {drawn[0]} " in draw and f"2 {drawn[1]} " in draw
    assert "– risolta" in draw


def test_only_who_sees_the_ranking_downloads_the_documents(world, lot, client_for):
    run_to_admissions(world, lot, 2)
    render_documents()
    session = lot.sessions.get(kind=SessionKind.ADMIN_OPENING)
    url = f"/gare/lotti/{lot.pk}/sedute/{session.pk}/verbale.pdf"
    assert client_for(world.rup).get(url).status_code == 200
    assert client_for(world.board).get(url).status_code == 200
    for user in (world.bidders[0], world.outsider):
        assert client_for(user).get(url).status_code == 404
        assert client_for(user).get(f"/gare/lotti/{lot.pk}/graduatoria/").status_code == 404
    # before the proposal there is no award document
    assert client_for(world.rup).get(f"/gare/lotti/{lot.pk}/aggiudicazione.pdf").status_code == 404


def test_no_minutes_for_a_session_not_held_and_no_sealed_values_in_the_minutes(
    world, lot, client_for
):
    run_to_admissions(world, lot, 2, discounts=["14.25", "12.50"])
    run_to_technical(world, lot)
    scheduled = proc.session_schedule(
        user=world.rup,
        lot=lot,
        kind="ECON_OPENING",
        scheduled_at=aware(2026, 8, 18, 10, 0),
        now=aware(2026, 8, 12, 10, 0),
    )
    client = client_for(world.rup)
    url = f"/gare/lotti/{lot.pk}/sedute/{scheduled.pk}/verbale.pdf"
    assert client.get(url).status_code == 404
    # envelopes C are still sealed: no minutes print their figures
    for kind in (SessionKind.ADMIN_OPENING, SessionKind.TECH_OPENING):
        text = pdf_text(minutes(client, lot, kind))
        assert "14.25" not in text and "12.50" not in text and "598695.55" not in text
    ranking = client.get(f"/gare/lotti/{lot.pk}/graduatoria/").content.decode()
    assert (
        f"/gare/lotti/{lot.pk}/sedute/" in ranking
        and 'data-testid="minutes-admin_opening"' in ranking
    )
