"""OCDS 1.1.5 publication: validation against the official schemas, storage, compilation."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from procurement.opendata.models import OcdsRelease, PublicProcedure
from procurement.opendata.ocds import (
    SCHEMA_DIR,
    closed_codelist_codes,
    record_for,
    record_package_errors,
    release_errors,
)
from procurement.opendata.publisher import records_package, releases_package
from procurement.opendata.services import OcdsInvalid, amount, ocds_publish, ocid_for
from tests.opendata.builders import award_release, tender_release

ROME = ZoneInfo("Europe/Rome")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=ROME)


def publish_tender(cig="BC276A8439", value="1234567.89", title="Riqualificazione scuola"):
    return ocds_publish(
        source="gare",
        key="tender",
        now=T0,
        release=tender_release(
            cig=cig,
            title=title,
            value=Decimal(value),
            published=T0,
            deadline=T0 + timedelta(days=35),
        ),
    )


def test_a_release_built_like_the_apps_do_is_valid():
    release = tender_release(
        cig="BC276A8439", title="x", value=Decimal("10"), published=T0, deadline=T0
    )
    release |= {"id": "r1", "initiationType": "tender"}
    assert release_errors(release) == []


@pytest.mark.parametrize(
    "path,value",
    [
        (("tender", "status"), "aperta"),  # tenderStatus is a closed code list
        (("tender", "procurementMethod"), "negoziata"),
        (("tender", "value", "currency"), "LIRE"),
        (("tag",), ["bando"]),
    ],
)
def test_a_code_outside_a_closed_code_list_is_an_error(path, value):
    release = tender_release(
        cig="BC276A8439", title="x", value=Decimal("10"), published=T0, deadline=T0
    ) | {"id": "r1", "initiationType": "tender"}
    node = release
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    errors = release_errors(release)
    assert errors and "/".join(path) in errors[0]


def test_the_schema_enums_are_exactly_the_closed_code_lists():
    codes = closed_codelist_codes()
    assert {"releaseTag.csv", "tenderStatus.csv", "awardStatus.csv", "currency.csv"} <= set(codes)
    with open(SCHEMA_DIR / "codelists" / "tenderStatus.csv", encoding="utf-8") as fh:
        assert codes["tenderStatus.csv"] == {row["Code"] for row in csv.DictReader(fh)}


@pytest.mark.django_db
def test_publishing_stores_the_release_and_indexes_the_procedure():
    stored = publish_tender()

    assert stored.release_id == f"{ocid_for('BC276A8439')}-tender"
    assert stored.data["language"] == "it" and stored.data["initiationType"] == "tender"
    procedure = PublicProcedure.objects.get()
    assert procedure.cig == "BC276A8439"
    assert procedure.is_notice and not procedure.is_award
    assert procedure.tender_value == Decimal("1234567.89")
    assert procedure.buyer_tax_code == "00247200033"
    assert procedure.tender_deadline == T0 + timedelta(days=35)


@pytest.mark.django_db
def test_publishing_twice_with_the_same_key_stores_one_release():
    first = publish_tender()
    again = publish_tender()
    assert first.pk == again.pk and OcdsRelease.objects.count() == 1


@pytest.mark.django_db
def test_an_invalid_release_is_refused_and_nothing_is_stored():
    release = tender_release(
        cig="BC276A8439", title="x", value=Decimal("10"), published=T0, deadline=T0
    )
    release["tender"]["status"] = "aperta"
    with pytest.raises(OcdsInvalid) as refused:
        ocds_publish(source="gare", key="tender", now=T0, release=release)
    assert "tender/status" in str(refused.value)
    assert not OcdsRelease.objects.exists() and not PublicProcedure.objects.exists()


@pytest.mark.django_db
def test_the_award_updates_the_compiled_release_and_the_public_index():
    publish_tender()
    ocds_publish(
        source="gare",
        key="award",
        now=T0 + timedelta(days=60),
        release=award_release(
            cig="BC276A8439", value=Decimal("987654.32"), awarded=T0 + timedelta(days=60)
        ),
    )

    procedure = PublicProcedure.objects.get()
    assert procedure.is_award and procedure.is_notice
    assert procedure.award_value == Decimal("987654.32")
    assert procedure.suppliers == "Edil Lavori S.r.l."
    assert procedure.title == "Riqualificazione scuola"  # kept from the tender release
    compiled = procedure.compiled
    assert compiled["tender"]["status"] == "complete"
    assert {p["id"] for p in compiled["parties"]} == {
        "IT-CF-00247200033",
        "IT-CF-80014130035",
        "IT-CF-01234567897",
    }
    winner = next(p for p in compiled["parties"] if p["id"] == "IT-CF-01234567897")
    assert winner["identifier"] == {
        "scheme": "IT-CF",
        "id": "01234567897",
        "legalName": "Edil Lavori S.r.l.",
    }


@pytest.mark.django_db
def test_packages_and_records_validate_against_the_official_package_schemas():
    publish_tender()
    ocds_publish(
        source="gare",
        key="award",
        now=T0 + timedelta(days=1),
        release=award_release(cig="BC276A8439", value=Decimal("5"), awarded=T0 + timedelta(days=1)),
    )
    releases = [r.data for r in OcdsRelease.objects.order_by("date")]

    package = releases_package(releases, uri="https://example.invalid/r")
    from procurement.opendata.ocds import release_package_errors

    assert release_package_errors(package) == []
    records = records_package([record_for(releases[0]["ocid"], releases)], uri="https://x.invalid")
    assert record_package_errors(records) == []


def test_amounts_are_exact_json_numbers_in_euro():
    assert amount(Decimal("1234567.89")) == {"amount": 1234567.89, "currency": "EUR"}
    assert amount(Decimal("100.00")) == {"amount": 100, "currency": "EUR"}
    assert amount(None) is None
    with pytest.raises(ValueError):
        amount(Decimal("12345678901234567.25"))


@pytest.mark.django_db
def test_a_published_release_cannot_be_changed():
    stored = publish_tender()
    stored.data["tender"]["title"] = "altro"
    with pytest.raises(ValueError):
        stored.save()
