"""What a screen reader or a keyboard needs from the pages (the browser tests run axe-core
on them too): errors announced and linked to their fields, focus where the work is, labels
that say which password is asked for."""

import re

from django.urls import reverse

from tests.factories import PASSWORD

SIGNUP = {"username": "ada", "email": "ada@example.com"}


def test_form_errors_are_announced_at_the_top_each_naming_its_field(client, db):
    page = client.post(
        reverse("accounts:signup"), {**SIGNUP, "password1": "password", "password2": "password"}
    )
    html = page.content.decode()

    summary = html[html.index('id="form-errors"') - 60 : html.index("</ul>", html.index('id="form-errors"'))]
    assert 'role="alert"' in summary and 'href="#id_password1"' in summary and "too common" in summary
    assert html.index('id="form-errors"') < html.index('<form method="post" novalidate')
    assert "js/form-errors.js" in html  # moves the focus to the first field in error


def test_a_password_validator_error_sits_under_the_password_it_is_about(client, db):
    form = client.post(
        reverse("accounts:signup"), {**SIGNUP, "password1": "password", "password2": "password"}
    ).context["form"]

    assert form.has_error("password1", "password_too_common") and not form.has_error("password2")


def test_the_refused_sign_in_is_announced(client, user):
    html = client.post(
        reverse("accounts:login"), {"username": user.username, "password": "no"}
    ).content.decode()

    assert 'role="alert" id="form-errors"' in html and "do not match an active account" in html
    assert html.count("do not match an active account") == 1  # in the summary, not twice


def label_of(html, field):
    return re.search(rf'<label[^>]*for="id_{field}"[^>]*>\s*([^<*]+?)\s*<', html).group(1)


def test_new_password_fields_say_new_password(client, user):
    client.force_login(user)
    for path in (reverse("accounts:password_change"), reverse("accounts:email_change_undo")):
        html = client.get(path).content.decode()
        assert (label_of(html, "password1"), label_of(html, "password2")) == (
            "New password",
            "New password, again",
        )


def test_the_code_field_has_the_focus_once_the_address_is_known(client, user, deliver):
    deliver(client.post, reverse("accounts:password_reset"), {"email": user.email})
    form = client.get(reverse("accounts:password_reset_confirm")).context["form"]
    assert form["code"].field.widget.attrs.get("autofocus") and not form["email"].field.widget.attrs.get(
        "autofocus"
    )

    elsewhere = client.__class__().get(reverse("accounts:login_code")).context["form"]  # another device
    assert (
        elsewhere["email"].field.widget.attrs.get("autofocus")
        and "autofocus" not in elsewhere["code"].field.widget.attrs
    )

    client.force_login(user)
    client.post(
        reverse("accounts:email_change"), {"new_email": "new@example.org", "current_password": PASSWORD}
    )
    assert (
        client.get(reverse("accounts:email_change_code"))
        .context["form"]["code"]
        .field.widget.attrs["autofocus"]
    )


def test_a_refused_code_renders_no_password_back(client, user, deliver):
    deliver(client.post, reverse("accounts:password_reset"), {"email": user.email})
    typed = "a-new-and-unusual-passphrase"
    form = {"email": user.email, "code": "000000", "password1": typed, "password2": typed}

    html = client.post(reverse("accounts:password_reset_confirm"), form).content.decode()

    # The page's script keeps what was typed (static/js/keep-new-password.js); the server never.
    assert "That code is wrong" in html and typed not in html
    assert "data-keeps-passwords" in html and "js/keep-new-password.js" in html
