"""Every page, form error, message and mail in Chinese (zh-hans) and English; the language
follows the browser and the switcher."""

import re
from gettext import GNUTranslations
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.vocabulary import Purpose
from tests.factories import PASSWORD, UserFactory
from tests.helpers import activation_path, link_in, mailed_code, path_of
from tests.test_account import undo_token
from verification import tokens

CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9,en;q=0.5"}
TAIWAN = {"HTTP_ACCEPT_LANGUAGE": "zh-TW,zh;q=0.9,en;q=0.5"}
BROWSERS = {"zh-hans": CHINESE, "zh-hant": TAIWAN}
# Characters only Simplified Chinese writes (账 验 邮 录 链 设 发 码 …): none on a zh-hant page.
SIMPLIFIED_ONLY = re.compile("[账验邮录链设发码这说请务户绍钟误败输选击试]")
# Words that stay in Latin letters on a Chinese page: the site's name and the switcher's
# "English", which names that language in itself.
KEPT = {"Verify", "English"}


class VisibleText(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hidden_depth, self.chunks = 0, []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "title"):
            self.hidden_depth += 1
        attributes = dict(attrs)
        for name in ("placeholder", "aria-label", "title"):
            if attributes.get(name):
                self.chunks.append(attributes[name])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "title"):
            self.hidden_depth -= 1

    def handle_data(self, data):
        if not self.hidden_depth:
            self.chunks.append(data)


def untranslated_words(html):
    parser = VisibleText()
    parser.feed(html)
    text = " ".join(parser.chunks)
    text = re.sub(r"\S+@\S+", " ", text)  # addresses are not words to translate
    text = re.sub(r"\b[A-Z][a-z]+/[A-Za-z_/]+", " ", text)  # nor time zones (Asia/Shanghai)
    return sorted({w for w in re.findall(r"[A-Za-z]{2,}", text)} - KEPT)


def signed_in_pages(member, browser):
    client = Client(**browser)
    client.force_login(member)
    wrong = {"current_password": "no", "password1": "a", "password2": "b"}
    return {
        "account": client.get(reverse("accounts:account")),
        "email change": client.get(reverse("accounts:email_change")),
        "email change errors": client.post(reverse("accounts:email_change"), {"new_email": "x", **wrong}),
        "email change code": client.post(
            reverse("accounts:email_change"),
            {"new_email": "new@example.org", "current_password": PASSWORD},
            follow=True,
        ),
        "account with a pending change": client.get(reverse("accounts:account")),
        "email change too soon": client.post(
            reverse("accounts:email_change"), {"new_email": "new@example.org", "current_password": PASSWORD}
        ),
        "email change wrong code": client.post(reverse("accounts:email_change_code"), {"code": "000000"}),
        "password change": client.get(reverse("accounts:password_change")),
        "password change errors": client.post(reverse("accounts:password_change"), wrong),
        "undo page": client.get(reverse("accounts:email_change_undo")),
        "undo invalid": client.post(reverse("accounts:email_change_undo"), {"token": "nonsense"}),
        "undo with the token in its path, invalid": client.get(
            reverse("accounts:email_change_undo_in_path", args=["nonsense"])
        ),
    }


@pytest.fixture(params=BROWSERS)
def pages(request, db, time_machine):
    """(name, response) for every main page, and the form errors on them, in Simplified and
    in Traditional Chinese."""
    client = Client(**BROWSERS[request.param])
    waiting = UserFactory(awaiting_activation=True)
    active = UserFactory(username="张三", email="zhang3@example.com")  # a name that is no English word
    token = tokens.issue_link_token(purpose=Purpose.ACTIVATION, user=waiting)
    bad = {"password1": "a", "password2": "b"}
    return {
        "home": client.get("/"),
        "signup": client.get(reverse("accounts:signup")),
        "signup errors": client.post(reverse("accounts:signup"), {"username": "", "email": "x", **bad}),
        "signup done": client.get(reverse("accounts:signup_done")),
        "login": client.get(reverse("accounts:login")),
        "login wrong": client.post(
            reverse("accounts:login"), {"username": active.username, "password": "no"}
        ),
        "login inactive": client.post(
            reverse("accounts:login"), {"username": waiting.username, "password": PASSWORD}
        ),
        "resend": client.get(reverse("accounts:resend_activation")),
        "activation sent": client.get(reverse("accounts:activation_sent")),
        "activate": client.get(reverse("accounts:activate", args=[token])),
        "activate invalid": client.get(reverse("accounts:activate", args=["nonsense"])),
        "reset": client.get(reverse("accounts:password_reset")),
        "reset code": client.post(reverse("accounts:password_reset"), {"email": active.email}, follow=True),
        "reset wrong code": client.post(
            reverse("accounts:password_reset_confirm"),
            {"email": active.email, "code": "12", "password1": "x", "password2": "y"},
        ),
        "login code": client.get(reverse("accounts:login_code_request")),
        "login code sent": client.post(
            reverse("accounts:login_code_request"), {"email": active.email}, follow=True
        ),
        "login code wrong": client.post(
            reverse("accounts:login_code"), {"email": active.email, "code": "000000"}
        ),
        "login code malformed": client.post(reverse("accounts:login_code"), {"email": "x", "code": "12"}),
        **signed_in_pages(active, BROWSERS[request.param]),
        "404": client.get("/no/such/page/"),
    }


def test_no_visible_string_is_left_in_english_on_the_chinese_pages(pages):
    leftovers = {name: untranslated_words(r.content.decode()) for name, r in pages.items()}

    assert {name: words for name, words in leftovers.items() if words} == {}
    assert re.search('<html lang="zh-han[st]">', pages["home"].content.decode())


def test_the_traditional_chinese_pages_hold_no_simplified_characters(db, time_machine):
    client = Client(**TAIWAN)
    assert "帳號" in client.get(reverse("accounts:signup")).content.decode()
    for name in ("home", "accounts:signup", "accounts:login", "accounts:password_reset"):
        html = client.get(reverse(name)).content.decode()
        assert 'lang="zh-hant"' in html
        assert SIMPLIFIED_ONLY.findall(html.replace("简体中文", "")) == []


def test_the_english_pages_stay_english(client, db):
    html = client.get(reverse("accounts:signup"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Create your account" in html and "创建账号" not in html


def test_the_switcher_sets_the_language_for_the_next_pages(client, db):
    page = client.get("/")
    assert "You are not signed in" in page.content.decode()

    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/accounts/login/"})

    assert response.url == "/accounts/login/"
    assert "忘记密码" in client.get("/accounts/login/").content.decode()


def test_mail_is_written_in_the_language_of_the_page_it_was_asked_from(db, deliver, mailoutbox):
    member = UserFactory()

    deliver(Client(**CHINESE).post, reverse("accounts:password_reset"), {"email": member.email})
    deliver(
        Client().post,
        reverse("accounts:signup"),
        {
            "username": "ada",
            "email": "ada@example.com",
            "password1": "a-long-and-unusual-passphrase",
            "password2": "a-long-and-unusual-passphrase",
        },
    )

    chinese, english = mailoutbox
    assert "密码重置验证码" in chinese.subject and "验证码" in chinese.body
    assert "验证码" in chinese.alternatives[0][0]
    assert english.subject.startswith("Activate") and activation_path(english)


def test_mail_in_traditional_chinese(db, deliver, mailoutbox):
    member = UserFactory(language="zh-hant")

    deliver(Client().post, reverse("accounts:password_reset"), {"email": member.email})

    [mail] = mailoutbox
    assert "密碼重設驗證碼" in mail.subject and "驗證碼" in mail.body and "驗證碼" in mail.alternatives[0][0]
    assert SIMPLIFIED_ONLY.findall(mail.subject + mail.body) == []


def test_a_sign_in_code_mail_in_chinese(db, deliver, mailoutbox):
    member = UserFactory()

    deliver(Client(**CHINESE).post, reverse("accounts:login_code_request"), {"email": member.email})

    [mail] = mailoutbox
    assert "登录验证码" in mail.subject and "登录" in mail.body and "登录" in mail.alternatives[0][0]
    assert "不要把验证码告诉任何人" in mail.body and "不要把验证码告诉任何人" in mail.alternatives[0][0]


@pytest.mark.parametrize("status, path", [(404, "/nowhere/"), (403, None)])
def test_error_pages_are_friendly_in_every_language(db, status, path):
    for language, expected in (("en", "home page"), ("zh-hans", "返回首页"), ("zh-hant", "返回首頁")):
        client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE=language)
        response = client.get(path) if path else client.post(reverse("accounts:login"), {})
        assert response.status_code == status
        assert expected in response.content.decode()


@pytest.mark.parametrize("template", ["400.html", "500.html"])
def test_pages_rendered_without_a_request_are_translated_too(template):
    from django.template.loader import render_to_string
    from django.utils import translation

    with translation.override("zh-hans"):
        chinese = render_to_string(template)
    with translation.override("en"):
        english = render_to_string(template)

    assert "返回首页" in chinese and "Go to the home page" in english
    assert untranslated_words(chinese) == []


def test_address_change_mails_in_chinese(db, deliver, mailoutbox):
    member = UserFactory(username="李四")  # a name that is no English word
    client = Client(**CHINESE)
    client.force_login(member)

    deliver(
        client.post,
        reverse("accounts:email_change"),
        {"new_email": "new@example.org", "current_password": PASSWORD},
    )
    code = mailed_code(mailoutbox[0])
    deliver(client.post, reverse("accounts:email_change_code"), {"code": code})

    code_mail, notice, confirmation = mailoutbox
    assert "验证码" in code_mail.subject and "更换" in notice.subject and "邮箱" in confirmation.subject
    assert "撤销" in notice.body and "撤销" in notice.alternatives[0][0]
    link = path_of(link_in(notice.body, "/accounts/email/undo/"))
    undo, token = reverse("accounts:email_change_undo"), undo_token(link)
    owner = Client(**CHINESE)
    for page in (owner.get(link), owner.post(undo, {"token": token, "password1": "a", "password2": "b"})):
        assert untranslated_words(page.content.decode()) == []
    new_password = PASSWORD + "-new"
    undone = deliver(owner.post, undo, {"token": token, "password1": new_password, "password2": new_password})
    assert untranslated_words(owner.get(undone.url).content.decode()) == []
    told = mailoutbox[-1]
    assert told.to == ["new@example.org"] and "撤销" in told.subject and "撤销" in told.body


def change_address(deliver, mailoutbox, client, new_email="new@example.org"):
    """Move the signed-in account of `client` to `new_email`, code and all."""
    data = {"new_email": new_email, "current_password": PASSWORD}
    deliver(client.post, reverse("accounts:email_change"), data)
    deliver(client.post, reverse("accounts:email_change_code"), {"code": mailed_code(mailoutbox[-1])})


def test_a_thiefs_browser_language_does_not_word_the_owners_notice(db, deliver, mailoutbox):
    owner = UserFactory(language="en")
    thief = Client(**CHINESE)
    assert (
        thief.post(reverse("accounts:login"), {"username": owner.username, "password": PASSWORD}).status_code
        == 302
    )

    change_address(deliver, mailoutbox, thief)

    [notice] = [m for m in mailoutbox if m.to == [owner.email]]
    assert "undo" in notice.body.lower() and not re.search(r"[\u4e00-\u9fff]", notice.body + notice.subject)
    owner.refresh_from_db()
    assert owner.language == "en"  # the sign-in did not reword it


def test_mail_to_a_person_is_in_their_language_whoever_asks(db, deliver, mailoutbox):
    member = UserFactory(language="zh-hans")

    deliver(
        Client(HTTP_ACCEPT_LANGUAGE="en").post, reverse("accounts:password_reset"), {"email": member.email}
    )

    [mail] = mailoutbox
    assert "密码重置验证码" in mail.subject


def test_the_language_is_stored_at_sign_up_by_the_switcher_and_at_a_first_sign_in(db, deliver):
    form = {"username": "ada", "email": "ada@example.com", "password1": PASSWORD, "password2": PASSWORD}
    deliver(Client(**CHINESE).post, reverse("accounts:signup"), form)
    older = UserFactory(language="")  # an account from before the field
    client = Client(**CHINESE)
    client.post(reverse("accounts:login"), {"username": older.username, "password": PASSWORD})
    older.refresh_from_db()
    assert older.language == "zh-hans"

    client.post(reverse("set_language"), {"language": "en", "next": "/"})

    older.refresh_from_db()
    assert older.language == "en"
    assert User.objects.get(username="ada").language == "zh-hans"


CATALOGS = sorted(Path(__file__).resolve().parent.parent.glob("locale/*/LC_MESSAGES/django.mo"))
IDEOGRAPH = "\u4e00-\u9fff"
FULL_WIDTH_PUNCTUATION = "\u3000-\u303f\uff01-\uff0f\uff1a-\uff1f"
CJK = f"[{IDEOGRAPH}{FULL_WIDTH_PUNCTUATION}]"
SLIPS = re.compile(
    rf"{CJK}[.,:;!?()]|[.,:;!?()]{CJK}"  # ASCII punctuation touching Chinese
    rf"|[{IDEOGRAPH}] +[{IDEOGRAPH}]"  # a space between two characters
    rf"|[{FULL_WIDTH_PUNCTUATION}] +\S| +[{FULL_WIDTH_PUNCTUATION}]"  # a space beside full-width punctuation
)


def punctuation_slips(text):
    return [text[max(0, m.start() - 8) : m.end() + 8] for m in SLIPS.finditer(text)]


@pytest.mark.parametrize("catalog", CATALOGS, ids=lambda path: path.parent.parent.name)
def test_no_ascii_punctuation_or_stray_space_next_to_chinese_in_the_catalog(catalog):
    with catalog.open("rb") as mo:
        messages = GNUTranslations(mo)._catalog.values()

    assert [slip for text in messages for slip in punctuation_slips(text)] == []


class TextAsShown(VisibleText):
    """The visible text with a line break at each block element (whitespace between blocks is
    not shown; whitespace inside a line, around a link, is)."""

    INLINE = {"a", "strong", "em", "span", "code", "small"}

    def handle_starttag(self, tag, attrs):
        super().handle_starttag(tag, attrs)
        if tag not in self.INLINE:
            self.chunks.append("\n")

    def handle_endtag(self, tag):
        super().handle_endtag(tag)
        if tag not in self.INLINE:
            self.chunks.append("\n")


def test_no_punctuation_slip_on_the_chinese_pages(pages):
    def text_of(response):
        parser = TextAsShown()
        parser.feed(response.content.decode())
        return re.sub(r"\s*\n\s*", "\n", "".join(parser.chunks))

    slips = {slip for response in pages.values() for slip in punctuation_slips(text_of(response))}

    assert sorted(slips) == []
