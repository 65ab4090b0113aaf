"""The JSON API at /api/v1/ (docs/api.md). Each endpoint binds
the pages' own form to the JSON body and calls the pages' own service; nothing here decides
who may do what."""

from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as SchemaError

from accounts.api.refusals import Refused

api = NinjaAPI(
    title="Verify API",
    version="1",
    description="Every flow of the site's pages, as JSON: the same forms, services and limits.",
    urls_namespace="api",
    docs_url="/docs",
)


@api.exception_handler(Refused)
def answer_refusal(request, refused):
    response = api.create_response(request, {"errors": refused.errors}, status=refused.status)
    if refused.status == 429:
        response["Retry-After"] = str(refused.seconds)
    return response


@api.exception_handler(SchemaError)
def answer_malformed_body(request, error):
    return answer_refusal(request, Refused.from_schema(error.errors))


@api.exception_handler(HttpError)
def answer_unreadable_body(request, error):
    # django-ninja's own refusals: a body that is not JSON at all, for one.
    return answer_refusal(request, Refused.one("invalid", _("Enter a valid value.")))


@api.exception_handler(AuthenticationError)
def answer_not_signed_in(request, error):
    from accounts.api.clients import not_signed_in

    return answer_refusal(request, Refused.one("not_signed_in", not_signed_in))


from accounts.api import account, signing_in, signing_up  # noqa: E402  (they use `api`)

api.add_router("", signing_up.router)
api.add_router("", signing_in.router)
api.add_router("/account", account.router)
