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
