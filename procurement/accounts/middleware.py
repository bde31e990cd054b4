"""Sets `request.membership`: the organisation and role the user is acting with now.

A user can belong to several organisations or hold several roles; the choice is kept in the
session ("Cambia profilo") and defaults to the first active membership.
"""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from .access import active_memberships

SESSION_KEY = "current_membership_id"


def _current_membership(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    memberships = active_memberships(user).order_by("organisation__name", "role", "id")
    chosen = request.session.get(SESSION_KEY)
    if chosen:
        membership = memberships.filter(pk=chosen).first()
        if membership is not None:
            return membership
    return memberships.first()


class CurrentMembershipMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = SimpleLazyObject(lambda: _current_membership(request))
        return self.get_response(request)
