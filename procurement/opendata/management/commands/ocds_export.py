"""python manage.py ocds_export --since 2026-01-01 OUT

Writes OUT/releases-00001.json … (release packages of --chunk releases each, streamed: memory
stays flat whatever the number of releases), OUT/records-00001.json … (record packages) and
OUT/index.json (what was written, with counts and SHA-256 of each file).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from procurement.opendata.models import OcdsRelease, PublicProcedure
from procurement.opendata.ocds import record_for
from procurement.opendata.publisher import records_package, releases_package
from procurement.opendata.selectors import releases_between


def _since(raw: str | None):
    if not raw:
        return None
    value = parse_datetime(raw)
    if value is None:
        day = parse_date(raw)
        if day is None:
            raise CommandError(
                f"--since: «{raw}» non è una data (AAAA-MM-GG) né una data e ora ISO 8601."
            )
        value = datetime.combine(day, time.min)
    return timezone.make_aware(value) if timezone.is_naive(value) else value


class _Writer:
    """Writes one package file, streaming its array, and hashes what it writes."""

    def __init__(self, path: Path, head: dict, key: str):
        self.path = path
        self.sha = hashlib.sha256()
        self.fh = path.open("w", encoding="utf-8")
        prefix = json.dumps(head, ensure_ascii=False)[:-1] + f', "{key}": ['
        self._write(prefix)
        self.count = 0

    def _write(self, text: str):
        self.fh.write(text)
        self.sha.update(text.encode("utf-8"))

    def add(self, item: dict):
        self._write(("," if self.count else "") + json.dumps(item, ensure_ascii=False))
        self.count += 1

    def close(self) -> dict:
        self._write("]}")
        self.fh.close()
        return {"file": self.path.name, "count": self.count, "sha256": self.sha.hexdigest()}


class Command(BaseCommand):
    help = "Esporta i rilasci e i record OCDS 1.1.5 in file JSON (pacchetti) in una cartella."

    def add_arguments(self, parser):
        parser.add_argument("out", help="cartella di destinazione (creata se non esiste)")
        parser.add_argument("--since", help="solo i rilasci da questa data (AAAA-MM-GG o ISO 8601)")
        parser.add_argument("--chunk", type=int, default=10000, help="rilasci per file (10000)")
        parser.add_argument("--no-records", action="store_true", help="non scrivere i record")

    def handle(self, *args, out, since=None, chunk=10000, no_records=False, **options):
        if chunk < 1:
            raise CommandError("--chunk deve essere almeno 1.")
        since_dt = _since(since)
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        uri = "file://" + str(folder.resolve())
        written = []

        def head_of(kind):
            package = (releases_package if kind == "releases" else records_package)([], uri=uri)
            package.pop(kind)
            return package

        writer, n = None, 0
        qs = releases_between(since=since_dt).values_list("data", flat=True)
        for data in qs.iterator(chunk_size=2000):
            if writer is None or writer.count >= chunk:
                if writer is not None:
                    written.append(writer.close())
                n += 1
                writer = _Writer(folder / f"releases-{n:05d}.json", head_of("releases"), "releases")
            writer.add(data)
        if writer is not None:
            written.append(writer.close())
        total_releases = sum(w["count"] for w in written)

        total_records = 0
        if not no_records:
            procedures = PublicProcedure.objects.order_by("id")
            if since_dt is not None:
                procedures = procedures.filter(last_release_at__gte=since_dt)
            writer, n, batch = None, 0, []
            ocids = procedures.values_list("ocid", flat=True).iterator(chunk_size=2000)

            def flush(batch_ocids):
                nonlocal writer, n
                grouped = {o: [] for o in batch_ocids}
                for ocid, data in (
                    OcdsRelease.objects.filter(ocid__in=batch_ocids)
                    .order_by("date", "id")
                    .values_list("ocid", "data")
                ):
                    grouped[ocid].append(data)
                for ocid in batch_ocids:
                    if writer is None or writer.count >= chunk:
                        if writer is not None:
                            written.append(writer.close())
                        n += 1
                        writer = _Writer(
                            folder / f"records-{n:05d}.json", head_of("records"), "records"
                        )
                    writer.add(record_for(ocid, grouped[ocid]))

            for ocid in ocids:
                batch.append(ocid)
                if len(batch) >= 500:
                    flush(batch)
                    batch = []
            if batch:
                flush(batch)
            if writer is not None:
                written.append(writer.close())
            total_records = sum(w["count"] for w in written if w["file"].startswith("records"))

        index = {
            "generated": timezone.localtime().isoformat(timespec="seconds"),
            "since": since_dt.isoformat() if since_dt else None,
            "releases": total_releases,
            "records": total_records,
            "files": written,
        }
        (folder / "index.json").write_text(
            json.dumps(index, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        self.stdout.write(
            f"Esportati {total_releases} rilasci e {total_records} record "
            f"in {len(written)} file ({folder})."
        )
