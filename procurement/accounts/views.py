from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .access import active_memberships
from .forms import DevIdentityForm, LoginForm
from .middleware import SESSION_KEY as MEMBERSHIP_SESSION_KEY
from .models import IdpType, Membership, StrongAuthSession, User
from .strongauth import (
    AssertedIdentity,
    current_auth_session,
    get_provider,
    record_login,
    record_password_login,
)


def _safe_next(request, default="core:home"):
    candidate = request.POST.get("next") or request.GET.get("next")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(default)


def login_view(request):
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        record_password_login(request, user=form.get_user())
        return redirect(_safe_next(request))
    return render(
        request, "accounts/login.html", {"form": form, "next": request.GET.get("next", "")}
    )


@require_POST
def logout_view(request):
    # The strong-auth session ends with the login session: jobs that act with the RUP's
    # identity (ANAC calls) must see that the RUP logged out.
    auth_session = current_auth_session(request)
    if auth_session is not None:
        StrongAuthSession.objects.filter(pk=auth_session.pk, ended_at__isnull=True).update(
            ended_at=timezone.now()
        )
    logout(request)
    messages.success(request, _("Sei uscito dalla piattaforma."))
    return redirect("accounts:login")


def strong_login(request):
    """Starts a SPID/CIE login with the configured provider."""
    return redirect(get_provider().start_url(next_url=_safe_next(request)))


def dev_strong_login(request):
    """Development stand-in for SPID/CIE: pick a seeded identity (refused unless DEBUG)."""
    if not settings.DEBUG or settings.STRONG_AUTH_PROVIDER != "dev":
        raise Http404
    identities = (
        User.objects.filter(is_active=True, tax_code__isnull=False)
        .order_by("last_name", "first_name")
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.active().select_related("organisation"),
                to_attr="active_memberships",
            )
        )
    )
    form = DevIdentityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = identities.filter(tax_code=form.cleaned_data["tax_code"].upper()).first()
        if user is None:
            form.add_error("tax_code", _("Nessuna identità di prova con questo codice fiscale."))
        else:
            if request.user.is_authenticated and request.user != user:
                logout(request)
            level = form.cleaned_data["level"]
            record_login(
                request,
                user=user,
                provider="dev",
                identity=AssertedIdentity(
                    tax_code=user.tax_code,
                    idp_type=IdpType.SPID if level == 2 else IdpType.CIE,
                    loa=level,
                    spid_level=level if level == 2 else None,
                ),
            )
            messages.success(
                request,
                _("Accesso con identità digitale effettuato (livello %(l)s).") % {"l": level},
            )
            return redirect(_safe_next(request))
    return render(
        request,
        "accounts/dev_strong_login.html",
        {"form": form, "identities": identities, "next": _safe_next(request)},
    )


@login_required
@require_POST
def switch_membership(request):
    # Only the user's own active memberships can be chosen: anything else is refused.
    try:
        membership = active_memberships(request.user).get(pk=request.POST.get("membership"))
    except (Membership.DoesNotExist, ValueError, TypeError) as exc:
        raise PermissionDenied(_("Profilo non disponibile.")) from exc
    request.session[MEMBERSHIP_SESSION_KEY] = membership.pk
    messages.success(
        request,
        _("Ora operi come %(role)s per %(org)s.")
        % {"role": membership.get_role_display(), "org": membership.organisation},
    )
    return redirect(_safe_next(request))
