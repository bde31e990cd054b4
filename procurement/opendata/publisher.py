"""Who publishes: the package metadata of every OCDS package the platform serves or exports."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from .ocds import record_package, release_package


def publisher() -> dict:
    return {
        "name": getattr(settings, "OCDS_PUBLISHER_NAME", "Piattaforma e-procurement"),
        "uri": getattr(settings, "SITE_URL", "http://localhost:8000"),
    }


def _policy() -> str:
    return (
        getattr(settings, "SITE_URL", "http://localhost:8000").rstrip("/")
        + "/trasparenza/opendata/"
    )


def releases_package(releases: list[dict], *, uri: str, links: dict | None = None) -> dict:
    return release_package(
        releases,
        uri=uri,
        published_date=timezone.localtime().isoformat(timespec="seconds"),
        publisher=publisher(),
        policy=_policy(),
        links=links,
    )


def records_package(records: list[dict], *, uri: str, links: dict | None = None) -> dict:
    return record_package(
        records,
        uri=uri,
        published_date=timezone.localtime().isoformat(timespec="seconds"),
        publisher=publisher(),
        policy=_policy(),
        links=links,
    )
