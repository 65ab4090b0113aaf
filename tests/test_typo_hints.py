""" "Did you mean lin@qq.com?" on sign-up and address change, in a real Chromium: one click fills
the suggestion in; nothing is blocked (issue 22)."""

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.test_browser import CHROMIUM, FLAGS

# A browser and a live server, like tests/test_browser.py (the page check at the end is fast).


@pytest.fixture(scope="module")
def page():
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not at /usr/bin/chromium (bin/setup installs it as root)")
    # Playwright's sync API keeps an event loop in this thread; the live server's database
    # flush between tests is plain synchronous work all the same.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium.new_page()
        chromium.close()


@pytest.mark.parametrize(
    "typed, hint",
    [("lin@qq.con", "lin@qq.com"), ("lin@gmial.com", "lin@gmail.com"), ("lin@163.co", "lin@163.com")],
)
@pytest.mark.slow
def test_a_near_miss_of_a_common_domain_gets_a_hint_that_one_click_fills_in(page, live_server, typed, hint):
    page.goto(f"{live_server.url}/accounts/signup/")
    field = page.locator("#id_email")
    field.fill(typed)
    page.locator("#id_username").focus()

    offer = page.locator(".typo-hint")
    expect(offer).to_have_text(f"Did you mean {hint}?")
    offer.get_by_role("button").click()

    expect(field).to_have_value(hint)
    expect(offer).to_be_hidden()


@pytest.mark.slow
@pytest.mark.parametrize("typed", ["lin@qq.com", "lin@sina.cn", "lin@example.org"])
def test_a_common_or_unrelated_domain_gets_no_hint(page, live_server, typed):
    page.goto(f"{live_server.url}/accounts/signup/")
    page.locator("#id_email").fill(typed)
    page.locator("#id_username").focus()

    expect(page.locator(".typo-hint")).to_be_hidden()


def test_the_address_change_form_has_the_hint_too(client, user):
    client.force_login(user)
    page = client.get("/accounts/email/").content.decode()
    assert 'data-typo-hint="Did you mean {address}?"' in page and "js/typo-hint.js" in page
