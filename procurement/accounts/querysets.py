"""Querysets of objects that belong to an organisation."""

from __future__ import annotations

from django.db import models


class OrganisationScopedQuerySet(models.QuerySet):
    """Objects with an `organisation` field: what a user may see through his memberships."""

    def visible_to(self, user):
        from procurement.accounts.access import organisations_of

        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(organisation__in=organisations_of(user))
