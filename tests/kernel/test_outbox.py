"""E-mail goes out through the outbox, a real Redis broker and a real Celery worker.

A state change never waits for, nor is undone by, the broker: when Redis is down the change is
committed, the e-mail stays in the outbox, and the sweeper sends it once Redis is back: once.
"""

from __future__ import annotations

import pytest
from django.db import transaction

from procurement.audit.models import AuditEvent
from procurement.audit.services import audit_record
from procurement.notifications.models import EmailOutbox, Notification, OutboxStatus
from procurement.notifications.services import notify, outbox_sweep
from procurement.notifications.tasks import sweep_outbox
from tests.factories.kernel import OrganisationFactory, member
from tests.services import wait_for

pytestmark = pytest.mark.redis


def _change_and_notify(user, org, subject: str) -> None:
    """What a workflow service does: a state change, its audit event, a notification."""
    with transaction.atomic():
        audit_record(action=subject, actor=user, obj=org, organisation=org)
        notify(
            recipients=[user],
            template="generic",
            context={"subject": subject, "message": f"Messaggio: {subject}"},
            organisation=org,
            url="/",
        )


def _status(subject: str) -> str:
    return EmailOutbox.objects.get(subject__contains=subject).status


def test_mail_is_delivered_by_the_worker_and_survives_a_redis_outage(celery_worker, redis_server):
    org = OrganisationFactory()
    user = member(org, email="rup@comune.example.it")

    _change_and_notify(user, org, "Adesione approvata")
    wait_for(lambda: _status("Adesione approvata") == OutboxStatus.SENT, what="first e-mail")
    assert any("Adesione approvata" in m for m in celery_worker.mails())

    redis_server.stop()
    _change_and_notify(user, org, "Ordinativo respinto")  # must not raise, must commit

    assert AuditEvent.objects.filter(action="Ordinativo respinto").exists()
    assert Notification.objects.filter(subject__contains="Ordinativo respinto").exists()
    assert _status("Ordinativo respinto") == OutboxStatus.PENDING

    redis_server.start()
    sweep_outbox.delay()
    wait_for(lambda: _status("Ordinativo respinto") == OutboxStatus.SENT, what="swept e-mail")

    assert outbox_sweep() == 0  # nothing left: a second sweep sends nothing
    mails = celery_worker.mails()
    assert sum("Ordinativo respinto" in m for m in mails) == 1
    assert sum("Adesione approvata" in m for m in mails) == 1


def test_a_rolled_back_change_sends_no_mail(celery_worker):
    org = OrganisationFactory()
    user = member(org, email="buyer@comune.example.it")

    with pytest.raises(RuntimeError), transaction.atomic():
        notify(recipients=[user], template="generic", context={"subject": "Mai inviata"})
        raise RuntimeError("precondizione violata")
    _change_and_notify(user, org, "Inviata davvero")
    wait_for(lambda: _status("Inviata davvero") == OutboxStatus.SENT, what="e-mail")

    assert not EmailOutbox.objects.filter(subject__contains="Mai inviata").exists()
    assert not any("Mai inviata" in m for m in celery_worker.mails())


@pytest.mark.django_db
def test_health_reports_the_broker_down_with_503(celery_on_redis, redis_server, client):
    assert client.get("/health/").status_code == 200
    redis_server.stop()

    response = client.get("/health/")

    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["broker"]["status"] == "error"
    assert body["checks"]["database"]["status"] == "ok"
