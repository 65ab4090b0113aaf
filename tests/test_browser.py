"""The whole product in a real browser (Debian's Chromium driven by Playwright), in English
on a desktop and in Simplified and Traditional Chinese on a phone, against gunicorn,
`qcluster` and a real SMTP server. Screenshots of each page go to test-artifacts/screenshots/
(git ignores it). axe-core checks every page state the tests visit (`bin/setup` installs it
from npm into var/axe/)."""

import json
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from harness.processes import Stack, manage, scratch_database
from harness.smtp_sink import SmtpSink, text_body
from tests.helpers import code_in, link_in, wrong_code

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
AXE = Path(__file__).resolve().parent.parent / "var" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD, NEW_PASSWORD = "a-long-and-unusual-passphrase", "another-long-passphrase-99"
COOLDOWN = 4  # seconds between two mails to one address, short enough to watch it run out

LANGUAGES = {
    "en": {
        "locale": "en-US",
        "viewport": {"width": 1280, "height": 800},
        "text": {
            "signup": "Sign up",
            "inbox": "Check your inbox",
            "activate": "Activate my account",
            "active": "Your account is active",
            "sign_in": "Sign in",
            "welcome": "Welcome, ada",
            "sign_out": "Sign out",
            "forgot": "Forgot your password?",
            "send_code": "Send me a code",
            "newest": "the newest code is surest",
            "wrong": "That code is wrong. 4 tries left.",
            "set": "Set new password",
            "changed": "Your password is changed",
        },
    },
    "zh-hans": {
        "locale": "zh-CN",
        "viewport": {"width": 390, "height": 844},
        "text": {
            "signup": "注册",
            "inbox": "请查收邮件",
            "activate": "激活账号",
            "active": "你的账号已激活",
            "sign_in": "登录",
            "welcome": "欢迎，ada",
            "sign_out": "退出登录",
            "forgot": "忘记密码？",
            "send_code": "发送验证码",
            "newest": "以最新一封中的验证码为准",
            "wrong": "验证码错误。还可尝试 4 次。",
            "set": "设置新密码",
            "changed": "密码已修改",
        },
    },
    "zh-hant": {
        "locale": "zh-TW",
        "viewport": {"width": 390, "height": 844},
        "text": {
            "signup": "註冊",
            "inbox": "請查收郵件",
            "activate": "啟用帳號",
            "active": "你的帳號已啟用",
            "sign_in": "登入",
            "welcome": "歡迎，ada",
            "sign_out": "登出",
            "forgot": "忘記密碼？",
            "send_code": "傳送驗證碼",
            "newest": "以最新一封中的驗證碼為準",
            "wrong": "驗證碼錯誤。還可嘗試 4 次。",
            "set": "設定新密碼",
            "changed": "密碼已修改",
        },
    },
}


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not at /usr/bin/chromium (bin/setup installs it as root)")
    if not AXE.exists():
        pytest.skip("axe-core is not in var/axe/ (bin/setup installs it with npm)")

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


class Audit:
    """axe-core on a page state: every rule, every impact. The site's Content-Security-Policy
    refuses injected script tags, so axe's source is evaluated through the DevTools protocol."""

    def __init__(self, name):
        self.name, self.found = name, {}

    def __call__(self, page, state):
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(AXE.read_text())
        self.found[state] = page.evaluate(
            """axe.run(document).then(r => r.violations.map(v => ({
                rule: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(" "))})))"""
        )

    def assert_clean(self):
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"axe-{self.name}.json").write_text(json.dumps(self.found, indent=1, ensure_ascii=False))
        assert {state: found for state, found in self.found.items() if found} == {}


@pytest.fixture
def audit(request):
    """Call `audit(page, "state")` on each page state; the test fails on any violation."""
    checker = Audit(re.sub(r"\W+", "-", request.node.name))
    yield checker
    checker.assert_clean()


@pytest.fixture
def site(tmp_path):
    with SmtpSink() as sink, scratch_database(tmp_path) as database_url:
        stack = Stack(
            database_url=database_url,
            smtp_port=sink.port,
            tmp_path=tmp_path,
            STATIC_ROOT=str(tmp_path / "static"),
            VERIFICATION_MAIL_COOLDOWN=str(COOLDOWN),
        )
        manage("collectstatic", "--noinput", env=stack.env)
        with stack.qcluster(), stack.web():
            yield stack.base_url, sink, stack


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_person_signs_up_activates_signs_in_and_resets_by_code(browser, site, language, audit):
    base_url, sink, _ = site
    setup = LANGUAGES[language]
    t = setup["text"]
    context = browser.new_context(locale=setup["locale"], viewport=setup["viewport"], base_url=base_url)
    page = context.new_page()
    shots = iter(range(1, 100))

    def shot(name):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{language}-{next(shots):02d}-{name}.png", full_page=True)
        audit(page, name)

    def sign_in(password):
        page.fill("#id_username", "ada")
        page.fill("#id_password", password)
        page.locator("main form button[type=submit]").click()
        assert t["welcome"] in page.locator("h1").inner_text()

    def set_password(code):
        page.fill("#id_code", code)
        page.fill("#id_password1", NEW_PASSWORD)
        page.fill("#id_password2", NEW_PASSWORD)
        page.get_by_role("button", name=t["set"]).click()

    page.goto("/")
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator("link[href*='bootstrap']").count() == 1
    shot("home")
    page.get_by_role("link", name=t["signup"]).first.click()
    page.fill("#id_password1", "short")
    page.locator("main form button[type=submit]").click()
    shot("signup-errors")
    page.fill("#id_username", "ada")
    page.fill("#id_email", "ada@example.com")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    shot("signup")
    page.locator("main form button[type=submit]").click()
    signed_up_at = time.monotonic()
    assert t["inbox"] in page.locator("h1").inner_text()
    shot("check-inbox")

    link = link_in(text_body(sink.wait_for(1)[0]), "/accounts/activate/")
    page.goto(link)
    page.fill("#id_password", PASSWORD)
    shot("activate")
    page.get_by_role("button", name=t["activate"]).click()
    assert t["active"] in page.locator(".alert").inner_text()
    assert t["welcome"] in page.locator("h1").inner_text()  # activated and signed in
    shot("activated")
    page.get_by_role("button", name=t["sign_out"]).click()

    page.goto("/accounts/login/")
    shot("sign-in")
    page.fill("#id_username", "ada")
    page.fill("#id_password", "not-the-password")
    page.locator("main form button[type=submit]").click()
    shot("sign-in-refused")
    sign_in(PASSWORD)
    shot("signed-in")
    page.get_by_role("button", name=t["sign_out"]).click()

    page.goto("/accounts/login/")
    page.get_by_role("link", name=t["forgot"]).click()
    shot("reset")
    page.fill("#id_email", "ada@example.com")
    time.sleep(max(0, signed_up_at + COOLDOWN + 0.5 - time.monotonic()))  # the sign-up mail's cooldown
    page.get_by_role("button", name=t["send_code"]).click()
    resend = page.locator("button[data-wait-label]")
    expect(resend).to_be_disabled()
    expect(resend).to_have_text(re.compile(r"\d"))  # counting down, once countdown.js has run
    expect(resend).to_be_enabled(timeout=(COOLDOWN + 3) * 1000)
    code = code_in(text_body(sink.wait_for(2)[1]))
    shot("reset-code")
    set_password(wrong_code(code))
    expect(page.locator(".invalid-feedback").first).to_contain_text(t["wrong"])
    shot("wrong-code")
    # The new password is still there, typed once: only the code is typed again.
    assert page.input_value("#id_password1") == page.input_value("#id_password2") == NEW_PASSWORD
    assert page.evaluate("document.activeElement.id") == "id_code"
    # "Send the code again", and the first mail arrives last: its code still works (issue 22).
    assert t["newest"] in page.locator("main").inner_text()
    resend.click()
    expect(page.locator("button[data-wait-label]")).to_be_disabled()
    sink.wait_for(3)  # the second mail, with a code of its own
    shot("sent-again")
    page.fill("#id_password1", NEW_PASSWORD)
    page.fill("#id_password2", NEW_PASSWORD)
    page.fill("#id_code", f"{code[:3]} {code[3:]}")  # the first mail's code, pasted with a space
    page.get_by_role("button", name=t["set"]).click()
    page.wait_for_url("**/accounts/login/")  # the form was sent in the background
    assert t["changed"] in page.locator(".alert").inner_text()
    shot("password-changed")

    sign_in(NEW_PASSWORD)
    context.close()


def test_a_person_signs_in_by_code_on_a_phone_in_chinese_from_another_device_and_by_the_link(
    browser, site, audit
):
    base_url, sink, stack = site
    [email] = stack.make_users(1)
    phone = {"locale": "zh-CN", "viewport": {"width": 390, "height": 844}, "base_url": base_url}

    def ask_for_a_code(page, mails_before):
        page.goto("/accounts/login/")
        page.get_by_role("link", name="用邮件获取登录验证码").click()
        audit(page, "sign-in-code-request")
        page.fill("#id_email", email)
        page.locator("main form button[type=submit]").click()
        assert "输入登录验证码" in page.locator("h1").inner_text()
        audit(page, "sign-in-code")
        return text_body(sink.wait_for(mails_before + 1)[mails_before])

    asking = browser.new_context(**phone).new_page()
    mail = ask_for_a_code(asking, 0)
    code = code_in(mail)
    asked_at = time.monotonic()

    other = browser.new_context(**phone).new_page()  # another device: no cookie from the first
    other.goto("/accounts/login/code/enter/")
    other.fill("#id_email", email)
    other.fill("#id_code", wrong_code(code))
    other.get_by_role("button", name="登录").click()
    audit(other, "sign-in-code-wrong")
    other.fill("#id_code", code)
    other.get_by_role("button", name="登录").click()
    assert "欢迎" in other.locator("h1").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    other.screenshot(path=SCREENSHOTS / "zh-hans-signed-in-by-code.png", full_page=True)

    time.sleep(max(0, asked_at + COOLDOWN + 0.5 - time.monotonic()))
    link = link_in(ask_for_a_code(asking, 1), "/accounts/login/code/enter/#")
    by_link = browser.new_context(**phone).new_page()  # opened on a third device
    # Planted: an address added to the fragment is never filled in (a link someone else sent
    # would sign this browser in to their account).
    by_link.goto(link + "&email=someone%40else.example")
    # The link fills in the code; the address it does not carry (docs/delivery.md), typed here.
    assert by_link.input_value("#id_email") == "" and re.fullmatch(r"\d{6}", by_link.input_value("#id_code"))
    assert "#" not in by_link.url  # the code left the address bar and the history
    by_link.fill("#id_email", email)
    # Whose account the button signs in to, in plain text, in step with the field.
    shown = by_link.locator("#signing-in-as")
    assert shown.is_visible() and shown.inner_text().count(email) == 1
    by_link.screenshot(path=SCREENSHOTS / "zh-hans-sign-in-code-from-link.png", full_page=True)
    audit(by_link, "sign-in-code-from-link")
    by_link.get_by_role("button", name="登录").click()
    assert "欢迎" in by_link.locator("h1").inner_text()


ACCOUNT_TEXT = {
    "en": {
        "account": "Your account",
        "change_email": "Change your email address",
        "change_password": "Change your password",
        "change_password_button": "Change my password",
        "send": "Send a code to the new address",
        "confirm": "Change my address",
        "undo": "Put my address back",
        "sign_in": "Sign in",
        "welcome": "Welcome, ada",
    },
    "zh-hans": {
        "account": "我的账号",
        "change_email": "更换邮箱地址",
        "change_password": "修改密码",
        "change_password_button": "确认修改",
        "send": "向新邮箱发送验证码",
        "confirm": "确认更换",
        "undo": "恢复原邮箱",
        "sign_in": "登录",
        "welcome": "欢迎，ada",
    },
    "zh-hant": {
        "account": "我的帳號",
        "change_email": "更換電子郵件地址",
        "change_password": "修改密碼",
        "change_password_button": "確認修改",
        "send": "向新電子郵件地址傳送驗證碼",
        "confirm": "確認更換",
        "undo": "恢復原電子郵件地址",
        "sign_in": "登入",
        "welcome": "歡迎，ada",
    },
}
MEMBER = """
from django.utils import timezone
from accounts.models import User
User.objects.create_user("ada", "ada@example.com", {password!r}, email_verified_at=timezone.now())
"""


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_person_changes_the_address_and_the_old_one_undoes_it(browser, site, language, audit):
    base_url, sink, stack = site
    setup, t = LANGUAGES[language], ACCOUNT_TEXT[language]
    stack.python(MEMBER.format(password=PASSWORD))
    page = browser.new_context(
        locale=setup["locale"], viewport=setup["viewport"], base_url=base_url
    ).new_page()

    def mail_to(address, count):
        mails = sink.wait_for(count)
        return text_body([m for m in mails if m["To"] == address][-1])

    def sign_in(password):
        page.goto("/accounts/login/")
        page.fill("#id_username", "ada")
        page.fill("#id_password", password)
        page.locator("main form button[type=submit]").click()
        assert t["welcome"] in page.locator("h1").inner_text()

    sign_in(PASSWORD)
    page.get_by_role("link", name=t["account"]).first.click()
    assert "ada@example.com" in page.locator("main").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{language}-account.png", full_page=True)
    audit(page, "account")

    page.get_by_role("link", name=t["change_password"]).click()
    page.fill("#id_current_password", "wrong")
    page.fill("#id_password1", "short")
    page.get_by_role("button", name=t["change_password_button"]).click()
    audit(page, "password-change-errors")
    page.goto("/accounts/")

    page.get_by_role("link", name=t["change_email"]).click()
    audit(page, "email-change")
    page.fill("#id_new_email", "ada.new@example.org")
    page.fill("#id_current_password", PASSWORD)
    page.get_by_role("button", name=t["send"]).click()
    audit(page, "email-change-code")
    code = code_in(mail_to("ada.new@example.org", 1))
    page.goto("/accounts/")
    audit(page, "account-with-a-pending-change")
    page.goto("/accounts/email/code/")
    page.fill("#id_code", wrong_code(code))
    page.get_by_role("button", name=t["confirm"]).click()
    audit(page, "email-change-wrong-code")
    page.fill("#id_code", code)
    page.get_by_role("button", name=t["confirm"]).click()
    assert "ada.new@example.org" in page.locator("main").inner_text()
    page.screenshot(path=SCREENSHOTS / f"{language}-account-changed.png", full_page=True)
    audit(page, "account-changed")

    notice = mail_to("ada@example.com", 3)  # the notice to the old address, after the code
    assert "a***@example.org" in notice
    undo = link_in(notice, "/accounts/email/undo/")
    owner = browser.new_context(
        locale=setup["locale"], viewport=setup["viewport"], base_url=base_url
    ).new_page()
    owner.goto(undo)
    audit(owner, "undo")
    owner.fill("#id_password1", "short")
    owner.get_by_role("button", name=t["undo"]).click()
    audit(owner, "undo-errors")
    owner.fill("#id_password1", NEW_PASSWORD)
    owner.fill("#id_password2", NEW_PASSWORD)
    owner.get_by_role("button", name=t["undo"]).click()
    assert "ada@example.com" in owner.locator("main").inner_text()  # the owner's account page

    audit(owner, "undone")
    owner.goto("/no/such/page/")
    audit(owner, "404")

    page.reload()  # the session that made the change is over
    assert page.get_by_role("link", name=t["sign_in"]).count() >= 1
    sign_in(NEW_PASSWORD)


def test_the_development_mailbox_in_every_language(browser, tmp_path, audit):
    """With DEBUG on and no SMTP server, mail goes to /dev/mailbox/, which a browser on this
    machine opens without signing in."""
    with scratch_database(tmp_path) as database_url:
        stack = Stack(
            database_url=database_url,
            smtp_port=0,
            tmp_path=tmp_path,
            STATIC_ROOT=str(tmp_path / "static"),
            DEBUG="true",
            EMAIL_BACKEND="site_config.dev_mailbox.DevMailboxBackend",
            DEV_MAILBOX_DIR=str(tmp_path / "mailbox"),
        )
        manage("collectstatic", "--noinput", env=stack.env)
        with stack.qcluster(), stack.web():
            stack.queue_mails(1)
            for language, setup in LANGUAGES.items():
                page = browser.new_context(
                    locale=setup["locale"], viewport=setup["viewport"], base_url=stack.base_url
                ).new_page()
                page.goto("/dev/mailbox/")
                for _ in range(30):  # until the worker has delivered the mail
                    if page.locator("details").count():
                        break
                    time.sleep(0.5)
                    page.reload()
                assert page.locator("details").count() == 1
                audit(page, f"dev-mailbox-{language}")
