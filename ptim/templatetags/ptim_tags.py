from django import template

from ptim.amounts import euro as _euro

register = template.Library()


@register.filter
def get(mapping, key):
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""


@register.filter
def euro(value):
    return _euro(value)


@register.filter
def add_money(value, other):
    """Decimal sum for templates (the built-in `add` converts to int)."""
    return (value or 0) + (other or 0)


@register.filter
def is_ptim_dg(user):
    """True for users of the Direzione Generale (toolbar entries reserved to them)."""
    from ptim.access import is_dg

    return bool(getattr(user, "is_authenticated", False)) and is_dg(user)
