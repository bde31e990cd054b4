"""Offline verification of digital signatures: CAdES envelopes (.p7m) and signed PDFs (PAdES).

pyHanko does the cryptography, always with an explicit `ValidationContext` built from
`settings.SIGNATURE_TRUST_ROOTS` and `allow_fetching=False`: a verification never goes to the
network and never trusts the operating system's certificate store.

Three answers per signature, as pyHanko defines them, plus one of ours:
- intact: the signed bytes are unchanged (digest matches; for a PDF, nothing but further
  signatures was added after it);
- valid: the signature value is cryptographically correct *and* the content is intact, i.e. the
  signature is good for this document;
- trusted: the signer's certificate chains to a trust root, is in its validity period at the
  verification time and allows signing (non-repudiation or digital signature).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from asn1crypto import cms, pem
from asn1crypto import x509 as asn1_x509
from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESIndeterminate, AdESSubIndic
from pyhanko.sign.validation import async_validate_cms_signature, async_validate_pdf_signature
from pyhanko.sign.validation.generic_cms import extract_self_reported_ts
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext

from procurement.core.aio import run_coroutine

from .models import SignatureFormat

logger = logging.getLogger(__name__)

PEM_SUFFIXES = {".pem", ".crt", ".cer"}
# Envelopes inside envelopes ("firma multipla a matrioska") are unwrapped up to this depth.
MAX_ENVELOPE_DEPTH = 5
# Italian qualified certificates carry non-repudiation; generic ones digital signature.
KEY_USAGE = KeyUsageConstraints(
    key_usage={"non_repudiation", "digital_signature"}, match_all_key_usages=False
)


@dataclass(frozen=True)
class SignerResult:
    """One signature and the certificate that made it."""

    name: str
    tax_code: str
    signing_time: datetime.datetime | None
    intact: bool
    valid: bool
    trusted: bool
    subject: str = ""
    issuer: str = ""
    serial: str = ""
    not_after: datetime.datetime | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.trusted


@dataclass(frozen=True)
class SignatureResult:
    """The verification of one file. For `NONE`, intact/valid/trusted are None."""

    format: str
    intact: bool | None
    valid: bool | None
    trusted: bool | None
    message: str
    signers: tuple[SignerResult, ...] = ()
    #: For a .p7m, the signed document inside the envelope(s); None when it cannot be read.
    content: bytes | None = field(default=None, repr=False)
    error: str = ""

    @property
    def is_signed(self) -> bool:
        return self.format != SignatureFormat.NONE

    @property
    def ok(self) -> bool:
        return bool(self.is_signed and self.intact and self.valid and self.trusted)

    @property
    def signer_name(self) -> str:
        return self.signers[0].name if self.signers else ""

    @property
    def signer_tax_code(self) -> str:
        return self.signers[0].tax_code if self.signers else ""

    @property
    def signing_time(self) -> datetime.datetime | None:
        return self.signers[0].signing_time if self.signers else None

    def as_report(self) -> dict[str, Any]:
        """A JSON-serialisable account, stored with the document version."""

        def when(value):
            return value.isoformat() if value else None

        return {
            "format": str(self.format),
            "intact": self.intact,
            "valid": self.valid,
            "trusted": self.trusted,
            "message": self.message,
            "error": self.error,
            "signers": [
                {
                    "name": s.name,
                    "tax_code": s.tax_code,
                    "signing_time": when(s.signing_time),
                    "intact": s.intact,
                    "valid": s.valid,
                    "trusted": s.trusted,
                    "subject": s.subject,
                    "issuer": s.issuer,
                    "serial": s.serial,
                    "not_after": when(s.not_after),
                    "problem": s.problem,
                }
                for s in self.signers
            ],
        }


# --- trust roots -----------------------------------------------------------------------------


def load_trust_roots(paths: Iterable[str | Path] | None = None) -> list[asn1_x509.Certificate]:
    """Certificates from PEM/DER files, or from the *.pem/*.crt/*.cer files of folders.

    A missing path is logged and skipped: without trust roots every signature is reported as
    untrusted, which is the safe answer (in development, `make_test_ca` creates the default one).
    """
    if paths is None:
        paths = settings.SIGNATURE_TRUST_ROOTS
    roots: list[asn1_x509.Certificate] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in PEM_SUFFIXES)
        elif path.is_file():
            files = [path]
        else:
            logger.warning("Signature trust root %s does not exist: skipped", path)
            continue
        for file in files:
            roots.extend(_read_certificates(file))
    return roots


def _read_certificates(path: Path) -> list[asn1_x509.Certificate]:
    data = path.read_bytes()
    if pem.detect(data):
        return [
            asn1_x509.Certificate.load(der)
            for type_name, _headers, der in pem.unarmor(data, multiple=True)
            if type_name in ("CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE")
        ]
    return [asn1_x509.Certificate.load(data)]


def validation_context(
    *, now: datetime.datetime | None = None, trust_roots: list[asn1_x509.Certificate] | None = None
) -> ValidationContext:
    """A fresh, offline validation context (pyHanko contexts keep state: one per signature)."""
    return ValidationContext(
        trust_roots=load_trust_roots() if trust_roots is None else trust_roots,
        allow_fetching=False,
        moment=now,
    )


# --- CMS parsing -----------------------------------------------------------------------------


def _cms_der(data: bytes) -> bytes | None:
    if data[:1] == b"\x30":
        return data
    stripped = data.strip()
    if stripped.startswith(b"-----BEGIN"):
        try:
            _type_name, _headers, der = pem.unarmor(stripped)
        except ValueError:
            return None
        return der
    # Some signing tools save the envelope as bare base64; a DER SEQUENCE encodes as "MI...".
    if stripped[:2] == b"MI":
        try:
            der = base64.b64decode(b"".join(stripped.split()), validate=True)
        except (binascii.Error, ValueError):
            return None
        return der if der[:1] == b"\x30" else None
    return None


def load_signed_data(data: bytes) -> cms.SignedData | None:
    """The CMS SignedData in `data` (DER/BER, PEM or base64), or None if it is not one."""
    der = _cms_der(data)
    if der is None:
        return None
    try:
        info = cms.ContentInfo.load(der)
        if info["content_type"].native != "signed_data":
            return None
        signed = info["content"]
        # asn1crypto parses lazily: touch what verification needs, so junk fails here.
        signed["encap_content_info"]["content_type"].native  # noqa: B018
        if len(signed["signer_infos"]) == 0:
            return None
    except (ValueError, TypeError, KeyError, IndexError):
        return None
    return signed


def _encapsulated_content(signed: cms.SignedData) -> bytes | None:
    content = signed["encap_content_info"]["content"]
    if content.native is None:
        return None
    return bytes(content)


def _one_signer_views(signed: cms.SignedData) -> list[cms.SignedData]:
    """pyHanko validates one SignerInfo at a time: one copy of `signed` per parallel signer."""
    infos = list(signed["signer_infos"])
    if len(infos) == 1:
        return [signed]
    views = []
    for info in infos:
        view = cms.SignedData.load(signed.dump())
        view["signer_infos"] = cms.SignerInfos([cms.SignerInfo.load(info.dump())])
        views.append(view)
    return views


# --- certificate details ---------------------------------------------------------------------


def tax_code_from_serial(serial_number: str) -> str:
    """Italian signing certificates: "TINIT-RSSMRA80A01H501U" (ETSI) or "IT:RSSMRA80A01H501U"."""
    value = (serial_number or "").strip().upper()
    for prefix in ("TINIT-", "IT:", "TIN:IT-"):
        if value.startswith(prefix):
            return value[len(prefix) :]
    return ""


def _signer_identity(cert: asn1_x509.Certificate) -> dict[str, Any]:
    subject = cert.subject.native
    name = subject.get("common_name") or " ".join(
        part for part in (subject.get("given_name"), subject.get("surname")) if part
    )
    if isinstance(name, list):
        name = " ".join(name)
    serial = subject.get("serial_number") or ""
    if isinstance(serial, list):
        serial = serial[0]
    return {
        "name": name or cert.subject.human_friendly,
        "tax_code": tax_code_from_serial(serial)[:16],
        "subject": cert.subject.human_friendly,
        "issuer": cert.issuer.human_friendly,
        "serial": format(cert.serial_number, "x"),
        "not_after": cert.not_valid_after,
    }


_PROBLEMS = {
    AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND: "untrusted_issuer",
    AdESIndeterminate.OUT_OF_BOUNDS_NO_POE: "expired",
    AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED: "expired",
    AdESIndeterminate.NOT_YET_VALID: "not_yet_valid",
    AdESIndeterminate.REVOKED_NO_POE: "revoked",
    AdESIndeterminate.REVOKED_CA_NO_POE: "revoked",
    AdESIndeterminate.SIG_CONSTRAINTS_FAILURE: "key_usage",
}


def _problem_code(indication: AdESSubIndic | None, revoked: bool) -> str:
    if revoked:
        return "revoked"
    if indication is None:
        return ""
    return _PROBLEMS.get(indication, indication.name.lower())


def _signer_from_status(status, *, intact: bool, signing_time) -> SignerResult:
    valid = bool(status.valid and intact)
    trusted = bool(status.trusted and valid)
    problem = ""
    if not intact:
        problem = "altered"
    elif not status.valid:
        problem = "bad_signature"
    elif not trusted:
        problem = _problem_code(status.trust_problem_indic, status.revoked) or "untrusted_issuer"
        # pyHanko reports a self-signed certificate outside the trust list as a chain failure.
        chain_problem = problem in ("untrusted_issuer", "chain_constraints_failure")
        if chain_problem and status.signing_cert.self_signed != "no":
            problem = "self_signed"
    return SignerResult(
        signing_time=signing_time,
        intact=bool(intact),
        valid=valid,
        trusted=trusted,
        problem=problem,
        **_signer_identity(status.signing_cert),
    )


def _broken_signer(exc: Exception) -> SignerResult:
    return SignerResult(
        name="",
        tax_code="",
        signing_time=None,
        intact=False,
        valid=False,
        trusted=False,
        problem=f"unreadable: {type(exc).__name__}",
    )


# --- verification ----------------------------------------------------------------------------


async def _verify_cms_level(signed, roots, now) -> list[SignerResult]:
    results = []
    for view in _one_signer_views(signed):
        try:
            status = await async_validate_cms_signature(
                view,
                validation_context=validation_context(now=now, trust_roots=roots),
                key_usage_settings=KEY_USAGE,
            )
            signing_time = extract_self_reported_ts(view["signer_infos"][0])
            results.append(
                _signer_from_status(status, intact=status.intact, signing_time=signing_time)
            )
        # The file comes from a user and may be malformed in any way: one broken signature
        # becomes a failed signature in the report, never a server error.
        except Exception as exc:
            logger.info("Unreadable CMS signature: %r", exc)
            results.append(_broken_signer(exc))
    return results


async def _verify_p7m(signed, roots, now) -> tuple[list[SignerResult], bytes | None]:
    signers: list[SignerResult] = []
    content = None
    for _depth in range(MAX_ENVELOPE_DEPTH):
        signers += await _verify_cms_level(signed, roots, now)
        content = _encapsulated_content(signed)
        inner = load_signed_data(content) if content is not None else None
        if inner is None:
            break
        signed = inner
    return signers, content


async def _verify_pdf(data: bytes, roots, now) -> list[SignerResult]:
    reader = PdfFileReader(BytesIO(data), strict=False)
    signers = []
    for embedded in reader.embedded_signatures:
        if embedded.sig_object_type != "/Sig":
            continue  # document timestamps are not signatures of a person
        try:
            status = await async_validate_pdf_signature(
                embedded,
                signer_validation_context=validation_context(now=now, trust_roots=roots),
                key_usage_settings=KEY_USAGE,
            )
            # A later incremental update may only add signatures or fill in forms.
            intact = bool(status.intact and status.docmdp_ok)
            signing_time = status.signer_reported_dt
            if status.timestamp_validity is not None and status.timestamp_validity.intact:
                signing_time = status.timestamp_validity.timestamp
            signers.append(_signer_from_status(status, intact=intact, signing_time=signing_time))
        except Exception as exc:  # hostile input, see _verify_cms_level
            logger.info("Unreadable PDF signature: %r", exc)
            signers.append(_broken_signer(exc))
    return signers


def verify_signature(
    data: bytes, content_type: str, *, now: datetime.datetime | None = None
) -> SignatureResult:
    """Verify the signatures of a file whose type was detected from its content.

    `content_type` "application/pkcs7-mime" is treated as a CAdES envelope, "application/pdf"
    as a possibly signed PDF; anything else has no signature we can verify.
    """
    from .uses import PDF, PKCS7

    now = now or timezone.now()
    if content_type == PKCS7:
        signed = load_signed_data(data)
        if signed is None:
            return _unreadable(SignatureFormat.CADES_P7M, "not a CMS SignedData")
        roots = load_trust_roots()
        try:
            signers, content = run_coroutine(_verify_p7m(signed, roots, now))
        except Exception as exc:  # hostile input, see _verify_cms_level
            logger.info("Unreadable CMS envelope: %r", exc)
            return _unreadable(SignatureFormat.CADES_P7M, f"unreadable: {type(exc).__name__}")
        if content is None:
            return _result(
                SignatureFormat.CADES_P7M,
                signers,
                error="detached",
                message=_(
                    "La busta .p7m non contiene il documento firmato (firma separata): "
                    "carica il file con il documento incorporato."
                ),
            )
        return _result(SignatureFormat.CADES_P7M, signers, content=content)
    if content_type == PDF:
        roots = load_trust_roots()
        try:
            signers = run_coroutine(_verify_pdf(data, roots, now))
        except Exception as exc:  # hostile input, see _verify_cms_level
            logger.info("Unreadable PDF: %r", exc)
            return SignatureResult(
                format=SignatureFormat.NONE,
                intact=None,
                valid=None,
                trusted=None,
                error=f"unreadable: {type(exc).__name__}",
                message=_("Il PDF non è leggibile: non è stato possibile cercare firme digitali."),
            )
        if signers:
            return _result(SignatureFormat.PADES, signers)
    return SignatureResult(
        format=SignatureFormat.NONE,
        intact=None,
        valid=None,
        trusted=None,
        message=_("Il documento non contiene firme digitali."),
    )


def extract_signed_content(data: bytes) -> bytes:
    """The document inside a .p7m (through nested envelopes); ValueError if there is none."""
    signed = load_signed_data(data)
    if signed is None:
        raise ValueError("not a CMS SignedData")
    for _depth in range(MAX_ENVELOPE_DEPTH):
        content = _encapsulated_content(signed)
        if content is None:
            raise ValueError("detached signature: no content in the envelope")
        inner = load_signed_data(content)
        if inner is None:
            return content
        signed = inner
    raise ValueError("too many nested envelopes")


def _unreadable(fmt: str, error: str) -> SignatureResult:
    return SignatureResult(
        format=fmt,
        intact=False,
        valid=False,
        trusted=False,
        error=error,
        message=_("La firma non è leggibile: il file è danneggiato o in un formato non previsto."),
    )


def _result(fmt: str, signers: list[SignerResult], *, content=None, error="", message=""):
    if not signers:
        return _unreadable(fmt, error or "no signer")
    return SignatureResult(
        format=fmt,
        intact=all(s.intact for s in signers),
        valid=all(s.valid for s in signers),
        trusted=all(s.trusted for s in signers),
        signers=tuple(signers),
        content=content,
        error=error,
        message=message or describe(signers),
    )


# --- messages --------------------------------------------------------------------------------


def _who(signer: SignerResult) -> str:
    if signer.tax_code:
        return _("%(name)s (codice fiscale %(tax_code)s)") % {
            "name": signer.name,
            "tax_code": signer.tax_code,
        }
    return signer.name or _("firmatario sconosciuto")


def _when(signer: SignerResult) -> str:
    if signer.signing_time is None:
        return ""
    local = timezone.localtime(signer.signing_time)
    return _(", apposta il %(date)s") % {"date": formats.date_format(local, "d/m/Y H:i")}


def _problem_text(signer: SignerResult) -> str:
    texts = {
        "altered": _("il documento è stato modificato dopo la firma"),
        "bad_signature": _("il valore della firma non corrisponde al certificato"),
        "untrusted_issuer": _("il certificato non è emesso da un certificatore attendibile"),
        "self_signed": _("il certificato è autofirmato e non è tra quelli attendibili"),
        "expired": _("il certificato è scaduto"),
        "not_yet_valid": _("il certificato non è ancora valido"),
        "revoked": _("il certificato è stato revocato"),
        "key_usage": _("il certificato non è abilitato alla firma"),
    }
    if signer.problem.startswith("unreadable"):
        return _("la firma non è leggibile")
    return texts.get(signer.problem, _("il certificato non è attendibile"))


def describe(signers: Iterable[SignerResult]) -> str:
    """An Italian sentence per signature, for the page and the audit trail."""
    parts = []
    for signer in list(signers):
        if signer.ok:
            parts.append(
                _("Firma valida di %(who)s%(when)s.") % {"who": _who(signer), "when": _when(signer)}
            )
        elif not signer.intact and not signer.problem.startswith("unreadable"):
            parts.append(
                _("Firma di %(who)s non integra: %(problem)s.")
                % {"who": _who(signer), "problem": _problem_text(signer)}
            )
        elif signer.intact and signer.valid:
            parts.append(
                _("Firma integra di %(who)s%(when)s, ma non attendibile: %(problem)s.")
                % {"who": _who(signer), "when": _when(signer), "problem": _problem_text(signer)}
            )
        else:
            parts.append(
                _("Firma non valida di %(who)s: %(problem)s.")
                % {"who": _who(signer), "problem": _problem_text(signer)}
            )
    if len(parts) > 1:
        intro = ngettext("%(count)d firma: ", "%(count)d firme: ", len(parts)) % {
            "count": len(parts)
        }
        return intro + " ".join(parts)
    return " ".join(parts)
