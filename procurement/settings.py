"""Settings, all read from the environment (django-environ), typed and loud.

Without any variable the project runs on the embedded defaults of `make run`: SQLite and
kombu's filesystem transport. Production sets DEBUG=False, SECRET_KEY, ALLOWED_HOSTS,
DATABASE_URL and REDIS_URL; secrets can also come from files (`SECRET_KEY_FILE`, ...).
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

VAR_DIR.mkdir(parents=True, exist_ok=True)  # runtime data of the embedded default (git-ignored)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def secret(name: str, default: str | None = None) -> str:
    """Read NAME, or the content of the file named by NAME_FILE (Docker/K8s secrets)."""
    path = env.str(f"{name}_FILE", default="")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path} cannot be read: {exc}") from exc
    if default is None:
        return env.str(name)
    return env.str(name, default=default)


DEBUG = env.bool("DEBUG", default=True)
TESTING = env.bool("TESTING", default=False)
# Mounts the benchmark floor views under /bench/ (scripts/bench.sh); never set in production.
BENCH_ENABLED = env.bool("BENCH_ENABLED", default=False)

_DEV_SECRET = "dev-only-insecure-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"
SECRET_KEY = secret("SECRET_KEY", default=_DEV_SECRET if DEBUG else None)
if not DEBUG and (SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("SECRET_KEY must be set to a random string of 50+ chars")

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
)
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG=False")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://localhost:8000")

# PTIM (Agenzia del Demanio): the maintenance unit (UO) mailbox copied on booking e-mails.
PTIM_UO_EMAIL = env.str("PTIM_UO_EMAIL", default="uo.manutenzioni@agenziademanio.example.it")
# FVOE (R-FVOE-002/003): the organisation's profile and the procedure roles that open the area.
FVOE_ALLOWED_ROLES = env.list("FVOE_ALLOWED_ROLES", default=["fvoe"])
FVOE_ALLOWED_PROCEDURE_ROLES = env.list(
    "FVOE_ALLOWED_PROCEDURE_ROLES", default=["RUP_RDO", "RUP_PDG"]
)

# Open data (procurement/opendata): OCDS 1.1.5. The ocid prefix must be registered with the Open
# Contracting Partnership before publishing for real; the default is a placeholder.
OCDS_OCID_PREFIX = env.str("OCDS_OCID_PREFIX", default="ocds-xxxxxx")
OCDS_PUBLISHER_NAME = env.str("OCDS_PUBLISHER_NAME", default="Piattaforma e-procurement")
OPENDATA_LICENSE = env.str(
    "OPENDATA_LICENSE", default="https://creativecommons.org/licenses/by/4.0/"
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "csp",
    "bootstrap_italia_template",
    # shared kernel
    "procurement.core",
    "procurement.accounts",
    "procurement.audit",
    "procurement.documents",
    "procurement.notifications",
    "procurement.pcp",
    "procurement.anac",
    "procurement.anac.simulator",
    "procurement.opendata",
    # workflows
    "adesioni",
    "fvoe",
    "ptim",
    "gare",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "procurement.accounts.middleware.CurrentMembershipMiddleware",
]

ROOT_URLCONF = "procurement.urls"
WSGI_APPLICATION = "procurement.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "procurement.core.context_processors.platform",
            ],
        },
    },
]

# --- database --------------------------------------------------------------------------------
# PostgreSQL in production and tests; SQLite only as the embedded default of `make run`.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- strong authentication -------------------------------------------------------------------
# "dev" shows a page to pick a seeded test identity (refused by a system check when DEBUG=False);
# "saml" goes through djangosaml2 behind a SPID/CIE proxy.
STRONG_AUTH_PROVIDER = env.str("STRONG_AUTH_PROVIDER", default="dev" if DEBUG else "saml")
if STRONG_AUTH_PROVIDER not in {"dev", "saml"}:
    raise ImproperlyConfigured("STRONG_AUTH_PROVIDER must be 'dev' or 'saml'")
# How long a strong-authentication session (LoA >= 2) lasts before the user must repeat it.
STRONG_AUTH_MAX_AGE_SECONDS = env.int("STRONG_AUTH_MAX_AGE_SECONDS", default=8 * 3600)

# --- i18n ------------------------------------------------------------------------------------
LANGUAGE_CODE = "it"
LANGUAGES = [("it", _("Italiano"))]
TIME_ZONE = "Europe/Rome"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

# --- static and media ------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
DJANGO_BOOTSTRAP_ITALIA_USE_CDN = False
# Upload limits in bytes per use of a document (procurement.documents.uses).
DOCUMENT_MAX_SIZE_DEFAULT = env.int("DOCUMENT_MAX_SIZE_DEFAULT", default=20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# PEM files (certificates) trusted when verifying signatures; a folder or a list of files.
SIGNATURE_TRUST_ROOTS = env.list(
    "SIGNATURE_TRUST_ROOTS", default=[str(VAR_DIR / "test-ca" / "ca.pem")]
)

# --- e-mail ----------------------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
# With the file backend (django.core.mail.backends.filebased.EmailBackend) mail lands here.
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = secret("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Piattaforma e-procurement <noreply@localhost>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery ----------------------------------------------------------------------------------
# Without REDIS_URL, an embedded broker on the filesystem (kombu) so `make run` needs no service.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Short socket timeouts and a single connection attempt: when Redis is down, publishing
    # fails within seconds (the outbox sweeper sends later) instead of hanging a request.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        "max_retries": 1,
    }
    CELERY_BROKER_CONNECTION_TIMEOUT = 2
else:
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- ANAC services (PCP, FVOE) through PDND -------------------------------------------------
# Development, demo and tests talk to the project's simulator (procurement/anac/simulator/),
# mounted under /anac-sim/ only when ANAC_SIMULATOR is true, through the same client code.
ANAC_SIMULATOR = env.bool("ANAC_SIMULATOR", default=DEBUG)
# Tenders (gare): the CIG of each lot comes from PCP at publication (R-GARE-145); typing it by
# hand is allowed only in the simulator environment (D-57).
GARE_MANUAL_CIG = env.bool("GARE_MANUAL_CIG", default=ANAC_SIMULATOR)
ANAC_BASE_URL = env.str("ANAC_BASE_URL", default=SITE_URL.rstrip("/") + "/anac-sim")
# Path of each e-service under ANAC_BASE_URL; ANAC_ESERVICE_URLS=Name=https://...,... overrides.
ANAC_ESERVICE_PATHS = {
    "ComunicaAppalto": "ComunicaAppalto/v1",
    "ServiziComuni": "ServiziComuni/v1",
    "ComunicaPostPubblicazione": "ComunicaPostPubblicazione/v1",
    "PubblicaAvviso": "PubblicaAvviso/v1",
    "FVOE": "FascicoloVirtualeOE/v1",
}
ANAC_ESERVICE_URLS = env.dict("ANAC_ESERVICE_URLS", default={})
ANAC_REG_CODICE_PIATTAFORMA = env.str("ANAC_REG_CODICE_PIATTAFORMA", default="0000001")
ANAC_REG_CODICE_COMPONENTE = env.str("ANAC_REG_CODICE_COMPONENTE", default="0000001")
ANAC_TIMEOUT_CONNECT = env.float("ANAC_TIMEOUT_CONNECT", default=5.0)
ANAC_TIMEOUT_READ = env.float("ANAC_TIMEOUT_READ", default=30.0)
# Asynchronous operations (spec adesioni §6.6, D-ADE-18): polls at +5 s, +15 s, +30 s, +60 s,
# +2 min, +5 min, every 5 min to 2 h, hourly to PCP_STALLED_AFTER_HOURS, then every 6 h for
# 30 days. PCP_POLL_SCHEDULE (seconds after the ack, comma-separated) replaces the computed list.
PCP_STALLED_AFTER_HOURS = env.int("PCP_STALLED_AFTER_HOURS", default=72)
PCP_POLL_SCHEDULE = env.list("PCP_POLL_SCHEDULE", cast=int, default=[])
# Send ANAC operations in the committing thread instead of through Celery (tests, demos).
ANAC_DISPATCH_INLINE = env.bool("ANAC_DISPATCH_INLINE", default=False)
# PDND voucher: client id, key id and private key registered on PDND; a purpose per e-service.
PDND_TOKEN_URL = env.str("PDND_TOKEN_URL", default=ANAC_BASE_URL + "/pdnd/token.oauth2")
PDND_CLIENT_ASSERTION_AUD = env.str(
    "PDND_CLIENT_ASSERTION_AUD", default="auth.interop.pagopa.it/client-assertion"
)
PDND_CLIENT_ID = env.str("PDND_CLIENT_ID", default="platform-dev-client" if DEBUG else "")
PDND_KID = env.str("PDND_KID", default="platform-dev-key" if DEBUG else "")
# PEM of the private key; in development a key is generated in VAR_DIR/anac/ when missing.
PDND_PRIVATE_KEY = secret("PDND_PRIVATE_KEY", default="")
# Key that wraps the data keys of the tenders' sealed envelopes (base64 of 32 random bytes);
# never in the database. In development gare/sealing.py generates one in VAR_DIR.
GARE_SEALING_KEY = secret("GARE_SEALING_KEY", default="")
PDND_PURPOSE_IDS = env.dict("PDND_PURPOSE_IDS", default={})
ANAC_DEV_KEY_DIR = VAR_DIR / "anac"
# Validate every request the client sends, and every answer of the simulator, against ANAC's
# OpenAPI documents (procurement/anac/conformance.py). On in tests; a drift fails the build.
ANAC_VALIDATE_REQUESTS = env.bool("ANAC_VALIDATE_REQUESTS", default=TESTING)
ANAC_SIMULATOR_VALIDATE_RESPONSES = env.bool("ANAC_SIMULATOR_VALIDATE_RESPONSES", default=TESTING)

# --- security --------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"


# Bootstrap Italia's base template has two fixed inline scripts: they are allowed by their
# SHA-256 hash, computed from the installed template, so the policy needs no 'unsafe-inline'.
def _bootstrap_italia_inline_script_hashes() -> list[str]:
    import base64
    import hashlib
    import importlib.util
    import re

    spec = importlib.util.find_spec("bootstrap_italia_template")
    origin = Path(spec.origin).parent / "templates" / "bootstrap-italia-base.html"
    source = origin.read_text(encoding="utf-8")
    hashes = []
    for body in re.findall(r"<script>(.*?)</script>", source, flags=re.DOTALL):
        body = re.sub(
            r"\{% django_bootstrap_italia_static_path '([^']+)' %\}",
            lambda m: STATIC_URL + m.group(1),
            body,
        )
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        hashes.append(f"'sha256-{digest}'")
    return hashes


BOOTSTRAP_ITALIA_INLINE_SCRIPT_HASHES = _bootstrap_italia_inline_script_hashes()
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", *BOOTSTRAP_ITALIA_INLINE_SCRIPT_HASHES],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: DRF answers 401 (not 403) without credentials only when the first class
    # names a WWW-Authenticate scheme; a request without the header falls through to the session.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "procurement.core.api.problem_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "API Piattaforma e-procurement",
    "DESCRIPTION": "API della piattaforma di e-procurement per le pubbliche amministrazioni.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from the drf-spectacular-sidecar package, not a CDN (CSP 'self').
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No badge from the public online validator (an image from another origin).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Several apps have a field named "kind": one enum name each, so the schema stays stable.
    "ENUM_NAME_OVERRIDES": {
        "ContractKindEnum": "adesioni.models.ContractKind",
        "VariationKindEnum": "ptim.models.VariationKind",
        "TenderDocumentKindEnum": "gare.models.DocumentKind",
    },
}

# --- logging ---------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # pyHanko logs every failed validation of a bad signature at WARNING; the platform
        # reports them to the user and in the document's signature record instead.
        "pyhanko": {"level": "ERROR"},
        "pyhanko_certvalidator": {"level": "ERROR"},
    },
}
