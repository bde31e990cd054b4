"""Public pages, the OCDS API and the bulk export: no login, filters, pagination, valid packages."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from procurement.opendata.ocds import record_package_errors, release_package_errors
from procurement.opendata.services import ocds_publish
from tests.opendata.builders import award_release, tender_release

pytestmark = pytest.mark.django_db
ROME = ZoneInfo("Europe/Rome")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=ROME)
OTHER_BUYER = ("Comune di Novara", "00125680033")


@pytest.fixture
def published():
    """Three tenders (two by Bellinzago, one by Novara); two of them awarded."""
    rows = [
        ("BC276A8439", "Riqualificazione scuola media", "1200000.00", T0, None),
        ("B1234567AB", "Manutenzione strade comunali", "300000.00", T0 + timedelta(days=10), None),
        (
            "B7654321CD",
            "Servizio mensa scolastica",
            "80000.50",
            T0 + timedelta(days=20),
            OTHER_BUYER,
        ),
    ]
    for cig, title, value, when, buyer in rows:
        kwargs = {"buyer": buyer} if buyer else {}
        ocds_publish(
            source="gare",
            key="tender",
            now=when,
            release=tender_release(
                cig=cig,
                title=title,
                value=Decimal(value),
                published=when,
                deadline=when + timedelta(days=35),
                **kwargs,
            ),
        )
    for cig, value, when, buyer in [
        ("BC276A8439", "987654.32", T0 + timedelta(days=60), None),
        ("B7654321CD", "75000.00", T0 + timedelta(days=70), OTHER_BUYER),
    ]:
        kwargs = {"buyer": buyer} if buyer else {}
        ocds_publish(
            source="gare",
            key="award",
            now=when,
            release=award_release(cig=cig, value=Decimal(value), awarded=when, **kwargs),
        )


def test_the_lists_are_public_and_filterable(published):
    anonymous = Client()
    page = anonymous.get("/trasparenza/bandi/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "3 procedure trovate" in body and "Riqualificazione scuola media" in body

    by_cig = anonymous.get("/trasparenza/bandi/", {"cig": "b1234567ab"}).content.decode()
    assert "1 procedura trovata" in by_cig and "Manutenzione strade comunali" in by_cig

    by_buyer = anonymous.get("/trasparenza/affidamenti/", {"amministrazione": "00125680033"})
    assert "1 procedura trovata" in by_buyer.content.decode()
    assert "Servizio mensa scolastica" in by_buyer.content.decode()

    by_amount = anonymous.get("/trasparenza/affidamenti/", {"importo_min": "100000"})
    assert "1 procedura trovata" in by_amount.content.decode()
    by_date = anonymous.get("/trasparenza/bandi/", {"dal": "2026-03-10", "al": "2026-03-15"})
    assert "1 procedura trovata" in by_date.content.decode()


def test_a_wrong_filter_gets_an_italian_message_not_an_error(published):
    page = Client().get(
        "/trasparenza/bandi/", {"dal": "2026-04-01", "al": "2026-03-01", "importo_min": "abc"}
    )
    assert page.status_code == 200
    body = page.content.decode()
    assert "La data finale precede quella iniziale." in body
    assert "Inserisci un numero." in body


def test_the_detail_page_shows_tender_award_and_history(published):
    body = Client().get("/trasparenza/procedura/ocds-xxxxxx-BC276A8439/").content.decode()
    assert "Riqualificazione scuola media" in body
    assert "Edil Lavori S.r.l." in body and "Disciplinare di gara" in body
    assert Client().get("/trasparenza/procedura/ocds-xxxxxx-NOPE/").status_code == 404


def test_the_csv_has_the_filtered_rows(published):
    response = Client().get("/trasparenza/affidamenti.csv", {"amministrazione": "Bellinzago"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert response["Content-Type"].startswith("text/csv")
    assert lines[0].startswith("ocid;CIG;Oggetto;Amministrazione")
    assert len(lines) == 2 and "BC276A8439" in lines[1] and "987654.32" in lines[1]


def test_the_release_api_pages_with_a_valid_package_per_page(published):
    client = Client()
    first = client.get("/api/ocds/releases", {"limit": 3}).json()
    assert release_package_errors(first) == []
    assert len(first["releases"]) == 3 and "next" in first["links"]
    second = client.get(first["links"]["next"]).json()
    assert release_package_errors(second) == []
    assert len(second["releases"]) == 2 and "links" not in second
    ids = [r["id"] for r in first["releases"] + second["releases"]]
    assert len(set(ids)) == 5


def test_the_release_api_filters_by_date_and_ocid(published):
    client = Client()
    late = client.get("/api/ocds/releases", {"since": "2026-04-20"}).json()
    assert [r["tag"] for r in late["releases"]] == [["award"], ["award"]]
    one = client.get("/api/ocds/releases", {"ocid": "ocds-xxxxxx-B1234567AB"}).json()
    assert [r["ocid"] for r in one["releases"]] == ["ocds-xxxxxx-B1234567AB"]


def test_a_bad_api_parameter_is_a_400_problem_in_italian(published):
    response = Client().get("/api/ocds/releases", {"since": "ieri"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "since" in response.json()["detail"] and "data" in response.json()["detail"]
    assert Client().get("/api/ocds/records", {"limit": "0"}).status_code == 400


def test_the_record_api_compiles_each_process(published):
    package = Client().get("/api/ocds/records", {"ocid": "ocds-xxxxxx-BC276A8439"}).json()
    assert record_package_errors(package) == []
    [record] = package["records"]
    assert [r["tag"] for r in record["releases"]] == [["tender"], ["award"]]
    assert record["compiledRelease"]["awards"][0]["value"]["amount"] == 987654.32


def test_the_bulk_export_writes_valid_packages_and_an_index(published, tmp_path):
    call_command("ocds_export", str(tmp_path), "--chunk", "2", stdout=io.StringIO())
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["releases"] == 5 and index["records"] == 3
    names = [f["file"] for f in index["files"]]
    assert names == [
        "releases-00001.json",
        "releases-00002.json",
        "releases-00003.json",
        "records-00001.json",
        "records-00002.json",
    ]
    for name in names:
        package = json.loads((tmp_path / name).read_text())
        errors = (release_package_errors if name.startswith("releases") else record_package_errors)(
            package
        )
        assert errors == [], name


def test_the_bulk_export_since_a_date(published, tmp_path):
    call_command(
        "ocds_export",
        str(tmp_path),
        "--since",
        "2026-04-20",
        "--no-records",
        stdout=io.StringIO(),
    )
    assert json.loads((tmp_path / "index.json").read_text())["releases"] == 2
    with pytest.raises(CommandError, match="non è una data"):
        call_command("ocds_export", str(tmp_path), "--since", "ieri")


def test_the_dataset_index_is_machine_readable(published):
    index = Client().get("/trasparenza/opendata/index.json").json()
    identifiers = [d["identifier"] for d in index["datasets"]]
    assert identifiers == [
        "ocds-releases",
        "ocds-records",
        "bandi-e-avvisi",
        "aggiudicazioni-e-affidamenti",
    ]
    assert all(d["url"].startswith("http://testserver/") for d in index["datasets"])
