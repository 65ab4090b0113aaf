"""What each kind of mail says: `compose` is the site's composer (VERIFICATION_MAIL_COMPOSER),
which the worker's job calls for every kind that VERIFICATION_MAIL_COMPOSERS does not give a
composer of its own. Each kind's words come from its context function (CONTEXT_FOR_KIND) and
its templates; a host project's composer may build on `render_mail` and these. Secrets are
issued here, at the moment the mail is built in the worker, so their plaintext exists only in
the message that leaves."""

from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.views.decorators.debug import sensitive_variables

from accounts.addresses import shown_email
from accounts.language import mail_language
from accounts.models import EmailChange, email_change_code_key
from accounts.vocabulary import MailKind, Purpose
from verification import tokens


def _link(path):
    # From the configured site URL, never from a request's Host header.
    return settings.SITE_URL + path


def _page(name, path, **fields):
    """The link to the page `name`: the front end's (VERIFICATION_FRONTEND_URLS[name], its
    fields filled in, URL-quoted) when the site has one, else this site's `path`. Both come
    from settings alone, never from a request."""
    template = settings.VERIFICATION_FRONTEND_URLS.get(name)
    if not template:
        return _link(path)
    return template.format(**{field: quote(value, safe="") for field, value in fields.items()})


def _activation_context(email):
    token = tokens.issue_link_token(user=email.user, purpose=Purpose.ACTIVATION)
    return {
        "activation_url": _page("activate", reverse("accounts:activate", args=[token]), token=token),
        "valid_hours": settings.VERIFICATION_ACTIVATION_TTL // 3600,
    }


def _code(email, purpose, *, address=None):
    """A fresh code for the mail's challenge. A mail recorded before codes were asked for at
    request time has none: its code is asked for now, at the user's address."""
    secret = email.secret or tokens.open_code_challenge(
        address=address or email.user.email, purpose=purpose, user=email.user
    )
    return tokens.write_code(secret=secret, bound_to=email.to_address if address else "")


def _password_reset_context(email):
    return {
        "code": _code(email, Purpose.PASSWORD_RESET),
        "valid_minutes": settings.VERIFICATION_CODE_TTL // 60,
        "reset_url": _page("reset", reverse("accounts:password_reset_confirm")),
    }


def _login_code_context(email):
    code = _code(email, Purpose.LOGIN)
    # The code rides in the fragment, which browsers never send to a server: no log, proxy or
    # Referer sees it. The page's script fills it into its form. Not the address: a link that
    # carries its recipient's address is what phishing kits mail (SpamAssassin's
    # GB_CUSTOM_HTM_URI), and a planted link could fill in someone else's. The page takes the
    # address from the cookie of the browser that asked, or the person types it.
    path = f"{reverse('accounts:login_code')}#{urlencode({'code': code})}"
    return {
        "code": code,
        "valid_minutes": settings.VERIFICATION_LOGIN_CODE_TTL // 60,
        "login_code_url": _page("sign_in_code", path, email=email.user.email, code=code),
    }


def _email_change_code_context(email):
    # Bound to the address it is mailed to: it proves that address and no other.
    change = EmailChange(user=email.user, new_email=email.to_address)
    code = _code(email, Purpose.EMAIL_CHANGE, address=email_change_code_key(change))
    return {
        "code": code,
        "valid_minutes": settings.VERIFICATION_CODE_TTL // 60,
        "code_url": _link(reverse("accounts:email_change_code")),
    }


def _email_changed_context(email):
    change = (
        EmailChange.objects.filter(user=email.user, old_email=email.to_address)
        .exclude(completed_at=None)
        .order_by("-completed_at")
        .first()
    )
    token = tokens.issue_link_token(
        user=email.user, purpose=Purpose.EMAIL_CHANGE_UNDO, bound_to=str(change.public_id)
    )
    return {
        "new_address": mask_address(change.new_email),
        "changed_at": change.completed_at,
        # In the fragment, as the sign-in link's code: no access log or proxy sees it.
        "undo_url": _page(
            "undo", f"{reverse('accounts:email_change_undo')}#{urlencode({'token': token})}", token=token
        ),
        "valid_days": settings.VERIFICATION_EMAIL_UNDO_TTL // 86400,
    }


def _email_change_undone_context(email):
    # No secret: whoever reads the replaced address is told, and can only write to us.
    return {"restored_address": mask_address(email.user.email)}


def mask_address(address):
    """n***@example.com: enough for the owner to recognise, not to read off. An
    internationalised domain is shown in Unicode, with its A-label beside it: a look-alike
    (exаmple.com with a Cyrillic а) must not pass for the owner's own domain in a notice."""
    local, _, domain = address.partition("@")
    shown = shown_email(f"x@{domain}")[2:]
    return f"{local[:1]}***@{shown}" + (f" ({domain})" if shown != domain else "")


def _sign_in_context(email):
    return {
        "login_url": _page("sign_in", reverse("accounts:login")),
        "reset_url": _page("reset", reverse("accounts:password_reset")),
    }


def _account_exists_context(email):
    # Mailed to an address other than the account's: one held for the undo of a change away
    # from it (User.objects.holding). Its way back is the undo link mailed there then.
    moved_away = bool(email.to_address) and email.to_address != email.user.email
    return {**_sign_in_context(email), "moved_away": moved_away}


CONTEXT_FOR_KIND = {
    MailKind.ACTIVATION: _activation_context,
    MailKind.ACCOUNT_EXISTS: _account_exists_context,
    MailKind.PASSWORD_RESET: _password_reset_context,
    MailKind.LOGIN_CODE: _login_code_context,
    MailKind.PASSWORD_CHANGED: _sign_in_context,
    MailKind.EMAIL_CHANGE_CODE: _email_change_code_context,
    MailKind.EMAIL_IN_USE: _sign_in_context,
    MailKind.EMAIL_CHANGED: _email_changed_context,
    MailKind.EMAIL_CONFIRMED: _sign_in_context,
    MailKind.EMAIL_CHANGE_UNDONE: _email_change_undone_context,
}


def compose(email):
    """Build the message for an OutboundEmail from its kind's context and
    `templates/emails/<kind>_*`."""
    return render_mail(email, CONTEXT_FOR_KIND[email.kind](email))


@sensitive_variables("context", "text", "html")
def render_mail(email, context, *, templates=""):
    """The message for an OutboundEmail from `context` (on top of what every mail has) and the
    templates `<templates>_subject.txt`, `_message.txt` and `_message.html` (by default
    `emails/<kind>`), in the language stored for its person (accounts/language.py)."""
    user = email.user
    # The user's address of the moment, unless the row names another (an address change).
    recipient = email.to_address or user.email
    proven = user.email_verified_at is not None and recipient == user.email
    context = {
        "user": user,
        # A name chosen by whoever typed an address that is not proven yet is no greeting
        # (it would carry their text to a stranger's inbox).
        "greeting_name": user.get_username() if proven and user.chose_username else "",
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "support_email": settings.SUPPORT_EMAIL,
        **context,
    }
    prefix = templates or f"emails/{email.kind}"
    with translation.override(mail_language(user=user, asked_in=email.language)):
        subject = " ".join(render_to_string(f"{prefix}_subject.txt", context).split())
        text = render_to_string(f"{prefix}_message.txt", context)
        html = render_to_string(f"{prefix}_message.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[recipient],
        headers={"Message-ID": email.message_id},
    )
    message.attach_alternative(html, "text/html")
    return message
