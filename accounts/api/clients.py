"""The API's two kinds of client. A browser on this site (or an allowed origin) sends the
session cookie and a CSRF token; an app sends the session's key in `X-Session-Token` and no
cookie at all. Either way it is one Django session: everything that ends sessions (a reset, a
change of address, its undo, a new password, `session_epoch`) ends an app's too, and the
hourly sweep (accounts/tasks.py) clears expired ones. There is no second token system."""

from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import JsonResponse
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.translation import gettext_lazy as _
from ninja import Schema
from ninja.security import APIKeyCookie, APIKeyHeader
from ninja.utils import check_csrf

from accounts.api.refusals import Refused

TOKEN_HEADER = "X-Session-Token"
API_PREFIX = "/api/"

csrf_failed = _(
    "The CSRF check failed. GET /api/v1/csrf, then send its token in the X-CSRFToken header "
    "(or sign in as an app, with the X-Session-Token header)."
)


def is_token_client(request) -> bool:
    return getattr(request, "session_from_token", False)


class SessionFromTokenOrCookie(SessionMiddleware):
    """Django's session middleware, which takes the session from `X-Session-Token` when a
    request carries that header (empty: no session yet) and then ignores and sets no cookies.
    Such a request needs no CSRF token: a browser cannot add that header to a cross-site
    request unless CORS allows the origin, and without a cookie there is nothing to forge.
    Every other request to the API is a cookie client's, and is held to CSRF."""

    def process_request(self, request):
        token = request.headers.get(TOKEN_HEADER)
        if token is None or not request.path.startswith(API_PREFIX):  # the pages: cookies only
            return super().process_request(request)
        request.session_from_token = True
        request.COOKIES = {}
        # An unknown or malformed key loads an empty session, and saving it makes a new key:
        # a client cannot choose its own (no session fixation).
        # (A key is letters and digits: anything else, a NUL byte say, is no key at all.)
        request.session = self.SessionStore(token if token.isalnum() else None)
        request._dont_enforce_csrf_checks = True

    def process_view(self, request, view, args, kwargs):
        # The API's views are exempt from the CSRF middleware (django-ninja marks them); the
        # check is made here instead, for cookie clients, with the API's answer.
        if is_token_client(request) or not request.path.startswith(API_PREFIX):
            return None
        if check_csrf(request) is None:
            return None
        refused = Refused.one("csrf_failed", csrf_failed)
        return JsonResponse({"errors": refused.errors}, status=refused.status)

    def process_response(self, request, response):
        if request.path.startswith(API_PREFIX):
            add_never_cache_headers(response)
        if not is_token_client(request):
            return super().process_response(request, response)
        session = request.session
        if session.modified and not session.is_empty() and response.status_code < 500:
            try:
                session.save()
            except UpdateError:  # ended by another request meanwhile, as Django's answers
                raise SessionInterrupted("The session was deleted before the request completed.") from None
        patch_vary_headers(response, (TOKEN_HEADER,))
        for name in list(response.cookies):  # a CSRF or "known browser" cookie set on the way
            del response.cookies[name]
        return response


def signed_in_user(request, key):
    user = request.user
    return user if user.is_authenticated else None


class SessionToken(APIKeyHeader):
    """An app: the session key in the header (accounts.api.clients)."""

    param_name = TOKEN_HEADER

    def authenticate(self, request, key):
        return signed_in_user(request, key) if is_token_client(request) else None


class SessionCookie(APIKeyCookie):
    """A browser: the session cookie. CSRF is checked by SessionFromTokenOrCookie, for every
    endpoint; `csrf` here (checked again) makes the docs page send the token with its tries."""

    param_name = settings.SESSION_COOKIE_NAME

    def authenticate(self, request, key):
        return signed_in_user(request, key)


SIGNED_IN = [SessionToken(), SessionCookie()]

not_signed_in = _("Sign in first.")


class UserOut(Schema):
    username: str
    email: str


class SessionOut(Schema):
    user: UserOut
    # For an app: the key to send as X-Session-Token from now on (a sign-in, a new password
    # or a change of address gives the session a new one). Never given to a cookie client:
    # its session cookie is HttpOnly, out of reach of script.
    session_token: str | None = None


def session_answer(request) -> dict:
    token = request.session.session_key if is_token_client(request) else None
    return {"user": request.user, "session_token": token}
