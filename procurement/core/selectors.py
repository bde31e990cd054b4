"""What waits for the user on the home page, per role of the membership they act with.

Each panel is built from data the kernel owns (notifications, PCP records, jobs, outbox); the
workflow apps add their own counts here when they exist, through their selectors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.apps import apps
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from procurement.accounts.models import Role


@dataclass(frozen=True)
class PanelItem:
    label: str
    url: str = ""
    detail: str = ""


@dataclass
class Panel:
    key: str
    title: str
    text: str
    url: str = ""
    link_label: str = ""
    items: list[PanelItem] = field(default_factory=list)
    count: int | None = None
    empty_text: str = ""


# The area of the platform where each role does most of its work: the app label (asked whether
# the user may see its area, see `area_visible`) comes from the URL namespace, which is the label.
_AREA_BY_ROLE = {
    Role.BUYER: (
        "adesioni:landing",
        gettext_lazy("Negozio Elettronico"),
        gettext_lazy("Adesioni e ordinativi di fornitura."),
    ),
    Role.RUP: (
        "adesioni:landing",
        gettext_lazy("Negozio Elettronico"),
        gettext_lazy("Ordinativi da confermare su PCP."),
    ),
    Role.AQ_RUP: (
        "adesioni:landing",
        gettext_lazy("Negozio Elettronico"),
        gettext_lazy("Adesioni e ordinativi da valutare."),
    ),
    Role.FVOE: (
        "fvoe:landing",
        gettext_lazy("Fascicolo Virtuale"),
        gettext_lazy("Richieste di accesso e documenti degli operatori economici."),
    ),
    Role.OPERATOR: (
        "gare:landing",
        gettext_lazy("Gare"),
        gettext_lazy("Procedure a cui partecipare."),
    ),
    Role.DT: (
        "ptim:landing",
        gettext_lazy("Gestione Contratti"),
        gettext_lazy("Prenotazioni e rifiuti da gestire."),
    ),
    Role.DG: (
        "ptim:landing",
        gettext_lazy("Gestione Contratti"),
        gettext_lazy("Accordi quadro e soglie residue."),
    ),
    Role.COMMISSIONER: (
        "gare:landing",
        gettext_lazy("Gare"),
        gettext_lazy("Offerte da valutare."),
    ),
    Role.BOARD: (
        "gare:landing",
        gettext_lazy("Gare"),
        gettext_lazy("Buste amministrative da esaminare."),
    ),
}

# Roles that follow the PCP records (appalti) of their organisation.
_PCP_ROLES = {Role.BUYER, Role.RUP, Role.AQ_RUP}

_LATEST = 5


def _notifications_panel(*, user) -> Panel:
    from procurement.notifications.selectors import notifications_for

    unread = notifications_for(user=user).filter(read_at__isnull=True)
    latest = list(unread.order_by("-created_at", "-id")[:_LATEST])
    return Panel(
        key="notifications",
        title=_("Notifiche"),
        text=_("Comunicazioni che non hai ancora letto."),
        url=reverse("notifications:list"),
        link_label=_("Tutte le notifiche"),
        count=unread.count(),
        items=[
            PanelItem(
                label=n.subject,
                url=reverse("notifications:list"),
                detail=date_format(timezone.localtime(n.created_at), "SHORT_DATETIME_FORMAT"),
            )
            for n in latest
        ],
        empty_text=_("Nessuna notifica da leggere."),
    )


def area_visible(*, user, app_label: str) -> bool:
    """Whether `user` sees the area of the workflow app `app_label`, asked of its AppConfig
    without importing the app: ``menu_visible(user)`` where the app defines it (fvoe does,
    R-FVOE-002); an app without it is shown to every signed-in user."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    check = getattr(apps.get_app_config(app_label), "menu_visible", None)
    return bool(check(user)) if check is not None else True


def _area_panel(*, user, role: str) -> Panel | None:
    url_name, title, text = _AREA_BY_ROLE[role]
    # The menu and the home page agree: no panel leading to a page that would answer 403.
    if not area_visible(user=user, app_label=url_name.partition(":")[0]):
        return None
    return Panel(
        key="area",
        title=str(title),
        text=str(text),
        url=reverse(url_name),
        link_label=_("Vai all'area"),
    )


def _pcp_panel(*, user, membership) -> Panel:
    from procurement.pcp.models import AppaltoState, PcpAppalto

    open_states = [
        AppaltoState.NONE,
        AppaltoState.CREATED,
        AppaltoState.CONFIRMATION_PENDING,
        AppaltoState.CONFIRMED,
    ]
    waiting = (
        PcpAppalto.objects.visible_to(user)
        .filter(organisation=membership.organisation, local_state__in=open_states)
        .filter(archived_at__isnull=True)
    )
    if membership.role == Role.RUP:
        waiting = waiting.filter(rup=user)
    latest = list(waiting.order_by("-updated_at")[:_LATEST])
    return Panel(
        key="pcp",
        title=_("Appalti su PCP"),
        text=_("Appalti della tua organizzazione ancora senza CIG."),
        count=waiting.count(),
        items=[PanelItem(label=a.subject, detail=a.get_local_state_display()) for a in latest],
        empty_text=_("Nessun appalto in attesa."),
    )


def _system_panel(*, now) -> Panel:
    from procurement.core.models import JobRun, JobRunStatus
    from procurement.notifications.models import EmailOutbox, OutboxStatus

    last = JobRun.objects.filter(job="heartbeat").order_by("-started_at").first()
    failed_jobs = JobRun.objects.filter(
        status=JobRunStatus.FAILED, started_at__gte=now - timedelta(days=1)
    ).count()
    failed_emails = EmailOutbox.objects.filter(status=OutboxStatus.FAILED).count()
    heartbeat = (
        date_format(timezone.localtime(last.started_at), "SHORT_DATETIME_FORMAT")
        if last
        else _("mai")
    )
    return Panel(
        key="system",
        title=_("Stato del sistema"),
        text=_("Ultimo battito dello schedulatore: %(when)s") % {"when": heartbeat},
        url=reverse("admin:core_jobrun_changelist"),
        link_label=_("Esecuzioni dei job"),
        count=failed_jobs + failed_emails,
        items=[
            PanelItem(
                label=_("Job falliti nelle ultime 24 ore"),
                url=reverse("admin:core_jobrun_changelist") + "?status__exact=failed",
                detail=str(failed_jobs),
            ),
            PanelItem(
                label=_("E-mail non recapitate"),
                url=reverse("admin:notifications_emailoutbox_changelist") + "?status__exact=failed",
                detail=str(failed_emails),
            ),
        ],
    )


def home_panels(*, user, membership, now=None) -> list[Panel]:
    """The home page panels for `user` acting through `membership` (None without memberships)."""
    now = now or timezone.now()
    panels = [_notifications_panel(user=user)]
    role = getattr(membership, "role", None)
    if role in _AREA_BY_ROLE and (area := _area_panel(user=user, role=role)) is not None:
        panels.append(area)
    if role in _PCP_ROLES:
        panels.append(_pcp_panel(user=user, membership=membership))
    if role == Role.ADMIN or user.is_superuser:
        panels.append(_system_panel(now=now))
    return panels
