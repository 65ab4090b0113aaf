"""The app's words are registered with the engine (verification/registry.py), not written into
its models: a flow of a new purpose and mail kind works with no migration of the engine, and a
name nobody registered is refused before anything is recorded."""

import pytest
from django.db import transaction

from accounts.vocabulary import MailKind
from verification import registry, tokens
from verification.models import OneTimeSecret, OutboundEmail
from verification.outbox import queue_email


@pytest.fixture
def a_new_flow(settings):
    """A purpose and a mail kind the site does not have, registered as a host project would."""
    settings.DELETION_CODE_TTL = 300
    registry.register_code_purpose("delete_account", label="deletion code", ttl_setting="DELETION_CODE_TTL")
    registry.register_mail_kind("deletion_code", label="deletion code", waited_for=True, composer="x.y")
    yield
    del registry._purposes["delete_account"], registry._mail_kinds["deletion_code"]


@pytest.mark.django_db
def test_a_new_purpose_and_kind_are_stored_and_shown_with_no_migration(a_new_flow, user):
    challenge = tokens.open_code_challenge(address=user.email, purpose="delete_account", user=user)
    email = queue_email(user=user, kind="deletion_code", secret=challenge)

    assert (challenge.expires_at - challenge.created_at).total_seconds() == 300
    assert email.priority == 0  # waited for: claimed before notices
    assert str(OneTimeSecret.objects.get()).startswith("deletion code for ")
    assert str(OutboundEmail.objects.get()).startswith("deletion code to ")


@pytest.mark.django_db
def test_names_nobody_registered_are_refused_before_anything_is_recorded(user):
    with pytest.raises(LookupError), transaction.atomic():
        queue_email(user=user, kind="deletion_code")
    with pytest.raises(LookupError), transaction.atomic():
        tokens.open_code_challenge(address=user.email, purpose="delete_account", user=user)
    with pytest.raises(LookupError), transaction.atomic():
        tokens.issue_link_token(user=user, purpose="password_reset")  # a code's purpose, not a link's
    assert not OutboundEmail.objects.exists() and not OneTimeSecret.objects.exists()


@pytest.mark.django_db
def test_the_kind_sets_the_priority_queue_email_records(user):
    assert queue_email(user=user, kind=MailKind.PASSWORD_RESET).priority == 0
    assert queue_email(user=user, kind=MailKind.ACCOUNT_EXISTS).priority == 1


def test_a_name_registered_again_differently_is_an_error():
    kind = MailKind.LOGIN_CODE
    # The same again is no error: apps may be readied twice in one process.
    registry.register_mail_kind(kind, label=kind.label, waited_for=True, composer="accounts.mail.compose")
    with pytest.raises(ValueError, match="already registered"):
        registry.register_mail_kind(kind, label="x", waited_for=False, composer="x.y")
