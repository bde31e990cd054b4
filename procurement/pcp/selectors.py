"""Read-only queries on the PCP appalti: procedure roles.

A user's roles on an appalto are the explicit grants (``ProcedureRole`` rows, written only by
``procedure_role_grant`` / ``procedure_role_revoke``) plus ``RUP_RDO`` held implicitly by the RUP
in charge: the appalto's ``rup`` and the active user whose tax code is the appalto's RP at ANAC
(``rp_tax_code``, fvoe D-FVOE-02). The RUP of the procedure is the "RUP RdO" of the manual (the
RUP of the authority that runs the procedure), so no grant is needed for him.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Exists, OuterRef, Q, QuerySet

from .models import PcpAppalto, ProcedureRole, ProcedureRoleKind


def implicit_roles_of(user, appalto: PcpAppalto) -> set[str]:
    """RUP_RDO for the RUP in charge of the appalto, nothing for anybody else."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    if appalto.rup_id == user.pk:
        return {ProcedureRoleKind.RUP_RDO.value}
    if user.tax_code and appalto.rp_tax_code and user.tax_code == appalto.rp_tax_code:
        return {ProcedureRoleKind.RUP_RDO.value}
    return set()


def procedure_roles_of(user, appalto: PcpAppalto) -> set[str]:
    """The codes of the roles `user` holds on `appalto` (explicit grants and implicit RUP_RDO)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    explicit = ProcedureRole.objects.filter(appalto=appalto, user=user).values_list(
        "role", flat=True
    )
    return {str(role) for role in explicit} | implicit_roles_of(user, appalto)


def procedure_roles_q(user, roles: Iterable[str]) -> Q:
    """A filter on PcpAppalto: the appalti where `user` holds one of `roles`."""
    roles = {str(role) for role in roles}
    if not getattr(user, "is_authenticated", False) or not user.is_active or not roles:
        return Q(pk__in=[])
    granted = ProcedureRole.objects.filter(appalto=OuterRef("pk"), user=user, role__in=roles)
    condition = Q(Exists(granted))
    if ProcedureRoleKind.RUP_RDO in roles:
        condition |= Q(rup=user)
        if user.tax_code:
            condition |= Q(rp_tax_code=user.tax_code)
    return condition


def appalti_with_procedure_roles(user, roles: Iterable[str], queryset: QuerySet | None = None):
    """The appalti (of `queryset`, default all) where `user` holds one of `roles`."""
    queryset = PcpAppalto.objects.all() if queryset is None else queryset
    return queryset.filter(procedure_roles_q(user, roles))


def procedure_roles_for_appalto(appalto: PcpAppalto):
    """The explicit grants of an appalto, for its pages."""
    return (
        ProcedureRole.objects.filter(appalto=appalto)
        .select_related("user", "granted_by")
        .order_by("user__last_name", "user__first_name", "role")
    )
