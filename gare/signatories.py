"""Who must sign what, per form of participation (§1.4, R-GARE-064, R-GARE-067, R-GARE-068).

The members of a grouped bidder are declared one per line, e.g.

    Lambda S.r.l. 01234567890 mandataria RSSMRA80A01H501U
    Mu S.r.l. 09876543210 mandante VRDLGU75B02F205X
    Omega S.p.A. 11122233344 ausiliaria BNCGNN70C03L219Y

Each line names the undertaking (its 11-digit VAT/tax number), its role (mandataria / capofila /
organo comune, mandante, consorziata esecutrice, ausiliaria) and optionally the personal tax
code (16 characters) of the person who signs for it. The check compares the signers found on
the signed files (pyHanko reports) with the subjects that must sign, and returns warnings: the
platform warns the bidder but does not block the commit (R-GARE-064, D-09); the seggio decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from .models import ParticipationForm as F

LEAD = "LEAD"
MEMBER = "MEMBER"
COMMON_BODY = "COMMON_BODY"
EXECUTOR = "EXECUTOR"
AUXILIARY = "AUXILIARY"

_ROLE_WORDS = (
    (AUXILIARY, ("ausiliari",)),
    (COMMON_BODY, ("organo comune",)),
    (EXECUTOR, ("esecutric", "consorziat")),
    (LEAD, ("mandatari", "capogruppo", "capofila")),
    (MEMBER, ("mandant", "componente", "retist")),
)
_PERSON = re.compile(r"\b[A-Z]{6}\d{2}[A-Z]\d{2}[A-Z]\d{3}[A-Z]\b")
_COMPANY = re.compile(r"\b\d{11}\b")

TO_BE_CONSTITUTED = {
    F.RTI_TO_BE_CONSTITUTED,
    F.ORDINARY_CONSORTIUM_TO_BE_CONSTITUTED,
    F.NETWORK_AS_RTI_TO_BE_CONSTITUTED,
}
CONSTITUTED_LEAD_SIGNS = {
    F.RTI_CONSTITUTED,
    F.ORDINARY_CONSORTIUM_CONSTITUTED,
    F.NETWORK_AS_RTI_CONSTITUTED,
    F.GEIE,
}
BIDDER_SIGNS = {
    F.SINGLE,
    F.NETWORK_LEGAL_ENTITY,
    F.CONSORTIUM_COOPERATIVES,
    F.CONSORTIUM_ARTISANS,
    F.STABLE_CONSORTIUM,
}
CONSORTIA = {F.CONSORTIUM_COOPERATIVES, F.CONSORTIUM_ARTISANS, F.STABLE_CONSORTIUM}


@dataclass(frozen=True)
class Subject:
    """One undertaking named in the offer."""

    text: str
    role: str
    company_code: str
    signer_code: str  # personal tax code of the person signing for it, "" if not declared


def parse_members(lines) -> list[Subject]:
    subjects = []
    for line in lines or []:
        text = str(line).strip()
        if not text:
            continue
        lower = text.lower()
        role = MEMBER
        for candidate, words in _ROLE_WORDS:
            if any(w in lower for w in words):
                role = candidate
                break
        upper = text.upper()
        person = _PERSON.search(upper)
        company = _COMPANY.search(upper)
        subjects.append(
            Subject(
                text=text,
                role=role,
                company_code=company.group(0) if company else "",
                signer_code=person.group(0) if person else "",
            )
        )
    return subjects


def participation_form_signers(form: str, subjects: list[Subject]) -> list[Subject | None]:
    """The subjects who must sign the participation form; None stands for the bidder itself."""
    own = [s for s in subjects if s.role != AUXILIARY]
    if form in BIDDER_SIGNS:
        return [None]
    if form in CONSTITUTED_LEAD_SIGNS:
        leads = [s for s in own if s.role in (LEAD, COMMON_BODY)]
        return leads[:1] or [None]
    if form in TO_BE_CONSTITUTED:
        # Every member, the lead included (the lead is the bidder when it is not listed).
        if not any(s.role == LEAD for s in own):
            return [None, *own]
        return own
    if form == F.NETWORK_CONTRACT:
        # The common body and every participating member.
        if not any(s.role == COMMON_BODY for s in own):
            return [None, *own]
        return own
    return [None]


def espd_filers(form: str, subjects: list[Subject]) -> int:
    """How many DGUE are expected (R-GARE-067): one per subject, auxiliaries included."""
    if form == F.SINGLE:
        return 1 + sum(1 for s in subjects if s.role == AUXILIARY)
    if form in CONSORTIA:
        # The consortium and its named executors (and each auxiliary).
        return 1 + sum(1 for s in subjects if s.role in (EXECUTOR, AUXILIARY))
    listed_lead = any(s.role in (LEAD, COMMON_BODY) for s in subjects)
    return len(subjects) + (0 if listed_lead else 1)


def _signer_codes(files) -> list[set[str]]:
    """Per file, the personal tax codes of its valid signers."""
    out = []
    for f in files:
        report = f.signature_report or {}
        codes = set()
        if f.signature_ok:
            for s in report.get("signers") or []:
                code = (s.get("tax_code") or s.get("signer_tax_code") or "").upper()
                code = code.removeprefix("TINIT-")
                if code:
                    codes.add(code)
            if not codes and report.get("signer_tax_code"):
                codes.add(report["signer_tax_code"].upper().removeprefix("TINIT-"))
            if not codes:
                codes.add(f"?{f.pk}")  # a valid signature whose signer code is unknown
        out.append(codes)
    return out


def signature_problems(*, form: str, members, files) -> list[str]:
    """Warnings on who signed the participation form, the DGUE and the reliance documents.

    `files` are the EnvelopeFile rows of the offer (with their signature reports).
    """
    problems: list[str] = []
    subjects = parse_members(members)
    by_code: dict[str, list] = {}
    for f in files:
        by_code.setdefault(f.requirement_code, []).append(f)

    if form != F.SINGLE and not [s for s in subjects if s.role != AUXILIARY]:
        problems.append(
            _(
                "Per la forma «%(form)s» indica i componenti (uno per riga, con ruolo e codice "
                "fiscale)."
            )
            % {"form": F(form).label}
        )
    if form in CONSORTIA and not any(s.role == EXECUTOR for s in subjects):
        problems.append(_("Il consorzio deve indicare le consorziate per cui concorre."))

    # Participation form (All. 1) [§15.1]: the signers of §1.4.
    required = participation_form_signers(form, subjects)
    signed = (
        set().union(*_signer_codes(by_code.get("PARTICIPATION_FORM", [])))
        if by_code.get("PARTICIPATION_FORM")
        else set()
    )
    if by_code.get("PARTICIPATION_FORM"):
        named = [s for s in required if s is not None and s.signer_code]
        for s in named:
            if s.signer_code not in signed:
                problems.append(
                    _("La domanda di partecipazione non è firmata da %(who)s (%(cf)s).")
                    % {"who": s.text.split(" ")[0], "cf": s.signer_code}
                )
        if len(signed) < len(required):
            problems.append(
                _(
                    "Per la forma «%(form)s» la domanda di partecipazione va firmata da "
                    "%(n)s soggetti; le firme valide trovate sono %(found)s."
                )
                % {"form": F(form).label, "n": len(required), "found": len(signed)}
            )

    # DGUE [§15.3]: one per subject that must file one.
    expected = espd_filers(form, subjects)
    found = len(by_code.get("DGUE", []))
    if found and found < expected:
        problems.append(
            _("Servono %(n)s DGUE (uno per ciascun soggetto tenuto), ne sono stati caricati %(f)s.")
            % {"n": expected, "f": found}
        )

    # Avvalimento [§7], [§15.4]: contract signed by both parties, the auxiliary's DGUE.
    auxiliaries = [s for s in subjects if s.role == AUXILIARY]
    if auxiliaries:
        contracts = by_code.get("RELIANCE_CONTRACT", [])
        if not contracts:
            problems.append(_("Con l'avvalimento serve il contratto di avvalimento."))
        else:
            codes = set().union(*_signer_codes(contracts))
            if len(codes) < 2:
                problems.append(
                    _(
                        "Il contratto di avvalimento va firmato digitalmente da entrambe le "
                        "parti (concorrente e ausiliaria)."
                    )
                )
            for aux in auxiliaries:
                if aux.signer_code and aux.signer_code not in codes:
                    problems.append(
                        _("Il contratto di avvalimento non è firmato dall'ausiliaria (%(cf)s).")
                        % {"cf": aux.signer_code}
                    )
    if form in {F.RTI_CONSTITUTED, F.ORDINARY_CONSORTIUM_CONSTITUTED, F.GEIE} and not by_code.get(
        "COLLECTIVE_MANDATE"
    ):
        problems.append(
            _(
                "Per un raggruppamento costituito serve il mandato collettivo (o l'atto "
                "costitutivo) con l'indicazione della mandataria."
            )
        )
    return problems
