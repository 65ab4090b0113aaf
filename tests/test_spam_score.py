"""Every kind of mail the site sends, in every language it speaks, as the worker sends it to a
real SMTP server, scored by a real SpamAssassin offline (issue 22): none may look like spam.
Only the local rules run (`-L`: no blocklist, SPF or DKIM lookup, which are about the sending
domain's setup, docs/delivery.md "Deliverability"), so what they score is the mail itself."""

import pytest
from django.conf import settings as site_settings
from django.utils import timezone

from accounts.mail import CONTEXT_FOR_KIND
from accounts.models import EmailChange
from harness import spamassassin
from tests.factories import UserFactory
from verification.outbox import queue_email

UNAVAILABLE = spamassassin.unavailable_reason()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(UNAVAILABLE), reason=UNAVAILABLE)]

MOST = 0.5  # SpamAssassin calls 5.0 spam; a clean mail of ours stays near 0.
# A site on a real-looking domain, as an operator sets it: links, From and Message-ID are what
# a receiver sees (the test settings' http://testserver and webmaster@localhost score the same
# today, but a rule about them would be about the tests, not the mail).
SITE = {
    "SITE_URL": "https://id.northwind-mail.net",
    "SITE_NAME": "Northwind ID",
    "DEFAULT_FROM_EMAIL": "Northwind ID <noreply@northwind-mail.net>",
    "SUPPORT_EMAIL": "help@northwind-mail.net",
}
ADDRESS, OTHER_ADDRESS = "ada.lovelace@outlook.com", "ada.byron@gmail.com"


def _changed_away(user):
    """The account moved from `user.email` to another address a moment ago: the notice goes
    to the old one."""
    now = timezone.now()
    change = EmailChange.objects.create(
        user=user, old_email=user.email, new_email=OTHER_ADDRESS, requested_at=now, completed_at=now
    )
    user.email = change.new_email
    user.save()
    return change.old_email


# Who gets each kind, as the site queues it (accounts/services.py, accounts/email_change.py):
# (factory traits, the situation it is sent in, returning the row's to_address). Any other
# kind goes to a signed-up, proven account at its own address.
SITUATIONS = {
    "activation": ({"awaiting_activation": True}, lambda user: ""),
    "email_change_code": ({}, lambda user: OTHER_ADDRESS),
    "email_changed": ({}, _changed_away),
    "email_change_undone": ({}, lambda user: OTHER_ADDRESS),  # the address that was replaced
}


def sent_as_the_worker_sends(kind, language, *, deliver, smtp_sink):
    """The raw bytes the SMTP server received for one mail of `kind` in `language`."""
    traits, situation = SITUATIONS.get(kind, ({}, lambda user: ""))
    user = UserFactory(username="ada", email=ADDRESS, language=language, **traits)
    deliver(queue_email, user=user, kind=kind, to_address=situation(user))
    smtp_sink.wait_for(1)
    return smtp_sink.raw[0]


@pytest.mark.parametrize("language", [code for code, _name in site_settings.LANGUAGES])
@pytest.mark.parametrize("kind", sorted(CONTEXT_FOR_KIND))
def test_no_mail_looks_like_spam_to_spamassassin(kind, language, db, deliver, smtp_sink, settings):
    for name, value in SITE.items():
        setattr(settings, name, value)

    raw = sent_as_the_worker_sends(kind, language, deliver=deliver, smtp_sink=smtp_sink)
    verdict = spamassassin.score(raw)

    print(f"{kind} {language}: {verdict.score} {' '.join(verdict.rules)}")  # pytest -s shows them
    assert verdict.score <= MOST, f"{kind} in {language}, {verdict}"


def test_the_filter_here_does_score_what_a_careless_sender_leaves_out():
    """The scores above are SpamAssassin's judgement, not a filter that passes everything: a
    mail without the Date and Message-ID that Django's and the engine's headers give ours."""
    raw = f"From: {SITE['DEFAULT_FROM_EMAIL']}\r\nTo: {ADDRESS}\r\nSubject: Your code\r\n\r\n123456\r\n"

    verdict = spamassassin.score(raw.encode())

    assert verdict.score > MOST and {"MISSING_DATE", "MISSING_MID"} <= set(verdict.rules), verdict
