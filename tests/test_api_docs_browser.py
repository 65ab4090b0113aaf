"""The API's docs page in a real browser: Swagger UI runs from this site's static files under
the site's Content-Security-Policy (no script refused, nothing fetched from elsewhere)."""

import pytest
from playwright.sync_api import expect

from harness.processes import Stack, manage, scratch_database
from harness.smtp_sink import SmtpSink
from tests.test_browser import browser  # noqa: F401  (a fixture)

pytestmark = pytest.mark.slow


def test_the_docs_page_runs_swagger_ui_from_this_site(browser, tmp_path):  # noqa: F811
    with SmtpSink() as sink, scratch_database(tmp_path) as database_url:
        stack = Stack(
            database_url=database_url,
            smtp_port=sink.port,
            tmp_path=tmp_path,
            STATIC_ROOT=str(tmp_path / "static"),
        )
        manage("collectstatic", "--noinput", env=stack.env)
        with stack.web():
            page = browser.new_page()
            refused, elsewhere = [], []
            page.on(
                "console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None
            )
            page.on(
                "request", lambda r: elsewhere.append(r.url) if not r.url.startswith(stack.base_url) else None
            )
            page.goto(stack.base_url + "/api/v1/docs")
            expect(page.locator(".swagger-ui .info .title")).to_contain_text("Verify API")
            expect(page.locator(".opblock-summary-path").first).to_be_visible()

    assert elsewhere == []
    assert not [text for text in refused if "script" in text.lower()], refused
