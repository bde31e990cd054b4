"""Strong authentication (SPID/CIE) behind one interface, and the session's level of assurance.

Permission checks look at the level of assurance (LoA >= 2 = SPID L2 or CIE), never at the
provider. `dev` lets a developer pick a seeded test identity and is refused by a system check
when DEBUG=False; production uses a SAML provider behind a SPID/CIE proxy.
"""

from __future__ import annotations

import abc
import functools
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import IdpType, StrongAuthSession

SESSION_KEY = "strong_auth_session_id"
STRONG_LOA = 2


@dataclass(frozen=True)
class AssertedIdentity:
    """What an identity provider asserts about the person who logged in."""

    tax_code: str
    idp_type: str  # IdpType
    loa: int  # 1 password, 2 SPID L2 / CIE L2, 3 SPID L3 / CIE L3
    spid_level: int | None = None


def anac_loa_for(identity: AssertedIdentity) -> str:
    """ANAC's tracking JWS wants userLoa "3" or "4": SPID L2/CIE -> "3", SPID L3/CIE L3 -> "4"."""
    if identity.loa >= 3:
        return "4"
    if identity.loa == 2:
        return "3"
    return ""


class StrongAuthProvider(abc.ABC):
    """The interface every provider implements."""

    name: str = ""

    @abc.abstractmethod
    def start_url(self, *, next_url: str) -> str:
        """Where the browser goes to start a strong login."""


class DevProvider(StrongAuthProvider):
    name = "dev"

    def start_url(self, *, next_url: str) -> str:
        return reverse("accounts:dev_strong_login") + "?" + urlencode({"next": next_url})


class SamlProvider(StrongAuthProvider):
    """SAML through djangosaml2 behind a SPID/CIE proxy (configured per deployment)."""

    name = "saml"

    def start_url(self, *, next_url: str) -> str:
        return "/saml2/login/?" + urlencode({"next": next_url})


PROVIDERS = {p.name: p for p in (DevProvider(), SamlProvider())}


def get_provider() -> StrongAuthProvider:
    return PROVIDERS[settings.STRONG_AUTH_PROVIDER]


def strong_login_url(next_url: str) -> str:
    return reverse("accounts:strong_login") + "?" + urlencode({"next": next_url})


def record_login(
    request, *, user, provider: str, identity: AssertedIdentity, now=None
) -> StrongAuthSession:
    """Log `user` in and record the login with its provider and level of assurance."""
    now = now or timezone.now()
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    auth_session = StrongAuthSession.objects.create(
        user=user,
        provider=provider,
        idp_type=identity.idp_type,
        loa=identity.loa,
        spid_level=identity.spid_level,
        anac_loa=anac_loa_for(identity),
        session_key=(request.session.session_key or "")[:64],
        ip_address=request.META.get("REMOTE_ADDR") or None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:255],
        authenticated_at=now,
        expires_at=now + timedelta(seconds=settings.STRONG_AUTH_MAX_AGE_SECONDS),
    )
    request.session[SESSION_KEY] = auth_session.pk
    return auth_session


def record_password_login(request, *, user, now=None) -> StrongAuthSession:
    return record_login(
        request,
        user=user,
        provider="password",
        identity=AssertedIdentity(tax_code=user.tax_code or "", idp_type=IdpType.PASSWORD, loa=1),
        now=now,
    )


def current_auth_session(request, now=None) -> StrongAuthSession | None:
    pk = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    if not pk or not request.user.is_authenticated:
        return None
    auth_session = StrongAuthSession.objects.filter(pk=pk, user=request.user).first()
    if auth_session is None or not auth_session.is_active_at(now or timezone.now()):
        return None
    return auth_session


def current_loa(request, now=None) -> int | None:
    auth_session = current_auth_session(request, now)
    return auth_session.loa if auth_session else None


def has_strong_auth(request, now=None) -> bool:
    return (current_loa(request, now) or 0) >= STRONG_LOA


def strong_auth_required(view):
    """Send a user without LoA >= 2 to the strong login before the view runs (e.g. ANAC calls)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated or not has_strong_auth(request):
            messages.info(
                request,
                _("Per questa operazione è necessario l'accesso con SPID o CIE."),
            )
            return redirect(strong_login_url(request.get_full_path()))
        return view(request, *args, **kwargs)

    return wrapper


class StrongAuthRequiredMixin:
    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated or not has_strong_auth(request):
            messages.info(
                request,
                _("Per questa operazione è necessario l'accesso con SPID o CIE."),
            )
            return redirect(strong_login_url(request.get_full_path()))
        return super().dispatch(request, *args, **kwargs)
