"""Creating the shared PCP appalto record; the ANAC client moves it through its states."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from procurement.accounts.access import has_role
from procurement.accounts.models import Organisation, Role, User
from procurement.audit.services import audit_record

from .models import PcpAppalto


class PcpError(Exception):
    """An error the user can fix; the message is Italian."""


def appalto_create(
    *,
    user: User,
    organisation: Organisation,
    rup: User,
    subject: str,
    amount: Decimal | None = None,
    scheda_code: str = "",
    owner=None,
) -> PcpAppalto:
    """Create the local appalto record of a procedure, before anything is sent to ANAC."""
    if not (
        user.is_superuser
        or has_role(user, Role.BUYER, organisation)
        or has_role(user, Role.RUP, organisation)
    ):
        raise PermissionDenied(_("Non puoi creare appalti per questa organizzazione."))
    if not has_role(rup, Role.RUP, organisation):
        raise PcpError(_("Il RUP indicato non è abilitato come RUP per l'organizzazione."))
    if not rup.tax_code:
        raise PcpError(_("Il RUP indicato non ha un codice fiscale: ANAC lo richiede."))
    if not organisation.tax_code:
        raise PcpError(_("L'organizzazione non ha un codice fiscale: ANAC lo richiede."))
    if amount is not None and amount < 0:
        raise PcpError(_("L'importo non può essere negativo."))
    with transaction.atomic():
        appalto = PcpAppalto.objects.create(
            organisation=organisation,
            rup=rup,
            subject=subject,
            amount=amount,
            scheda_code=scheda_code,
            sa_tax_code=organisation.tax_code,
            sa_ausa_code=organisation.ausa_code,
            rp_tax_code=rup.tax_code,
            owner_type=ContentType.objects.get_for_model(owner) if owner is not None else None,
            owner_id=str(owner.pk) if owner is not None else "",
        )
        audit_record(
            action=_("appalto creato"),
            actor=user,
            obj=appalto,
            to_state=appalto.local_state,
            payload={"rup": rup.tax_code, "amount": amount},
        )
    return appalto
