"""Minutes of the sessions (verbali di gara) and the award document, rendered with WeasyPrint.

Every figure comes from what the procedure stored: the sessions' events, the admission
decisions, the exclusions, the opened envelopes and the scoring runs (``ScoreRun.result``, the
output of the evaluation engine, the same that the ranking page and ``manage.py gare_score``
show). Nothing is recomputed here, so the minutes can never disagree with the ranking page.

A sealed envelope is never read: the offered values appear only for envelopes C opened in
session (``envelope_data`` refuses the others), the technical offers only as the list of their
files. One renderer class per document (STYLE.md §9); ``render()`` returns the PDF bytes, and
``data_sha256`` fingerprints the data it was made from (printed in the footer).

The renderers run only in the Celery task ``gare.tasks.render_gare_document`` (after the
commit of the step that asked for the document, ``gare/services/documents.py``), never in a
request: the result is stored with its SHA-256 as a ``GareDocument`` and the views serve it.
"""

from __future__ import annotations

import abc
import datetime
import hashlib
import json
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import deadlines
from .amounts import resolve_economic
from .models import (
    Award,
    EnvelopeState,
    Lot,
    ParticipantStatus,
    ScoreRun,
    Session,
    SessionKind,
)
from .services import procedure as proc
from .services.submission import envelope_data

TEMPLATE_VERSION = "1"

#: Sessions that have minutes: the three openings, the improvement offers and the draw.
MINUTES_KINDS = (
    SessionKind.ADMIN_OPENING,
    SessionKind.TECH_OPENING,
    SessionKind.ECON_OPENING,
    SessionKind.IMPROVEMENT_OPENING,
    SessionKind.DRAW,
)

RUN_REASONS = {
    "INITIAL": gettext_lazy("calcolo iniziale"),
    "IMPROVEMENT": gettext_lazy("dopo le offerte migliorative"),
    "DRAW": gettext_lazy("dopo il sorteggio pubblico"),
    "EXCLUSION_AFTER_SCORING": gettext_lazy("ricalcolo dopo un'esclusione"),
}
PHASES = {
    "ADMIN_CHECK": gettext_lazy("verifica amministrativa"),
    "TECHNICAL": gettext_lazy("valutazione tecnica"),
    "ECONOMIC": gettext_lazy("apertura delle offerte economiche"),
    "ANOMALY": gettext_lazy("verifica di anomalia"),
    "VERIFICATION": gettext_lazy("verifica dei requisiti"),
}


def _dt(value) -> str:
    return timezone.localtime(value).strftime("%d/%m/%Y %H:%M") if value else "—"


def _fingerprint(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Column:
    code: str
    title: str
    max_points: str


def _columns(lot: Lot, run: ScoreRun) -> tuple[list[Column], list[Column]]:
    """Technical and economic criteria of the run's table, in the scheme's order."""
    scheme = proc.scheme_of(lot)
    economic = set(proc.economic_codes(scheme))
    present = set()
    for row in run.result.get("offers", []):
        present |= set(row.get("points", {}))
    technical, econ = [], []
    for leaf in scheme.leaves():
        if leaf.code not in present:
            continue
        col = Column(leaf.code, leaf.title, str(leaf.max_points))
        (econ if leaf.code in economic else technical).append(col)
    return technical, econ


def run_table(lot: Lot, run: ScoreRun | None, names: dict[str, str]) -> dict | None:
    """The ranking table of a run as the minutes print it (rank, points per criterion, totals)."""
    if run is None:
        return None
    technical, economic = _columns(lot, run)
    rows = []
    for row in run.result.get("offers", []):
        points = row.get("points", {})
        rows.append(
            {
                "id": row["id"],
                "name": names.get(row["id"], row["id"]),
                "rank": row.get("rank"),
                "technical_cells": [points.get(c.code, "") for c in technical],
                "economic_cells": [points.get(c.code, "") for c in economic],
                "technical": row.get("technical"),
                "economic": row.get("economic"),
                "total": row.get("total"),
                "contract_discount": row.get("contract_discount"),
                "contract_value": row.get("contract_value"),
            }
        )
    if run.stage == "TECHNICAL":
        # Technical scores only: whatever a technical-stage run holds about prices, ties on
        # the total or anomaly was not computed from offered values (envelopes C are sealed).
        return {
            "run": run,
            "reason": RUN_REASONS.get(run.reason, run.reason),
            "stage": run.stage,
            "technical_columns": technical,
            "economic_columns": [],
            "rows": rows,
            "ties": [],
            "inadmissible": [],
            "improvements": [],
            "draw_order": [],
            "anomalies": [],
            "trail": [],
        }
    pending = {tuple(t["ids"]): t["pending"] for t in run.result.get("pending_tie") or []}
    ties = [
        {
            "names": [names.get(i, i) for i in group],
            "pending": pending.get(tuple(group)),
        }
        for group in run.result.get("ties", [])
    ]
    return {
        "run": run,
        "reason": RUN_REASONS.get(run.reason, run.reason),
        "stage": run.stage,
        "technical_columns": technical,
        "economic_columns": economic,
        "rows": rows,
        "ties": ties,
        "inadmissible": [
            {"name": names.get(i["id"], i["id"]), "reason": i["reason"]}
            for i in run.result.get("inadmissible", [])
        ],
        "improvements": [
            {"name": names.get(k, k), "discount": v}
            for k, v in (run.result.get("improvements") or {}).items()
        ],
        "draw_order": [names.get(i, i) for i in run.result.get("draw_order") or []],
        "anomalies": [
            {"name": names.get(a["id"], a["id"]), "indicators": a["indicators"]}
            for a in run.result.get("anomaly", [])
            if a.get("appears_abnormal")
        ],
        "trail": list(run.result.get("trail") or []),
    }


class _Renderer(abc.ABC):
    template_name = ""

    def __init__(self, lot: Lot, now):
        self.lot = lot
        self.tender = lot.tender
        self.now = now
        self.participants = list(
            lot.participants.exclude(status=ParticipantStatus.WITHDRAWN)
            .select_related("operator", "current_offer")
            .prefetch_related("exclusions", "remedies")
            .order_by("created_at")
        )
        self.names = {str(p.pk): p.display_name for p in self.participants}

    @abc.abstractmethod
    def data(self) -> dict:
        """The figures of the document, read from what the procedure stored."""

    def context(self) -> dict:
        data = self.data()
        return {
            **data,
            "lot": self.lot,
            "tender": self.tender,
            "generated_at": _dt(self.now),
            "template_version": TEMPLATE_VERSION,
            "data_sha256": _fingerprint(data),
        }

    def render(self) -> bytes:
        from weasyprint import HTML

        with translation.override("it"):
            html = render_to_string(self.template_name, self.context())
        return HTML(string=html).write_pdf()

    # shared sections -------------------------------------------------------------------------
    def exclusions(self, phases=None) -> list[dict]:
        found = sorted(
            (
                (x, p)
                for p in self.participants
                for x in p.exclusions.all()
                if phases is None or x.phase in phases
            ),
            key=lambda pair: pair[0].adopted_at,
        )
        return [
            {
                "name": p.display_name,
                "phase": PHASES.get(x.phase, x.phase),
                "grounds": x.grounds,
                "adopted_at": _dt(x.adopted_at),
                "definitive": x.is_definitive,
            }
            for x, p in found
        ]

    def commission(self) -> list[dict]:
        return [
            {
                "name": m.user.get_full_name() or m.user.username,
                "president": m.is_president,
                "appointed_at": _dt(m.appointed_at),
                "declared_at": _dt(m.declaration_signed_at),
            }
            for m in proc.members_of(self.lot)
        ]


class SessionMinutesRenderer(_Renderer):
    """Verbale di gara of one session (R-GARE-084): its events and what it decided."""

    template_name = "gare/pdf/minutes.html"

    def __init__(
        self,
        session: Session,
        now,
        run: ScoreRun | None = None,
        *,
        texts: dict | None = None,
        edited_by=None,
        edited_at=None,
    ):
        super().__init__(session.lot, now)
        self.session = session
        self.run = run
        # The free-text parts written by the board (services/documents.minutes_text_edit);
        # everything else is read from the procedure.
        self.texts = texts or {}
        self.edited_by = edited_by
        self.edited_at = edited_at

    def free_texts(self) -> dict:
        from .services.documents import MINUTES_TEXTS

        texts = {key: self.texts.get(key, "") for key, _label in MINUTES_TEXTS}
        edited = None
        if self.edited_by is not None and any(texts.values()):
            edited = {
                "by": self.edited_by.get_full_name() or self.edited_by.username,
                "at": _dt(self.edited_at),
            }
        return {"free": texts, "edited": edited}

    def _run_of(self, stage: str) -> ScoreRun | None:
        """The run the document was requested for (stored), else the latest of that stage."""
        if self.run is not None and self.run.stage == stage:
            return self.run
        return proc.latest_run(self.lot, stage)

    def _envelope_rows(self, env_type: str) -> list[dict]:
        rows = []
        for p in self.participants:
            if p.current_offer_id is None:
                continue
            envelope = (
                p.current_offer.envelopes.filter(type=env_type).prefetch_related("files").first()
            )
            if envelope is None or envelope.opened_in_session_id != self.session.pk:
                continue
            row = {
                "name": p.display_name,
                "opened_at": _dt(envelope.opened_at),
                "sha256": envelope.sha256,
                "files": [f.original_name for f in envelope.files.all()],
            }
            if env_type == "C" and envelope.state == EnvelopeState.OPENED:
                # The prevailing figures (D-10: words vs figures), as the procedure page shows.
                row["economic"] = resolve_economic(envelope_data(envelope))[0]
            rows.append(row)
        return rows

    def data(self) -> dict:
        s = self.session
        kind = s.kind
        started_by = (
            (s.started_by.get_full_name() or s.started_by.username) if s.started_by else "—"
        )
        data = {
            "session": s,
            "kind": kind,
            "title": str(s.get_kind_display()),
            "scheduled_at": _dt(s.scheduled_at),
            "started_at": _dt(s.started_at),
            "started_by": started_by,
            "public": s.is_public,
            "events": [
                {"at": _dt(datetime.datetime.fromisoformat(e["at"])), "text": e["text"]}
                for e in s.events
            ],
            "tables": [],
        }
        if kind == SessionKind.ADMIN_OPENING:
            data["admissions"] = [
                {
                    "name": p.display_name,
                    "form": str(p.get_form_display()),
                    "status": str(p.get_status_display()),
                    "note": p.checklist_note,
                    "remedies": [
                        {
                            "items": r.items,
                            "sent_at": _dt(r.sent_at),
                            "deadline": _dt(r.deadline),
                            "outcome": r.outcome,
                        }
                        for r in p.remedies.all()
                    ],
                }
                for p in self.participants
            ]
            data["envelopes"] = self._envelope_rows("A")
            data["exclusions"] = self.exclusions(("ADMIN_CHECK",))
        elif kind == SessionKind.TECH_OPENING:
            data["commission"] = self.commission()
            data["envelopes"] = self._envelope_rows("B")
            data["tables"] = [run_table(self.lot, self._run_of("TECHNICAL"), self.names)]
            data["exclusions"] = self.exclusions(("TECHNICAL",))
        elif kind == SessionKind.ECON_OPENING:
            data["envelopes"] = self._envelope_rows("C")
            data["tables"] = [run_table(self.lot, self._run_of("FULL"), self.names)]
            data["exclusions"] = self.exclusions(("ECONOMIC",))
        else:  # improvement offers and public draw: the ranking that followed
            data["tables"] = [run_table(self.lot, self._run_of("FULL"), self.names)]
        data["tables"] = [t for t in data["tables"] if t]
        data["runs"] = [
            {
                "version": r.version,
                "reason": RUN_REASONS.get(r.reason, r.reason),
                "stage": r.stage,
                "created_at": _dt(r.created_at),
            }
            for r in self.lot.runs.order_by("version")
        ]
        data.update(self.free_texts())
        return data


class AwardRenderer(_Renderer):
    """Proposta di aggiudicazione, then provvedimento di aggiudicazione once adopted."""

    template_name = "gare/pdf/award.html"

    def __init__(self, award: Award, now, decision: bool | None = None):
        super().__init__(award.lot, now)
        self.award = award
        # The proposal stays a proposal even when rendered after the award was adopted.
        self.decision = award.adopted_at is not None if decision is None else decision

    def data(self) -> dict:
        a = self.award
        table = run_table(self.lot, a.run, self.names)
        row = next((r for r in table["rows"] if r["id"] == str(a.participant_id)), {})
        earliest = latest = None
        if a.last_communication_sent_at:
            earliest = deadlines.earliest_signature_date(a.last_communication_sent_at, self.tender)
        if a.adopted_at:
            latest = deadlines.latest_signature_date(a.adopted_at, self.tender)
        return {
            "award": a,
            "adopted": self.decision,
            "title": _("Provvedimento di aggiudicazione")
            if self.decision
            else _("Proposta di aggiudicazione"),
            "awardee": a.participant.display_name,
            "awardee_tax_code": a.participant.operator.tax_code,
            "rank": row.get("rank"),
            "total": row.get("total"),
            "technical": row.get("technical"),
            "economic": row.get("economic"),
            "contract_discount": row.get("contract_discount"),
            "contract_value": row.get("contract_value"),
            "run_version": a.run.version,
            "proposed_at": _dt(a.proposed_at),
            "verification_started_at": _dt(a.verification_started_at),
            "verification_outcome": {"POSITIVE": _("positivo"), "NEGATIVE": _("negativo")}.get(
                a.verification_outcome, _("non ancora registrato")
            ),
            "verification_note": a.verification_note,
            "adopted_at": _dt(a.adopted_at),
            "communications_at": _dt(a.last_communication_sent_at),
            "earliest_signature": earliest.strftime("%d/%m/%Y") if earliest else "—",
            "latest_signature": latest.strftime("%d/%m/%Y") if latest else "—",
            "commission": self.commission(),
            "exclusions": self.exclusions(),
            "tables": [table],
        }


def session_minutes_pdf(session: Session, *, now) -> bytes:
    return SessionMinutesRenderer(session, now).render()


def award_pdf(award: Award, *, now) -> bytes:
    return AwardRenderer(award, now).render()
