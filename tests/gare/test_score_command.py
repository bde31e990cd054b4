"""``manage.py gare_score FILE`` (issue 7): the engine on a JSON file, through ``call_command``
and as a real process (file and standard input), with the figures of the spec's scenarios.

The input data are those of the engine's tests (tests/gare/evaluation), turned into the JSON
the command reads; the expected figures are the spec's (gare.md §11).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from gare.evaluation import OfferInput, reference_scheme
from tests.gare.evaluation.data import AS01_ECONOMIC, as01_offers, uniform
from tests.gare.evaluation.test_acceptance import AS01_POINTS, CODES, TAB, _as02b, _as03

ROOT = Path(__file__).resolve().parents[2]


def offer_json(offer: OfferInput) -> dict:
    """The issue's input shape for one offer: amounts as strings, days as an integer."""
    data = {
        "id": offer.id,
        "coefficients": {k: [str(v) for v in values] for k, values in offer.coefficients.items()},
        "tabular": dict(offer.tabular),
    }
    if "discount_pct" in offer.values:
        data["discount"] = str(offer.values["discount_pct"])
    if "duration_days" in offer.values:
        days = offer.values["duration_days"]
        data["days"] = int(days) if days == int(days) else str(days)
    return data


def payload(offers, **extra) -> dict:
    return {"scheme": "bellinzago-2026", "offers": [offer_json(o) for o in offers], **extra}


def run_command(data) -> dict:
    out = io.StringIO()
    call_command("gare_score", "-", stdin=io.StringIO(json.dumps(data)), stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def stdin_json(monkeypatch):
    def feed(data) -> dict:
        text = data if isinstance(data, str) else json.dumps(data)
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))
        out = io.StringIO()
        call_command("gare_score", "-", stdout=out)
        return json.loads(out.getvalue())

    return feed


def manage(*args, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "procurement.settings"}
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "gare_score", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


# --- the spec's figures ----------------------------------------------------------------------


def test_as_01_points_totals_and_ranking_in_the_issue_format(stdin_json):
    out = stdin_json(payload(as01_offers()))
    assert [(o["rank"], o["id"], o["total"]) for o in out["offers"]] == [
        (1, "O2", "83.86"),
        (2, "O1", "79.74"),
        (3, "O4", "79.64"),
        (4, "O3", "77.66"),
        (5, "O5", "72.96"),
    ]
    by_id = {o["id"]: o for o in out["offers"]}
    for oid, expected in AS01_POINTS.items():
        # the 13 technical criteria by code, then price and time by name, nothing else
        assert list(by_id[oid]["points"]) == [*CODES, "PRICE", "TIME"]
        assert [by_id[oid]["points"][c] for c in CODES] == list(expected)
    assert {
        o["id"]: (o["points"]["PRICE"], o["points"]["TIME"], o["economic"]) for o in out["offers"]
    } == {
        "O1": ("11.42", "4.59", "16.01"),
        "O2": ("9.46", "4.88", "14.34"),
        "O3": ("13.14", "4.70", "17.84"),
        "O4": ("7.65", "4.49", "12.14"),
        "O5": ("15.00", "5.00", "20.00"),
    }
    assert {o["id"]: o["technical"] for o in out["offers"]} == {
        "O1": "63.73",
        "O2": "69.52",
        "O3": "59.82",
        "O4": "67.50",
        "O5": "52.96",
    }
    assert out["ties"] == [] and out["inadmissible"] == []


def test_as_04_4_floating_point_trap_gives_4_61(stdin_json):
    out = stdin_json(
        payload([uniform("A", "0.8", TAB, "6.14", 400), uniform("B", "0.8", TAB, "20.00", 400)])
    )
    by_id = {o["id"]: o for o in out["offers"]}
    assert by_id["A"]["points"]["PRICE"] == "4.61"  # a float implementation publishes 4.60
    assert by_id["B"]["points"]["PRICE"] == "15.00"


def test_as_09_recomputation_without_the_excluded_first(stdin_json):
    out = stdin_json(payload(as01_offers(ids=("O1", "O3", "O4", "O5"))))
    assert [
        (o["rank"], o["id"], o["technical"], o["economic"], o["total"]) for o in out["offers"]
    ] == [
        (1, "O4", "68.42", "12.14", "80.56"),
        (2, "O1", "64.50", "16.01", "80.51"),
        (3, "O3", "60.67", "17.84", "78.51"),
        (4, "O5", "53.61", "20.00", "73.61"),
    ]
    assert {o["id"]: o["points"]["C2"] for o in out["offers"]} == {
        "O1": "10.00",
        "O3": "11.00",
        "O4": "12.00",
        "O5": "8.50",
    }


def test_as_02b_equal_total_and_technical_is_listed_as_a_tie_with_the_same_rank():
    out = run_command(payload(_as02b()))
    assert out["ties"] == [["A", "B"]]
    ranks = {o["id"]: (o["rank"], o["technical"], o["total"]) for o in out["offers"]}
    assert ranks["A"] == ranks["B"] == (1, "70.00", "87.00")
    assert ranks["M"][0] == 3


def test_as_03_improvements_and_draw_fix_the_order_of_the_three_way_tie():
    pending = run_command(payload(_as03()))
    assert pending["ties"] == [["U", "V", "W"]]
    assert [o["rank"] for o in pending["offers"]] == [1, 1, 1, 4]
    final = run_command(
        payload(_as03(), improvements={"U": "15.80", "V": "15.80"}, draw_order=["V", "U"])
    )
    assert [(o["id"], o["rank"]) for o in final["offers"]] == [
        ("V", 1),
        ("U", 2),
        ("W", 3),
        ("X", 4),
    ]
    # the improvement offers order the tied bidders, they do not change any score
    assert {o["id"]: o["total"] for o in final["offers"]}["V"] == "100.00"


def test_as_04_inadmissible_offers_are_reported_with_a_reason_and_not_scored(stdin_json):
    out = stdin_json(
        payload(
            [
                uniform("OK", "0.8", TAB, "10.00", 400),
                uniform("NEG", "0.8", TAB, "-1.50", 300),
                uniform("LONG", "0.8", TAB, "12.00", 470),
            ]
        )
    )
    assert [o["id"] for o in out["offers"]] == ["OK"]
    reasons = {i["id"]: i["reason"] for i in out["inadmissible"]}
    assert "inferiore al minimo ammesso" in reasons["NEG"]
    assert "supera il massimo ammesso 458" in reasons["LONG"]
    # 300 days and -1.50 % of the inadmissible offers do not count as best values
    assert out["offers"][0]["points"]["TIME"] == "5.00"
    assert out["offers"][0]["points"]["PRICE"] == "15.00"


def test_a_full_scheme_object_gives_the_same_result_as_its_code(stdin_json):
    by_code = stdin_json(payload(as01_offers()))
    by_object = stdin_json(
        {"scheme": reference_scheme().to_dict(), "offers": payload(as01_offers())["offers"]}
    )
    assert by_object == by_code


def test_technical_phase_scores_without_economic_values(stdin_json):
    data = payload(as01_offers())
    for o in data["offers"]:
        del o["discount"], o["days"]
    out = stdin_json({**data, "phase": "TECHNICAL"})
    assert {o["id"]: (o["technical"], o["total"], o["rank"]) for o in out["offers"]}["O2"] == (
        "69.52",
        None,
        None,
    )
    assert "PRICE" not in out["offers"][0]["points"]


# --- invalid input: an Italian message, no traceback, exit code 1 ------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{non è json", "non è un JSON valido"),
        ('["O1"]', "deve contenere un oggetto JSON"),
        ('{"scheme": "roma-2027", "offers": []}', "Schema di valutazione sconosciuto: «roma-2027»"),
        ('{"scheme": "bellinzago-2026"}', "Manca l'elenco delle offerte"),
        ('{"offers": [], "phase": "FINALE"}', "«phase» deve essere"),
        ('{"offers": [{"id": "A", "coefficients": "0.7"}]}', "«coefficients» deve associare"),
        ('{"offers": [{"id": "A", "discount": 12.5, "days": 400}]}', "deve essere una stringa"),
        ('{"scheme": {"code": "x"}, "offers": []}', "non è valutabile in modo deterministico"),
    ],
)
def test_invalid_files_are_refused_with_an_italian_message(data, message, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(data))
    with pytest.raises(CommandError) as exc:
        call_command("gare_score", "-", stdout=io.StringIO())
    assert message in str(exc.value)
    assert str(exc.value).startswith("Valutazione non eseguita:")


def test_missing_coefficients_and_values_off_the_scale_are_all_listed():
    data = payload(as01_offers(ids=("O1", "O2")))
    del data["offers"][0]["coefficients"]["C3"]
    data["offers"][1]["coefficients"]["A1"] = ["0.75", "0.8", "0.8"]
    with pytest.raises(CommandError) as exc:
        run_command(data)
    text = str(exc.value)
    assert "Offerta O1: mancano i coefficienti del criterio C3." in text
    assert "il coefficiente 0.75 non è un valore della scala dei giudizi" in text


def test_an_unreadable_file_is_reported(tmp_path):
    with pytest.raises(CommandError, match="Impossibile leggere il file"):
        call_command("gare_score", str(tmp_path / "manca.json"), stdout=io.StringIO())


# --- as a process ------------------------------------------------------------------------------


def test_the_command_as_a_process_reads_a_file_and_standard_input(tmp_path):
    data = payload(as01_offers())
    path = tmp_path / "valutazione.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    from_file = manage(str(path))
    assert from_file.returncode == 0, from_file.stderr
    from_stdin = manage("-", stdin=json.dumps(data))
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert json.loads(from_file.stdout) == json.loads(from_stdin.stdout)
    first = json.loads(from_file.stdout)["offers"][0]
    assert (first["id"], first["rank"], first["total"]) == ("O2", 1, "83.86")
    assert first["points"]["A1"] == "6.00"


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("{", "non è un JSON valido"),
        ('{"scheme": "nessuno", "offers": []}', "Schema di valutazione sconosciuto"),
        (
            json.dumps(
                {
                    "offers": [
                        {
                            "id": "O1",
                            "coefficients": {"A1": ["0.7", "0.8", "0.7"]},
                            "tabular": {"A2": 3, "D1": True, "D2": 4, "D3": True},
                            "discount": AS01_ECONOMIC["O1"][0],
                            "days": AS01_ECONOMIC["O1"][1],
                        }
                    ]
                }
            ),
            "mancano i coefficienti del criterio A3",
        ),
    ],
)
def test_invalid_input_as_a_process_exits_non_zero_without_traceback(stdin, message):
    done = manage("-", stdin=stdin)
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
