from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
@register(Tags.security)
def dev_strong_auth_refused_in_production(app_configs, **kwargs):
    if not settings.DEBUG and settings.STRONG_AUTH_PROVIDER == "dev":
        return [
            Error(
                "Il provider di autenticazione forte 'dev' non è ammesso con DEBUG=False.",
                hint="Imposta STRONG_AUTH_PROVIDER=saml in produzione.",
                id="procurement.E001",
            )
        ]
    return []
