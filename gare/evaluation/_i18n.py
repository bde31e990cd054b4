"""gettext that works with and without configured Django settings (the engine is pure Python)."""

from django.conf import settings
from django.utils.translation import gettext


def _(message: str) -> str:
    # Scripts (bench, plain Python) may use the engine without Django settings: no translation.
    return gettext(message) if settings.configured else message
