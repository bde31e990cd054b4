import factory

from procurement.pcp.models import PcpAppalto
from tests.factories.kernel import OrganisationFactory, UserFactory


class PcpAppaltoFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PcpAppalto

    organisation = factory.SubFactory(OrganisationFactory)
    subject = factory.Sequence(lambda n: f"Fornitura servizi cloud, ordinativo {n}")
    rup = factory.SubFactory(UserFactory)
    sa_tax_code = factory.LazyAttribute(lambda a: a.organisation.tax_code)
    sa_ausa_code = factory.LazyAttribute(lambda a: a.organisation.ausa_code)
    rp_tax_code = factory.LazyAttribute(lambda a: a.rup.tax_code)


def rup_appalto(**kwargs):
    """An appalto whose RUP is a member with role RUP of an organisation with an AUSA code."""
    from procurement.accounts.models import Role
    from tests.factories.kernel import member

    organisation = kwargs.pop("organisation", None) or OrganisationFactory()
    rup = member(organisation, Role.RUP)
    appalto = PcpAppaltoFactory(organisation=organisation, rup=rup, scheda_code="AD4", **kwargs)
    return appalto


def actor_for(appalto, *, loa: str = "3", idp_type: str = "SPID"):
    """The Actor pcp_actor_for would build from the RUP's strong session."""
    from procurement.anac.identity import Actor

    return Actor(
        tax_code=appalto.rup.tax_code,
        role="RP",
        loa=loa,
        idp_type=idp_type,
        sa_ausa=appalto.sa_ausa_code,
        sa_tax_code=appalto.sa_tax_code,
    )
