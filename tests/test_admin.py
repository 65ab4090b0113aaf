import pytest
from django.urls import reverse
from django_q.models import Schedule

from tests.factories import UserFactory
from tests.helpers import activation_path, ask_for_code, mailed_code
from verification.models import OneTimeSecret, OutboundEmail


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_staff_see_codes_links_and_mail_state_but_never_a_secret(
    staff_client, deliver, mailoutbox, time_machine
):
    member = UserFactory(awaiting_activation=True)
    deliver(staff_client.post, reverse("accounts:resend_activation"), {"email": member.email})
    token = activation_path(mailoutbox[-1]).split("/")[-2]
    member.is_active = True
    member.save()
    time_machine.advance(seconds=61)  # past the one-mail-a-minute limit
    code = ask_for_code(staff_client, deliver, member.email, mailoutbox)

    pages = [
        reverse("admin:verification_onetimesecret_changelist"),
        reverse("admin:verification_outboundemail_changelist"),
        reverse("admin:accounts_user_changelist"),
        *(
            reverse("admin:verification_onetimesecret_change", args=[row.pk])
            for row in OneTimeSecret.objects.all()
        ),
        *(
            reverse("admin:verification_outboundemail_change", args=[row.pk])
            for row in OutboundEmail.objects.all()
        ),
    ]
    for page in pages:
        response = staff_client.get(page)
        html = response.content.decode()
        assert response.status_code == 200, page
        assert code not in html and token not in html
        for row in OneTimeSecret.objects.all():
            assert row.digest not in html

    listing = staff_client.get(pages[0]).content.decode()
    for column in ("Purpose", "State", "Created", "Expires", "Used"):
        assert column in listing
    assert "account activation link" in listing and "password reset code" in listing


def test_the_user_list_shows_who_is_waiting_for_activation(staff_client):
    UserFactory(username="waiting-person", awaiting_activation=True)

    response = staff_client.get(reverse("admin:accounts_user_changelist") + "?is_active__exact=0")

    assert "waiting-person" in response.content.decode()


def test_staff_cannot_add_or_edit_codes(staff_client):
    assert staff_client.get(reverse("admin:verification_onetimesecret_add")).status_code == 403


def test_staff_can_send_an_activation_link_or_a_reset_code_but_never_see_it(
    staff_client, deliver, mailoutbox
):
    waiting = UserFactory(awaiting_activation=True)
    active = UserFactory()
    changelist = reverse("admin:accounts_user_changelist")

    for action, member in (("send_activation_link", waiting), ("send_password_reset_code", active)):
        response = deliver(
            staff_client.post, changelist, {"action": action, "_selected_action": [member.pk]}, follow=True
        )
        assert "1 mail queued." in response.content.decode()

    link_mail, code_mail = mailoutbox
    assert link_mail.to == [waiting.email] and activation_path(link_mail)
    code = mailed_code(code_mail)
    assert code_mail.to == [active.email]
    page = staff_client.get(reverse("admin:verification_onetimesecret_changelist")).content.decode()
    assert code not in page
    # The code works on the page, like one the person asked for.
    reset = deliver(
        staff_client.post,
        reverse("accounts:password_reset_confirm"),
        {
            "email": active.email,
            "code": code,
            "password1": "a-brand-new-passphrase-42",
            "password2": "a-brand-new-passphrase-42",
        },
    )
    assert reset.status_code == 302


def test_staff_see_changes_of_address(staff_client):
    from accounts.models import EmailChange
    from verification import clock

    member = UserFactory()
    EmailChange.objects.create(
        user=member, old_email=member.email, new_email="n@example.org", requested_at=clock.now()
    )

    page = staff_client.get(reverse("admin:accounts_emailchange_changelist")).content.decode()

    assert "n@example.org" in page and member.email in page


def test_no_one_can_schedule_a_function_from_the_admin(admin_client):
    # A Schedule runs any importable function on the worker: os.system was a shell.
    shell = {"name": "x", "func": "os.system", "args": "'id'", "schedule_type": "O", "repeats": "-1"}

    added = admin_client.post(reverse("admin:django_q_schedule_add"), shell)

    assert added.status_code == 403
    assert not Schedule.objects.filter(func="os.system").exists()


def test_the_sites_schedules_are_listed_read_only(admin_client):
    sweep = Schedule.objects.get(func="verification.tasks.sweep_outbox")
    change = reverse("admin:django_q_schedule_change", args=[sweep.pk])

    listed = admin_client.get(reverse("admin:django_q_schedule_changelist"))
    changed = admin_client.post(change, {"name": sweep.name, "func": "os.system", "schedule_type": "I"})
    deleted = admin_client.post(reverse("admin:django_q_schedule_delete", args=[sweep.pk]), {"post": "yes"})

    assert listed.status_code == 200 and sweep.name in listed.content.decode()
    assert changed.status_code == 403 and deleted.status_code == 403
    assert Schedule.objects.get(pk=sweep.pk).func == "verification.tasks.sweep_outbox"


@pytest.mark.parametrize("page", ["django_q_success", "django_q_failure", "django_q_ormq"])
def test_the_task_pages_offer_no_way_to_run_a_function_again(admin_client, page):
    listed = admin_client.get(reverse(f"admin:{page}_changelist"))

    model_admin, request = listed.context["cl"].model_admin, listed.wsgi_request
    assert listed.status_code == 200
    assert "resubmit_task" not in model_admin.get_actions(request)  # it re-runs a stored func
    assert not model_admin.has_add_permission(request) and not model_admin.has_change_permission(request)
