"""Health of the parts the platform needs: database, broker, storage."""

from __future__ import annotations

import time
import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection


def _timed(check):
    start = time.perf_counter()
    try:
        detail = check()
        status = "ok"
    except Exception as exc:  # a health check reports every failure, it never raises
        detail = f"{type(exc).__name__}: {exc}"
        status = "error"
    return {
        "status": status,
        "detail": detail,
        "ms": round((time.perf_counter() - start) * 1000, 1),
    }


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _broker():
    from procurement.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        # Some transports (Redis) connect lazily: opening a channel makes them talk to the server.
        conn.default_channel  # noqa: B018
        return (
            conn.transport_cls
            if isinstance(conn.transport_cls, str)
            else conn.transport.driver_type
        )


def _storage():
    name = default_storage.save(f"health/{uuid.uuid4().hex}", ContentFile(b"ok"))
    try:
        with default_storage.open(name) as fh:
            if fh.read() != b"ok":
                raise OSError("read back differs")
    finally:
        default_storage.delete(name)
    return type(default_storage).__name__


def run_health_checks() -> dict:
    checks = {"database": _timed(_database), "broker": _timed(_broker), "storage": _timed(_storage)}
    overall = "ok" if all(c["status"] == "ok" for c in checks.values()) else "error"
    return {"status": overall, "checks": checks}
