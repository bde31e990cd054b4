import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from procurement.audit.models import AppendOnlyError, AuditEvent
from procurement.audit.services import audit_record, audit_verify_chain

pytestmark = pytest.mark.django_db


def test_events_form_a_chain_that_verifies(trio):
    first = audit_record(action="creato", actor=trio.owner, obj=trio.organisation)
    second = audit_record(
        action="approvato",
        actor=trio.colleague,
        obj=trio.organisation,
        from_state="A",
        to_state="B",
    )
    assert second.prev_hash == first.hash
    report = audit_verify_chain()
    assert report.ok and report.checked == 2
    call_command("audit_verify")


def test_the_orm_refuses_to_change_or_delete_an_event(trio):
    event = audit_record(action="creato", actor=trio.owner, obj=trio.organisation)
    event.action = "altro"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="altro")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


def test_tampering_in_the_database_is_detected(trio):
    audit_record(action="creato", actor=trio.owner, obj=trio.organisation)
    tampered = audit_record(action="importo 100", actor=trio.owner, obj=trio.organisation)
    audit_record(action="chiuso", actor=trio.owner, obj=trio.organisation)
    with connection.cursor() as cursor:
        # The database refuses too, unless a superuser bypasses the triggers: simulate that.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "UPDATE audit_auditevent SET action = 'importo 1' WHERE id = %s", [tampered.pk]
        )
        cursor.execute("SET session_replication_role = DEFAULT")
    report = audit_verify_chain()
    assert not report.ok
    assert report.first_bad_id == tampered.pk
    with pytest.raises(CommandError, match="NON integra"):
        call_command("audit_verify")


def test_the_database_trigger_refuses_updates(trio):
    from django.db import DatabaseError, transaction

    event = audit_record(action="creato", actor=trio.owner, obj=trio.organisation)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [event.pk])
