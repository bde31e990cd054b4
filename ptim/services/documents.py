"""PTIM services: documents (split of the former ptim/services.py)."""

from __future__ import annotations

from procurement.documents.services import DocumentError, document_upload

from .. import messages as M
from ..access import (
    owns,
)
from .base import (
    PtimError,
)

# --- documents ------------------------------------------------------------------------------------


def _read(uploaded) -> bytes:
    uploaded.seek(0)
    data = uploaded.read()
    uploaded.seek(0)
    return data


def _upload(*, user, organisation, use, title, uploaded, now):
    try:
        return document_upload(
            user=user,
            organisation=organisation,
            use=use,
            title=title,
            uploaded_file=uploaded,
            now=now,
        ).document
    except DocumentError as exc:
        raise PtimError(str(exc)) from exc


def _user_org(user, contract):
    if owns(user, contract):
        return contract.contracting_authority
    from procurement.accounts.access import organisations_of

    return organisations_of(user).order_by("pk").first()


def _pdf_only(uploaded, *, max_size=None):
    if uploaded is None:
        raise PtimError(M.A15, code="a15")
    data = _read(uploaded)
    if not data.startswith(b"%PDF-"):
        raise PtimError(M.A19, code="a19")
    if max_size and len(data) > max_size:
        raise PtimError(M.A20, code="a20")
