"""Response headers the whole site shares."""

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    """Every script and style is a file from this site, so the policy refuses all else
    (injected markup cannot run script), and no other site may frame a page (clickjacking).
    A view may set its own policy on its response (the development mailbox does)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response
