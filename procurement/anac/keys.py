"""RSA keys of the PDND integration: the platform's key and, in development, the simulator's.

    platform_private_key()   signs the client assertion and the tracking JWS (kid=PDND_KID)
    platform_public_key()    what PDND and ANAC know of it (the simulator verifies with it)
    simulator_private_key()  signs the vouchers issued by the simulated PDND
    simulator_public_key()   verifies them on the simulated ANAC gateway

The platform key comes from settings.PDND_PRIVATE_KEY (PEM, or PDND_PRIVATE_KEY_FILE). When it is
empty, development and the simulator use a key pair generated once in settings.ANAC_DEV_KEY_DIR;
anywhere else the missing key is a configuration error. Keys are loaded once per process.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PLATFORM_KEY_FILE = "platform-key.pem"
PLATFORM_PUBLIC_KEY_FILE = "platform-key.pub.pem"
SIMULATOR_KEY_FILE = "simulator-key.pem"
SIMULATOR_PUBLIC_KEY_FILE = "simulator-key.pub.pem"


def platform_private_key() -> rsa.RSAPrivateKey:
    pem = (settings.PDND_PRIVATE_KEY or "").strip()
    if pem:
        return _load_pem(pem)
    if not (settings.DEBUG or settings.ANAC_SIMULATOR):
        raise ImproperlyConfigured(
            "PDND_PRIVATE_KEY (or PDND_PRIVATE_KEY_FILE) must hold the PEM of the platform's "
            "private key registered on PDND"
        )
    return _dev_key(str(settings.ANAC_DEV_KEY_DIR), PLATFORM_KEY_FILE, PLATFORM_PUBLIC_KEY_FILE)


def platform_public_key() -> rsa.RSAPublicKey:
    return platform_private_key().public_key()


def simulator_private_key() -> rsa.RSAPrivateKey:
    return _dev_key(str(settings.ANAC_DEV_KEY_DIR), SIMULATOR_KEY_FILE, SIMULATOR_PUBLIC_KEY_FILE)


def simulator_public_key() -> rsa.RSAPublicKey:
    return simulator_private_key().public_key()


def public_pem(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


@cache
def _load_pem(pem: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise ImproperlyConfigured(
            f"PDND_PRIVATE_KEY is not a usable PEM private key: {exc}"
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
        raise ImproperlyConfigured("PDND_PRIVATE_KEY must be an RSA key of at least 2048 bits")
    return key


@cache
def _dev_key(directory: str, name: str, public_name: str) -> rsa.RSAPrivateKey:
    """Read DIRECTORY/NAME, generating it first if missing.

    Several processes (runserver's reloader, Celery workers, test workers) may start together:
    each writes its candidate to a temporary file and hard-links it into place, which fails if
    the file already exists, so exactly one key wins and every process reads that one.
    """
    folder = Path(directory)
    path = folder / name
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        candidate = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = candidate.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:  # mkstemp creates the file with mode 0600
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another process was faster: its key wins
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ImproperlyConfigured(f"{path} does not hold an RSA private key")
    _write_public(folder / public_name, key)
    return key


def _write_public(path: Path, key: rsa.RSAPrivateKey) -> None:
    """The public half next to the private one, to register the dev key on a PDND test client.
    Derived from the private key, so a concurrent writer writes the same bytes."""
    data = public_pem(key.public_key()).encode("ascii")
    if path.exists() and path.read_bytes() == data:
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
