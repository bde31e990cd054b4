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
