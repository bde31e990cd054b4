import datetime

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client
from django.urls import path

from procurement.accounts.models import IdpType, StrongAuthSession
from procurement.accounts.strongauth import has_strong_auth, strong_auth_required
from tests.factories.kernel import aware

pytestmark = pytest.mark.django_db


@strong_auth_required
def _anac_operation(request):
    from django.http import HttpResponse

    return HttpResponse("operazione ANAC eseguita")


urlpatterns = [path("anac-op/", _anac_operation)]


@pytest.fixture
def anac_urls(settings):
    from procurement import urls as project_urls

    module = type(project_urls)("strongauth_test_urls")
    module.urlpatterns = [*project_urls.urlpatterns, *urlpatterns]
    import sys

    sys.modules["strongauth_test_urls"] = module
    settings.ROOT_URLCONF = "strongauth_test_urls"
    yield
    del sys.modules["strongauth_test_urls"]


def _dev_login(client: Client, user, level=2, next_url="/"):
    return client.post(
        "/account/accesso-forte/dev/", {"tax_code": user.tax_code, "level": level, "next": next_url}
    )


def test_password_login_is_recorded_with_loa_1(trio, client_for):
    client_for(trio.owner)
    record = StrongAuthSession.objects.get(user=trio.owner)
    assert record.provider == "password"
    assert record.idp_type == IdpType.PASSWORD
    assert record.loa == 1
    assert record.anac_loa == ""


def test_an_anac_operation_sends_a_password_user_to_strong_login(trio, client_for, anac_urls):
    client = client_for(trio.owner)
    response = client.get("/anac-op/")
    assert response.status_code == 302
    assert response["Location"] == "/account/accesso-forte/?next=%2Fanac-op%2F"
    # The strong login goes through the configured provider: the dev page.
    response = client.get(response["Location"])
    assert response.status_code == 302
    assert response["Location"].startswith("/account/accesso-forte/dev/")
    response = _dev_login(client, trio.owner, level=2, next_url="/anac-op/")
    assert response.status_code == 302 and response["Location"] == "/anac-op/"
    assert client.get("/anac-op/").content == b"operazione ANAC eseguita"
    record = StrongAuthSession.objects.filter(user=trio.owner).latest("authenticated_at")
    assert (record.provider, record.loa, record.spid_level, record.anac_loa) == ("dev", 2, 2, "3")


def test_cie_level_3_maps_to_anac_loa_4(trio):
    client = Client()
    _dev_login(client, trio.owner, level=3)
    record = StrongAuthSession.objects.get(user=trio.owner)
    assert (record.idp_type, record.loa, record.anac_loa) == (IdpType.CIE, 3, "4")


def test_a_strong_session_expires(trio, settings, anac_urls):
    settings.STRONG_AUTH_MAX_AGE_SECONDS = 3600
    client = Client()
    with time_machine.travel(aware(2026, 11, 23, 9, 0), tick=False):
        _dev_login(client, trio.owner)
        assert client.get("/anac-op/").status_code == 200
    with time_machine.travel(aware(2026, 11, 23, 9, 59), tick=False):
        assert client.get("/anac-op/").status_code == 200
    with time_machine.travel(aware(2026, 11, 23, 10, 0, 1), tick=False):
        assert client.get("/anac-op/").status_code == 302


def test_logging_out_ends_the_strong_session(trio, anac_urls):
    client = Client()
    _dev_login(client, trio.owner)
    assert client.get("/anac-op/").status_code == 200
    client.post("/account/esci/")

    record = StrongAuthSession.objects.get(user=trio.owner)
    assert record.ended_at is not None  # a job acting as this RUP sees that he left


def test_unknown_identity_is_refused_with_a_message(trio):
    response = Client().post(
        "/account/accesso-forte/dev/", {"tax_code": "RSSMRA80A01H501U", "level": 2}
    )
    assert response.status_code == 200
    assert "Nessuna identità di prova" in response.content.decode()


def test_dev_provider_is_refused_by_a_system_check_in_production(settings):
    settings.DEBUG = False
    settings.STRONG_AUTH_PROVIDER = "dev"
    with pytest.raises(SystemCheckError, match=r"procurement\.E001"):
        call_command("check")


def test_dev_provider_page_is_404_in_production(trio, settings):
    settings.DEBUG = False
    response = Client().get("/account/accesso-forte/dev/")
    assert response.status_code == 404


def test_has_strong_auth_is_false_for_anonymous(rf):
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.db import SessionStore

    request = rf.get("/")
    request.user = AnonymousUser()
    request.session = SessionStore()
    assert not has_strong_auth(request, now=datetime.datetime.now(datetime.UTC))
