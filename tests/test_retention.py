"""The sweeps delete what is past its retention in batches of VERIFICATION_SWEEP_BATCH_SIZE,
each its own statement, and keep everything else (verification/retention.py)."""

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.models import Failure, Task

from accounts.models import User
from accounts.tasks import sweep_accounts
from accounts.vocabulary import MailKind, Purpose
from tests.factories import UserFactory
from verification import outbox
from verification.models import OneTimeSecret, OutboundEmail, RateLimitBucket

Status = OutboundEmail.Status
ROWS, BATCH = 7, 3  # three batches: 3, 3 and 1


@pytest.fixture(autouse=True)
def small_batches(settings):
    settings.VERIFICATION_SWEEP_BATCH_SIZE = BATCH


def deletes_from(queries, model):
    return [q["sql"] for q in queries if q["sql"].startswith(f'DELETE FROM "{model._meta.db_table}"')]


def sweep(call):
    with CaptureQueriesContext(connection) as captured:
        result = call()
    return result, captured.captured_queries


def test_the_outbox_sweep_deletes_more_rows_than_a_batch_and_keeps_the_rest(
    jobs_wait_in_the_queue, user, time_machine, settings
):
    long_ago = time_machine.now - timedelta(days=settings.VERIFICATION_RETENTION_DAYS + 1)
    kind = MailKind.PASSWORD_CHANGED
    old = [OutboundEmail(user=user, kind=kind, status=Status.SENT, created_at=long_ago) for _ in range(ROWS)]
    kept_mail = OutboundEmail.objects.bulk_create(
        [
            OutboundEmail(user=user, kind=kind, status=Status.SENT),  # recent
            OutboundEmail(user=user, kind=kind, status=Status.RETRYING, created_at=long_ago),  # not done
        ]
    )
    OutboundEmail.objects.bulk_create(old)
    secret = dict(user=user, purpose=Purpose.LOGIN, digest="x", max_attempts=5)
    OneTimeSecret.objects.bulk_create(OneTimeSecret(expires_at=long_ago, **secret) for _ in range(ROWS))
    fresh_secret = OneTimeSecret.objects.create(expires_at=time_machine.now, **secret)
    RateLimitBucket.objects.bulk_create(RateLimitBucket(scope="s", key=str(n)) for n in range(ROWS + 1))
    RateLimitBucket.objects.exclude(key="0").update(updated_at=long_ago)
    Task.objects.bulk_create(
        Task(id=str(n), func="f", started=long_ago, stopped=long_ago, success=n == ROWS)
        for n in range(ROWS + 1)
    )

    result, queries = sweep(outbox.sweep_outbox)

    assert {k: result[k] for k in ["emails", "secrets", "rate limits", "failed jobs"]} == dict.fromkeys(
        ["emails", "secrets", "rate limits", "failed jobs"], ROWS
    )
    assert set(OutboundEmail.objects.all()) == set(kept_mail)
    assert list(OneTimeSecret.objects.all()) == [fresh_secret]
    assert list(RateLimitBucket.objects.values_list("key", flat=True)) == ["0"]
    assert not Failure.objects.exists() and Task.objects.count() == 1  # the successful one
    for model in [OutboundEmail, OneTimeSecret, RateLimitBucket]:
        assert len(deletes_from(queries, model)) == 3, model


def test_the_accounts_sweep_deletes_more_sign_ups_and_sessions_than_a_batch_and_keeps_the_rest(
    db, client, time_machine, settings
):
    unproven = UserFactory.create_batch(ROWS, awaiting_activation=True)
    kept = [UserFactory(deactivated=True), UserFactory()]
    for person in unproven[:2]:  # their rows cascade
        OutboundEmail.objects.create(user=person, kind=MailKind.ACTIVATION)
    for _ in range(ROWS):
        SessionStore().create()
    Session.objects.update(expire_date="2000-01-01T00:00Z")
    client.force_login(kept[1])
    time_machine.advance(seconds=settings.VERIFICATION_UNACTIVATED_RETENTION + 1)
    late = UserFactory(awaiting_activation=True, date_joined=time_machine.now)

    result, queries = sweep(sweep_accounts)

    assert result == {"unactivated_accounts": ROWS, "username_claims": 0, "email_changes": 0}
    assert set(User.objects.all()) == {*kept, late} and not OutboundEmail.objects.exists()
    assert list(Session.objects.values_list("session_key", flat=True)) == [client.session.session_key]
    assert len(deletes_from(queries, User)) == 3
    assert len(deletes_from(queries, Session)) == 3
