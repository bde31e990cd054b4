"""Which workflow areas the layout links to, asked of each app without importing it.

An app may define ``menu_visible(self, user) -> bool`` on its AppConfig (fvoe does: R-FVOE-002);
an app without it is shown to every signed-in user, and its pages answer 403 where needed.
"""

from __future__ import annotations

from django import template

from procurement.core.selectors import area_visible as _area_visible

register = template.Library()


@register.simple_tag(takes_context=True)
def area_visible(context, app_label: str) -> bool:
    """``{% load areas %}{% area_visible "fvoe" as show %}``: memoised per request."""
    request = context.get("request")
    user = context.get("user") or getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    memo = getattr(request, "_area_visible", None) if request is not None else None
    if memo is not None and app_label in memo:
        return memo[app_label]
    visible = _area_visible(user=user, app_label=app_label)
    if request is not None:
        if memo is None:
            memo = request._area_visible = {}
        memo[app_label] = visible
    return visible
