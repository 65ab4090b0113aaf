"""Whether a username reads as taken must say nothing about the address it was signed up with
(issue 19 points 1 and 12): every sign-up claims its username, whether or not it made an
account, and accounts and claims are compared by one fold, done by the database."""

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from accounts.tasks import sweep_accounts
from tests.factories import UserFactory
from verification.outbox import sweep_outbox

SIGNUP = reverse("accounts:signup")
PASSWORD = "a-long-and-unusual-passphrase"
VICTIM = "victim@example.com"


def sign_up(username, email):
    Client(REMOTE_ADDR="203.0.113.66").post(
        SIGNUP, {"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD}
    )


def reads_as_taken(username):
    """The sign-up form's answer, asked with mismatched passwords, which records nothing."""
    answer = Client(REMOTE_ADDR="198.51.100.7").post(
        SIGNUP, {"username": username, "email": "probe@example.com", "password1": "a", "password2": "b"}
    )
    return answer.context["form"].has_error("username", "username_taken")


def taken_after_a_sign_up_at_the_victims_address(username, probe, *, proven):
    """Sign up `username` at the victim's address (which has a proven account, or none) and ask
    about `probe`; everything is rolled back after."""
    with transaction.atomic():
        if proven:
            UserFactory(username="owner-0", email=VICTIM)
        sign_up(username, VICTIM)
        taken = reads_as_taken(probe)
        transaction.set_rollback(True)
    return taken


def spellings(name):
    """`name` with some of its letters in another case, as Python and databases fold them."""
    variants = [lambda c: c, str.upper, str.lower, str.swapcase, str.casefold, lambda c: c.upper().lower()]
    choices = st.lists(st.sampled_from(variants), min_size=len(name), max_size=len(name))
    return choices.map(lambda fs: "".join(f(c) for f, c in zip(fs, name, strict=True)))


LETTERS = st.characters(categories=["Lu", "Ll", "Lt"])
USERNAME_AND_PROBE = st.text(LETTERS, min_size=1, max_size=8).flatmap(
    lambda name: st.tuples(st.just("__" + name), spellings("__" + name))
)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite's UPPER() folds ASCII only: ς/σ and ı/i fold on PostgreSQL (bin/test's PostgreSQL pass)",
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(USERNAME_AND_PROBE)
@example(("__ς", "__σ"))
@example(("__σ", "__ς"))
@example(("__ı", "__i"))
@example(("__i", "__ı"))
@example(("__Ada", "__ADA"))
def test_taken_says_nothing_about_whether_the_address_had_an_account(db, names):
    username, probe = names

    answers = {
        proven: taken_after_a_sign_up_at_the_victims_address(username, probe, proven=proven)
        for proven in (True, False)
    }

    assert answers[True] == answers[False], answers


def test_a_username_claim_outlives_the_unproven_account_it_may_have_made(db, settings, time_machine):
    UserFactory(username="owner-0", email=VICTIM)
    sign_up("probe1", VICTIM)  # a proven address: the claim alone holds the username
    sign_up("probe2", "nobody@example.com")  # an unproven account holds it, and its claim
    answers = []
    # Past the retention, with the minute's sweep and the hourly one (half an hour out of step).
    time_machine.advance(seconds=settings.VERIFICATION_UNACTIVATED_RETENTION - 30 * 60)
    for minute in range(0, 4 * 60, 10):
        time_machine.advance(minutes=10)
        sweep_outbox()
        if minute % 60 == 0:
            sweep_accounts()
        answers.append((reads_as_taken("probe1"), reads_as_taken("probe2")))

    assert all(a == b for a, b in answers), answers
    assert answers[0] == (True, True) and answers[-1] == (False, False)
