"""A tiny cookie-keeping HTTP client that fills in Django's CSRF token, like a browser."""

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request


class Page:
    def __init__(self, status, url, html):
        self.status, self.url, self.html = status, url, html

    def csrf_token(self):
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.html)
        assert match, "no CSRF token on " + self.url
        return match.group(1)


class HttpBrowser:
    def __init__(self, base_url):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def open(self, path, data=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        url = path if path.startswith("http") else self.base_url + path
        try:
            with self.opener.open(url, body, timeout=30) as response:
                return Page(response.status, response.geturl(), response.read().decode())
        except urllib.error.HTTPError as error:
            return Page(error.code, url, error.read().decode())

    def submit(self, path, data):
        """GET the form at `path`, then POST `data` with the page's CSRF token."""
        token = self.open(path).csrf_token()
        return self.open(path, {**data, "csrfmiddlewaretoken": token})
