"""SECURITY.md 11 and 19: one canonical form per mailbox, whatever spelling is typed."""

import os

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.addresses import canonical_email, inbox_key
from accounts.mail import mask_address
from accounts.models import User, UsernameClaim
from tests.factories import UserFactory
from verification.models import RateLimitBucket

SIGNUP = reverse("accounts:signup")
RESET = reverse("accounts:password_reset")
PASSWORD = "a-long-and-unusual-passphrase"
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")


@pytest.mark.parametrize(
    "typed, canonical",
    [
        ("Victim@Example.COM", "victim@example.com"),
        ("  victim@example.com ", "victim@example.com"),
        ("victim@ｅｘａｍｐｌｅ.com", "victim@example.com"),  # full-width letters
        ("victim@Bücher.example", "victim@xn--bcher-kva.example"),
        ("victim@xn--bcher-kva.example", "victim@xn--bcher-kva.example"),
        ("first.last+tag@sub.example.org", "first.last+tag@sub.example.org"),
    ],
)
def test_spellings_of_one_mailbox_have_one_canonical_form(typed, canonical):
    assert canonical_email(typed) == canonical


@pytest.mark.parametrize(
    "typed, code",
    [
        ("victim@exam\u200bple.com", "domain"),  # zero-width space
        ("victim@exam\u00adple.com", "domain"),  # soft hyphen
        ("victim@exa_mple.com", "domain"),
        ("vi\u212atim@example.com", "local_part"),  # Kelvin sign: "k" once lower-cased
        ("vi\u017ftim@example.com", "local_part"),  # long s: "S" once upper-cased
        ("v\u0131ctim@example.com", "local_part"),  # dotless i: "I" once upper-cased
        ("ｖictim@example.com", "local_part"),
        ('"two words"@example.com', "local_part"),
        ("victim@example.com\r\nBcc: x@example.com", "local_part"),
        ("victim", "invalid"),
        ("@example.com", "invalid"),
        ("a" * 250 + "@example.com", "max_length"),
    ],
)
def test_what_cannot_be_delivered_as_typed_is_refused(typed, code):
    with pytest.raises(ValidationError) as refused:
        canonical_email(typed)
    assert refused.value.code == code


def test_a_look_alike_address_is_a_form_error_that_changes_nothing(client, db, mailoutbox):
    response = client.post(
        SIGNUP,
        {
            "username": "mallory",
            "email": "victim@exam\u200bple.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )

    assert response.status_code == 200 and response.context["form"].has_error("email", "domain")
    assert not User.objects.exists() and not mailoutbox


def variants(address):
    """Spellings that reach `address`'s mailbox: any case, full-width domain letters, blanks."""
    local, domain = address.split("@")

    def spell(flips, widths, blanks):
        cased = "".join(c.upper() if f else c for c, f in zip(address, flips, strict=False))
        cased = cased + address[len(cased) :]
        typed_local, typed_domain = cased[: len(local)], cased[len(local) + 1 :]
        wide = "".join(
            chr(ord(c) + 0xFEE0) if w and c.isalpha() else c
            for c, w in zip(typed_domain, widths + [False] * len(typed_domain), strict=False)
        )
        return f"{blanks[0]}{typed_local}@{wide}{blanks[1]}"

    return st.builds(
        spell,
        st.lists(st.booleans(), min_size=len(address), max_size=len(address)),
        st.lists(st.booleans(), max_size=len(domain)),
        st.tuples(st.sampled_from(["", " ", "\t"]), st.sampled_from(["", " ", "\n"])),
    )


OWNER = "victim@example.com"


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(typed=variants(OWNER))
def test_any_spelling_of_an_address_behaves_exactly_as_the_address(db, deliver, mailoutbox, typed):
    User.objects.all().delete()
    UsernameClaim.objects.all().delete()
    RateLimitBucket.objects.all().delete()
    mailoutbox.clear()
    owner = UserFactory(email=OWNER)

    reset = deliver(Client().post, RESET, {"email": typed})
    signup = deliver(
        Client(REMOTE_ADDR="198.51.100.2").post,
        SIGNUP,
        {
            "username": "newcomer",
            "email": typed,
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )

    assert reset.status_code == signup.status_code == 302
    assert list(User.objects.values_list("email", flat=True)) == [OWNER]
    # The code, then "you already have an account": both to the stored address.
    assert [m.to for m in mailoutbox] == [[owner.email], [owner.email]]
    assert "already have" in mailoutbox[1].subject


@pytest.mark.skipif(
    not ON_POSTGRES,
    reason="PostgreSQL folds the Kelvin sign differently from Python; runs in the PostgreSQL pass",
)
@pytest.mark.parametrize("exists", [True, False])
def test_a_kelvin_sign_sign_up_is_the_same_form_error_whether_or_not_the_ascii_account_exists(
    client, db, exists
):
    if exists:
        UserFactory(email="kate@example.com")

    response = client.post(
        SIGNUP,
        {
            "username": "mallory",
            "email": "\u212aate@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )

    assert response.status_code == 200 and response.context["form"].has_error("email", "local_part")


@pytest.mark.parametrize(
    "address, inbox",
    [
        ("inbox+1@example.com", "inbox@example.com"),
        ("inbox+a+b@example.com", "inbox@example.com"),
        ("first.last@example.com", "first.last@example.com"),  # dots matter at most providers
        ("First.Last+news@gmail.com", "firstlast@gmail.com"),
        ("f.irst.last@googlemail.com", "firstlast@gmail.com"),  # one mailbox, two domains
        ("+tag@example.com", "+tag@example.com"),  # nothing before the tag: keep it all
    ],
)
def test_limits_count_a_mailbox_by_its_address_without_a_tag_or_ignored_dots(address, inbox):
    assert inbox_key(canonical_email(address)) == inbox


def test_sub_addresses_share_their_inboxs_mail_limits_but_get_mail_as_typed(
    db, deliver, mailoutbox, time_machine
):
    # Mail limits per inbox, not per spelling: 15 activation mails once reached inbox+N@ in 12 s.
    for n in range(7):
        deliver(
            Client(REMOTE_ADDR=f"203.0.113.{n}").post,
            SIGNUP,
            {
                "username": f"u{n}",
                "email": f"inbox+{n}@example.com",
                "password1": PASSWORD,
                "password2": PASSWORD,
            },
        )
        time_machine.advance(seconds=30)

    assert [m.to for m in mailoutbox] == [
        ["inbox+0@example.com"],
        ["inbox+2@example.com"],
        ["inbox+4@example.com"],
        ["inbox+6@example.com"],
    ]
    assert set(User.objects.values_list("email", flat=True)) == {
        "inbox+0@example.com",
        "inbox+2@example.com",
        "inbox+4@example.com",
        "inbox+6@example.com",
    }


def test_a_code_mailed_to_a_sub_address_counts_its_tries(db, deliver, mailoutbox):
    member = UserFactory(email="first.last+shop@gmail.com")
    client = Client()
    deliver(client.post, reverse("accounts:login_code_request"), {"email": member.email})

    wrong = client.post(reverse("accounts:login_code"), {"email": member.email, "code": "000000"})

    assert mailoutbox[0].to == ["first.last+shop@gmail.com"]
    assert wrong.context["form"].has_error("code", "wrong_code") and "4 tries left" in wrong.content.decode()


def test_an_internationalised_domain_is_shown_in_unicode_and_stored_as_its_a_label(client, db):
    member = UserFactory(email=canonical_email("lin@例子.测试"))
    client.force_login(member)

    page = client.get(reverse("accounts:account")).content.decode()

    assert member.email == "lin@xn--fsqu00a.xn--0zwm56d"
    assert "lin@例子.测试" in page and "xn--" not in page
    assert mask_address(member.email) == "l***@例子.测试 (xn--fsqu00a.xn--0zwm56d)"
