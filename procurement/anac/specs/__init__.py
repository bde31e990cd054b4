"""Loading the vendored official documents (OpenAPI, code lists)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

SPECS_DIR = Path(__file__).resolve().parent

# Which OpenAPI document describes each e-service (tags of the PCP document in brackets).
OPENAPI_OF_ESERVICE = {
    "ComunicaAppalto": "pcp-openapi.json",  # comunicaAppalto
    "ServiziComuni": "pcp-openapi.json",  # serviziComuni
    "ComunicaPostPubblicazione": "pcp-openapi.json",  # comunicaPostPubblicazione
    "PubblicaAvviso": "pcp-openapi.json",  # pubblicaAvviso
    "FVOE": "fvoe-openapi.json",
}


@cache
def openapi(name: str) -> dict:
    return json.loads((SPECS_DIR / name).read_text(encoding="utf-8"))


@cache
def tipologica(name: str) -> dict[str, dict]:
    """A code list by code: tipologica("errori")["ERR1"]["descrizione"]["it"]."""
    rows = json.loads((SPECS_DIR / "tipologiche" / f"{name}.json").read_text(encoding="utf-8"))
    return {str(row["codice"]): row for row in rows}


def description(name: str, code: str) -> str:
    row = tipologica(name).get(str(code))
    if row is None:
        return ""
    text = row.get("descrizione")
    if isinstance(text, dict):
        return text.get("it") or text.get("en") or ""
    return str(text or "")
