"""Settings for the whole site, read from the environment (and an optional `.env` file).

Every variable is listed in docs/configuration.md. Development defaults are safe to run locally; with
DEBUG off, a missing required value stops the process with a message that names it.
"""

from email.utils import parseaddr
from pathlib import Path

import environ
from corsheaders.defaults import default_headers
from django.core.exceptions import ImproperlyConfigured

from verification import conf as engine_conf

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Values already in the environment win over the file. DJANGO_ENV_FILE= (empty) reads none,
# which the tests do so that a developer's own .env cannot change what they check.
ENV_FILE = env.str("DJANGO_ENV_FILE", default=str(BASE_DIR / ".env"))
if ENV_FILE:
    env.read_env(ENV_FILE)

DEBUG = env.bool("DEBUG", default=False)


def required(name, *, dev_default, cast=str):
    """Return a variable that production must set; development falls back to `dev_default`."""
    if name in env.ENVIRON:
        return env.get_value(name, cast=cast)
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(f"{name} must be set when DEBUG is off (see docs/configuration.md).")


SECRET_KEY = required("SECRET_KEY", dev_default="django-insecure-development-only")
# Old keys stay valid for checking signatures (activation links) while a new key rolls out.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = required("ALLOWED_HOSTS", dev_default=["127.0.0.1", "localhost"], cast=list)
# Links in mail are built from this, never from the request's Host header.
SITE_URL = required("SITE_URL", dev_default="http://127.0.0.1:8000").rstrip("/")
SITE_NAME = env("SITE_NAME", default="Verify")

INSTALLED_APPS = [
    "accounts",
    "verification",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "anymail",
    "ninja",  # its docs page then loads Swagger UI from this site's static files, not a CDN
    "corsheaders",
    "crispy_forms",
    "crispy_bootstrap5",
    "bootstrap",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # request.client_ip, computed once, before anything may read it.
    "site_config.middleware.ClientAddress",
    # Before anything that may answer: a refusal must carry CORS headers too.
    "corsheaders.middleware.CorsMiddleware",
    "site_config.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's, which also takes an app's session from X-Session-Token (accounts/api/clients.py).
    "accounts.api.clients.SessionFromTokenOrCookie",
    # The language follows the browser (Accept-Language) until the person picks one.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.known_browser.RememberSignIns",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "site_config.urls"
WSGI_APPLICATION = "site_config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "site_config.context_processors.site",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url_config(required("DATABASE_URL", dev_default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"))
}
# Keep connections open between requests and jobs: the Django-Q2 broker and workers otherwise
# reconnect for every task (docs/delivery.md, "How delivery works", has the measured difference).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
# Behind PgBouncer in transaction mode (docs/operations.md, "PgBouncer and growth"): a
# server-side cursor outside a transaction would outlive the transaction that holds its server
# connection.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool("DISABLE_SERVER_SIDE_CURSORS", default=False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the mail worker write to one file. WAL lets readers run beside a
    # writer, and BEGIN IMMEDIATE takes the write lock at the start of a transaction, so a
    # transaction never fails half-way with "database is locked"; it waits up to `timeout`.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.ActiveSessionBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The engine's settings (verification/conf.py has each one's default and what it is for): the
# environment may set any of those that are numbers, flags or text; the rest keep the default.
for _name, _default in engine_conf.DEFAULTS.items():
    if _name in env.ENVIRON and isinstance(_default, int | float | str):
        globals()[_name] = env.get_value(_name, cast=type(_default))
# No cap on the send rate by default (None), so its type is said here.
VERIFICATION_MAIL_RATE = env.float("VERIFICATION_MAIL_RATE", default=None)

# How long the site's codes and links live (see SECURITY.md 1-4).
VERIFICATION_CODE_TTL = env.int("VERIFICATION_CODE_TTL", default=10 * 60)
VERIFICATION_ACTIVATION_TTL = env.int("VERIFICATION_ACTIVATION_TTL", default=24 * 60 * 60)
# Sign-in by an emailed code: on or off, and how long such a code lives.
VERIFICATION_LOGIN_BY_CODE = env.bool("VERIFICATION_LOGIN_BY_CODE", default=True)
# Sign-up asks for a username; false: the address alone (people sign in with it, and the
# account gets an opaque username nobody sees), as allauth's ACCOUNT_SIGNUP_FIELDS allows.
VERIFICATION_SIGNUP_USERNAME = env.bool("VERIFICATION_SIGNUP_USERNAME", default=True)
VERIFICATION_LOGIN_CODE_TTL = env.int("VERIFICATION_LOGIN_CODE_TTL", default=10 * 60)
# After an address change, the old address may undo it for this long.
VERIFICATION_EMAIL_UNDO_TTL = env.int("VERIFICATION_EMAIL_UNDO_TTL", default=7 * 24 * 60 * 60)
# A never-activated account is deleted this long after its sign-up: its link is dead by then.
VERIFICATION_UNACTIVATED_RETENTION = env.int(
    "VERIFICATION_UNACTIVATED_RETENTION", default=VERIFICATION_ACTIVATION_TTL + 24 * 60 * 60
)
# How many proxies in front of the site append to X-Forwarded-For. 0: use the socket's address
# and ignore the header, which any client can write. Production must say (0 included): behind
# a proxy, a wrong 0 puts every client in one bucket, and one client can then lock out all.
TRUSTED_PROXY_COUNT = required("TRUSTED_PROXY_COUNT", dev_default=0, cast=int)

# Mail. With no EMAIL_HOST (development), the worker prints each mail and keeps a copy in
# DEV_MAILBOX_DIR for the staff-only page /dev/mailbox/; production must set EMAIL_HOST.
# docs/configuration.md, "Sending real mail", shows QQ Mail (SSL, 465) and 163 settings.
EMAIL_HOST = required("EMAIL_HOST", dev_default="")
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "site_config.dev_mailbox.DevMailboxBackend",
)
DEV_MAILBOX_DIR = env.path("DEV_MAILBOX_DIR", default=BASE_DIR / "var" / "mailbox")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default=EMAIL_HOST_USER or "webmaster@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Shown in pages and mail as the place to ask for help: the bare address, never "Name <addr>"
# (a display name in the text of a mail is what phishing looks like).
SUPPORT_EMAIL = parseaddr(env("SUPPORT_EMAIL", default=DEFAULT_FROM_EMAIL))[1]
if EMAIL_USE_SSL and EMAIL_USE_TLS:
    raise ImproperlyConfigured("Set EMAIL_USE_SSL (port 465) or EMAIL_USE_TLS (587), not both.")

# django-anymail, to send through an ESP's API (EMAIL_BACKEND=anymail.backends.<esp>.EmailBackend)
# and hear its bounces and complaints at /anymail/<esp>/tracking/ (verification/esp_events.py):
# e.g. ANYMAIL=MAILGUN_API_KEY=…,MAILGUN_SENDER_DOMAIN=mg.example.org,MAILGUN_WEBHOOK_SIGNING_KEY=…
ANYMAIL = env.dict("ANYMAIL", default={})

# Django-Q2 as the engine has it (verification/conf.py), with the job timeout and the number of
# workers from the environment.
Q_TIMEOUT = env.int("Q_TIMEOUT", default=60)
if Q_TIMEOUT <= 4 * EMAIL_TIMEOUT:
    # A mail job starts no send after Q_TIMEOUT / 2, and its last one may wait EMAIL_TIMEOUT
    # twice (send, reconnect, send): it must end before Django-Q2 stops it half-way.
    raise ImproperlyConfigured("Q_TIMEOUT must be more than four times EMAIL_TIMEOUT.")
Q_CLUSTER = {
    **engine_conf.Q_CLUSTER,
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": Q_TIMEOUT,
    "retry": 2 * Q_TIMEOUT,
}

# The JSON API (accounts/api/). Front ends on other origins: an allow-list, never "*", since
# cookie clients send credentials; CSRF accepts POSTs from the origins listed here.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_CREDENTIALS = True
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = (*default_headers, "x-session-token")
CORS_EXPOSE_HEADERS = ["Retry-After"]
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Links in mail for a site whose pages live in a separate front end: URL templates by name
# (JSON), e.g. {"activate": "https://app.example.com/activate/{token}"}. Left out: this site's
# pages. Built from settings alone, never from a request (accounts/mail.py).
FRONTEND_LINKS = {
    "activate": {"token"},
    "reset": set(),
    "sign_in_code": {"email", "code"},
    "undo": {"token"},
    "sign_in": set(),
}
VERIFICATION_FRONTEND_URLS = env.json("VERIFICATION_FRONTEND_URLS", default={})
for _name, _template in VERIFICATION_FRONTEND_URLS.items():
    if _name not in FRONTEND_LINKS:
        raise ImproperlyConfigured(f"VERIFICATION_FRONTEND_URLS: unknown link {_name!r}.")
    try:
        _template.format(**{field: "x" for field in FRONTEND_LINKS[_name]})
    except (KeyError, IndexError, ValueError) as error:
        raise ImproperlyConfigured(f"VERIFICATION_FRONTEND_URLS[{_name!r}]: {error!r}") from None

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文"), ("zh-hant", "繁體中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
# In production WhiteNoise serves the files `collectstatic` gathered, under hashed names with
# compressed copies; in development (and the tests) Django finds them in the apps.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env(
            "STATICFILES_BACKEND",
            default="django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# HTTPS only when DEBUG is off. Behind a TLS-terminating proxy, set SECURE_PROXY_SSL_HEADER
# there (docs/configuration.md) rather than trusting X-Forwarded-Proto by default.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 60 * 60 * 24 * 365)
# Every subdomain must serve HTTPS too; set both to false where that is not so.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
# Load balancers probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The language cookie travels like the session cookie.
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # On the handler, so that every logger's records pass it (django.security.csrf logs the
    # path of a refused activation link, for one).
    "filters": {"redact_tokens": {"()": "site_config.log_filters.RedactActivationTokens"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_tokens"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own handlers for these (console in DEBUG, mail to ADMINS) are replaced:
        # their records reach the console handler above, through the root.
        "django": {"handlers": [], "propagate": True},
        "django.server": {"handlers": [], "propagate": True},
    },
}
