"""The composer is an extension point (issue 23): a host project words a kind of mail its own
way by naming its composer in VERIFICATION_MAIL_COMPOSERS; every other kind keeps the site's
(the one its kind was registered with), and a misnamed composer is said at start."""

from django.core.mail import EmailMessage
from django.urls import reverse

from accounts.mail import CONTEXT_FOR_KIND
from tests.helpers import code_in
from verification.checks import check_mail_composers
from verification.outbox import queue_email

OURS = {"password_reset": "tests.test_mail_composers.compose_reset"}


def compose_reset(email):
    """A host project's reset mail: its own words around the code the app issues."""
    code = CONTEXT_FOR_KIND[email.kind](email)["code"]
    return EmailMessage(
        subject="Your Example Corp code", body=f"Example Corp:\n    {code}\n", to=[email.user.email]
    )


def test_the_worker_words_a_kind_with_the_host_projects_composer(client, user, deliver, mailoutbox, settings):
    settings.VERIFICATION_MAIL_COMPOSERS = OURS

    deliver(client.post, reverse("accounts:password_reset"), {"email": user.email})
    [message] = mailoutbox

    assert message.subject == "Your Example Corp code" and message.body.startswith("Example Corp:")
    assert message.extra_headers["Message-ID"]  # the engine still stamps each attempt
    response = client.post(
        reverse("accounts:password_reset_confirm"),
        {"email": user.email, "code": code_in(message.body), "password1": "a-brand-new-passphrase",
         "password2": "a-brand-new-passphrase"},
    )  # fmt: skip
    assert response.status_code == 302  # the code it carried works


def test_the_other_kinds_keep_the_sites_composer(user, deliver, settings, mailoutbox):
    settings.VERIFICATION_MAIL_COMPOSERS = OURS

    deliver(queue_email, user=user, kind="password_changed")

    [message] = mailoutbox
    assert "Example Corp" not in message.body and message.alternatives  # the site's, with its HTML


def test_a_composer_for_no_kind_or_that_cannot_be_imported_is_an_error_at_start(settings):
    settings.VERIFICATION_MAIL_COMPOSERS = {"pasword_reset": OURS["password_reset"]}
    assert [error.id for error in check_mail_composers()] == ["verification.E003"]

    settings.VERIFICATION_MAIL_COMPOSERS = {"password_reset": "myproject.mail.compose_reset"}
    assert [error.id for error in check_mail_composers()] == ["verification.E004"]

    settings.VERIFICATION_MAIL_COMPOSERS = OURS
    assert check_mail_composers() == []  # and the site's default composer imports
