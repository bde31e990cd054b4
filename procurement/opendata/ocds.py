"""OCDS 1.1.5: the official schemas (vendored in `schemas/1.1.5/`), validation, compilation.

The package schemas refer to the release schema by its canonical URL; there is no network in
production either, so every `https://standard.open-contracting.org/schema/1__1__5/...` reference
is resolved to the vendored file. Closed code lists are `enum`s in the release schema, so schema
validation checks them; `closed_codelist_codes()` reads the CSVs for the tests that prove it.
"""

from __future__ import annotations

import csv
import json
from copy import deepcopy
from functools import cache
from pathlib import Path

import ocdsmerge
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas" / "1.1.5"
SCHEMA_URL = "https://standard.open-contracting.org/schema/1__1__5/"
OCDS_VERSION = "1.1"  # the `version` field of packages: major.minor
PUBLICATION_POLICY_PATH = "/trasparenza/opendata/"

SCHEMA_FILES = (
    "release-schema.json",
    "release-package-schema.json",
    "record-package-schema.json",
    "versioned-release-validation-schema.json",
)


@cache
def schema(name: str) -> dict:
    return json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))


@cache
def _registry() -> Registry:
    resources = []
    for name in SCHEMA_FILES:
        resource = Resource.from_contents(schema(name), default_specification=DRAFT4)
        resources.append((SCHEMA_URL + name, resource))
    return Registry().with_resources(resources)


@cache
def _validator(name: str) -> Draft4Validator:
    return Draft4Validator(schema(name), registry=_registry(), format_checker=FormatChecker())


def _errors(name: str, data) -> list[str]:
    found = []
    for error in sorted(_validator(name).iter_errors(data), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(radice)"
        found.append(f"{where}: {error.message}")
    return found


def release_errors(release: dict) -> list[str]:
    """Every way `release` breaks the 1.1.5 release schema (closed code lists included)."""
    return _errors("release-schema.json", release)


def release_package_errors(package: dict) -> list[str]:
    return _errors("release-package-schema.json", package)


def record_package_errors(package: dict) -> list[str]:
    return _errors("record-package-schema.json", package)


@cache
def closed_codelist_codes() -> dict[str, frozenset[str]]:
    """{codelist file name: codes} of every closed code list the release schema uses."""
    found: dict[str, frozenset[str]] = {}

    def walk(node):
        if isinstance(node, dict):
            if node.get("openCodelist") is False and "codelist" in node:
                name = node["codelist"]
                with open(SCHEMA_DIR / "codelists" / name, encoding="utf-8", newline="") as fh:
                    found[name] = frozenset(row["Code"] for row in csv.DictReader(fh))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema("release-schema.json"))
    return found


@cache
def _merger() -> ocdsmerge.Merger:
    return ocdsmerge.Merger(schema=deepcopy(schema("release-schema.json")))


def compile_release(releases: list[dict]) -> dict:
    """The compiled release of one contracting process (OCDS merge rules, ocdsmerge)."""
    ordered = sorted(releases, key=lambda r: (r["date"], r["id"]))
    return _merger().create_compiled_release(ordered)


def release_package(
    releases: list[dict],
    *,
    uri: str,
    published_date: str,
    publisher: dict,
    policy: str = "",
    links: dict | None = None,
) -> dict:
    package = {
        "uri": uri,
        "version": OCDS_VERSION,
        "publishedDate": published_date,
        "publisher": publisher,
    }
    if policy:
        package["publicationPolicy"] = policy
    if links:
        package["links"] = links
    package["releases"] = releases
    return package


def record_package(
    records: list[dict],
    *,
    uri: str,
    published_date: str,
    publisher: dict,
    policy: str = "",
    links: dict | None = None,
) -> dict:
    package = release_package(
        [], uri=uri, published_date=published_date, publisher=publisher, policy=policy, links=links
    )
    del package["releases"]
    package["records"] = records
    return package


def record_for(ocid: str, releases: list[dict]) -> dict:
    """An OCDS record with the releases embedded and the compiled release."""
    return {"ocid": ocid, "releases": releases, "compiledRelease": compile_release(releases)}
