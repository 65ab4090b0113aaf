from django.urls import reverse

from tests.factories import PASSWORD, UserFactory


def test_an_active_user_signs_in_and_out(client, user):
    response = client.post(reverse("accounts:login"), {"username": user.username, "password": PASSWORD})

    assert response.status_code == 302
    assert client.get(reverse("home")).context["user"] == user

    client.post(reverse("accounts:logout"))
    assert not client.get(reverse("home")).context["user"].is_authenticated


def test_an_account_awaiting_activation_is_told_how_to_activate(client, new_user):
    response = client.post(reverse("accounts:login"), {"username": new_user.username, "password": PASSWORD})

    assert response.status_code == 200
    form = response.context["form"]
    assert form.has_error("__all__", "not_activated")
    assert reverse("accounts:resend_activation").encode() in response.content
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_for_an_inactive_account_says_nothing_about_activation(client, new_user):
    response = client.post(
        reverse("accounts:login"), {"username": new_user.username, "password": "wrong-one"}
    )

    assert response.context["form"].has_error("__all__", "invalid_login")


def test_an_account_switched_off_by_staff_cannot_sign_in_or_reactivate(client, db):
    switched_off = UserFactory(deactivated=True)

    response = client.post(
        reverse("accounts:login"), {"username": switched_off.username, "password": PASSWORD}
    )

    assert response.context["form"].has_error("__all__", "inactive")
    assert not response.context["form"].needs_activation


def test_a_session_ends_when_staff_switch_the_account_off(client, user):
    client.force_login(user)
    user.is_active = False
    user.save()

    assert not client.get(reverse("home")).context["user"].is_authenticated


def test_sign_in_follows_only_local_next_urls(client, user):
    credentials = {"username": user.username, "password": PASSWORD}

    local = client.post(reverse("accounts:login") + "?next=/admin/", credentials)
    client.post(reverse("accounts:logout"))
    offsite = client.post(reverse("accounts:login") + "?next=https://evil.example/", credentials)

    assert local.url == "/admin/"
    assert offsite.url == reverse("home")


def test_sign_out_needs_a_post_with_csrf(user):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)

    assert strict.get(reverse("accounts:logout")).status_code == 405
    assert strict.post(reverse("accounts:logout")).status_code == 403
