"""The API's OpenAPI schema is made from the code, served, and changes only on purpose; its
docs page comes from this site's own static files under the site's Content-Security-Policy;
and bodies the schema does not describe are clear 400s, never a 500."""

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

from accounts.api import api
from tests.api_client import ApiClient, error_codes

SNAPSHOT = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"
REGENERATE = (
    ".venv/bin/python manage.py export_openapi_schema --api accounts.api.api --indent 2 --sorted "
    "--output docs/openapi.json"
)


def test_the_committed_schema_is_the_generated_one():
    generated = json.loads(json.dumps(api.get_openapi_schema(), sort_keys=True))

    assert generated == json.loads(SNAPSHOT.read_text()), f"The API changed: regenerate with {REGENERATE}"


def test_the_schema_is_served(db):
    served = ApiClient().get("/openapi.json").json()

    assert served["openapi"].startswith("3.")
    assert "/api/v1/password-reset/confirm" in served["paths"]


def test_the_docs_page_loads_swagger_ui_from_this_site_under_its_policy(db):
    page = ApiClient().get("/docs")
    html = page.content.decode()

    assert page.status_code == 200
    assert page["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY
    assert "/static/ninja/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    assert finders.find("ninja/swagger-ui-bundle.js") and finders.find("ninja/swagger-ui-init.js")
    assert "<script>" not in html  # no inline script: the policy would refuse it


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'"x"', b'{"email": null}', "\ufeff{}".encode()])
def test_a_body_that_is_not_the_schemas_is_a_400(raw, db):
    answer = ApiClient().client.post("/api/v1/password-reset", raw, content_type="application/json")

    assert answer.status_code == 400, answer.content
    assert error_codes(answer)
