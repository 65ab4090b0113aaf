"""The language stored for each person, which every mail to them is written in (never the
language of whichever browser asked for the mail: a thief's browser must not choose the words
of the owner's notice)."""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.views.i18n import set_language

from accounts.models import User


def remember_language(*, user: User, language: str, only_if_unset: bool = False) -> None:
    """Store `language` (a code of LANGUAGES) as the one mail to `user` is written in."""
    if language not in dict(settings.LANGUAGES) or (only_if_unset and user.language):
        return
    if user.language != language:
        user.language = language
        User.objects.filter(pk=user.pk).update(language=language)


def mail_language(*, user: User | None, asked_in: str) -> str:
    """The person's stored language; the page's (`asked_in`) for nobody the site knows by a
    language yet, and for an account whose address nobody proved: its stored language was
    chosen by whoever signed up, perhaps a stranger with the owner's address (an attacker
    helper had the owner's reset code mailed in a squatter's language)."""
    stored = user.language if user and user.email_verified_at else ""
    return stored or asked_in or settings.LANGUAGE_CODE


def switch_language(request):
    """Django's switcher, which also stores the choice of a signed-in person."""
    response = set_language(request)
    if request.method == "POST" and request.user.is_authenticated:
        remember_language(user=request.user, language=request.POST.get("language", ""))
    return response


@receiver(user_logged_in)
def _remember_the_language_at_sign_in(sender, request, user, **kwargs):
    # Only while the account has none (older than the field): a sign-in with a stolen password
    # must not reword the owner's notices.
    language = getattr(request, "LANGUAGE_CODE", "")  # a request through LocaleMiddleware
    remember_language(user=user, language=language, only_if_unset=True)
