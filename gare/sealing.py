"""Sealed envelopes: files and data of an offer are encrypted at rest until their opening.

Envelope encryption: each tender has a random 256-bit data key, stored in the database only
wrapped (AES-GCM) by the *sealing key*. The sealing key never enters the database: it comes from
`settings.GARE_SEALING_KEY` (base64, 32 bytes; `GARE_SEALING_KEY_FILE` in production), and in
development from a file generated once under VAR_DIR. A copy of the database alone therefore
decrypts nothing. On top of the cryptography, `open_bytes` refuses to decrypt any envelope that
has not been opened in its session (the procedure's own rule, S-31).
"""

from __future__ import annotations

import base64
import functools
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

NONCE_BYTES = 12


class SealedError(Exception):
    """An attempt to read a sealed envelope before its opening."""


def _key_from_text(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except ValueError as exc:
        raise ImproperlyConfigured("GARE_SEALING_KEY is not valid base64") from exc
    if len(key) != 32:
        raise ImproperlyConfigured("GARE_SEALING_KEY must be 32 bytes (base64)")
    return key


def sealing_key() -> bytes:
    configured = getattr(settings, "GARE_SEALING_KEY", "")
    if configured:
        return _key_from_text(configured)
    path = os.environ.get("GARE_SEALING_KEY_FILE", "")
    if path:
        return _key_from_text(Path(path).read_text())
    if not settings.DEBUG and not getattr(settings, "TESTING", False):
        raise ImproperlyConfigured("GARE_SEALING_KEY (or GARE_SEALING_KEY_FILE) is required")
    dev = Path(settings.VAR_DIR) / "gare" / "sealing.key"
    if not dev.exists():
        dev.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(dev, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(base64.b64encode(AESGCM.generate_key(bit_length=256)).decode())
    return _key_from_text(dev.read_text())


def _encrypt(key: bytes, data: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, data, aad)


def _decrypt(key: bytes, blob: bytes, aad: bytes) -> bytes:
    blob = bytes(blob)
    return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)


def new_wrapped_key(tender_id) -> bytes:
    return _encrypt(
        sealing_key(), AESGCM.generate_key(bit_length=256), f"tender:{tender_id}".encode()
    )


def data_key(tender) -> bytes:
    if not tender.wrapped_key:
        raise ImproperlyConfigured("tender without a data key")
    return _unwrap(sealing_key(), bytes(tender.wrapped_key), str(tender.pk))


@functools.lru_cache(maxsize=64)
def _unwrap(key: bytes, wrapped: bytes, tender_id: str) -> bytes:
    # Keyed by the sealing key too: a different (or rotated) sealing key never hits the cache.
    return _decrypt(key, wrapped, f"tender:{tender_id}".encode())


def seal(tender, data: bytes, *, context: str) -> bytes:
    """Encrypt `data` with the tender's data key; `context` binds the blob to its place."""
    return _encrypt(data_key(tender), data, context.encode())


def unseal(tender, blob: bytes, *, context: str) -> bytes:
    return _decrypt(data_key(tender), blob, context.encode())
