"""One canonical form for every mailbox (SECURITY.md 11 and 19).

Look-alike spellings of one address ("Victim@EXAMPLE.com", a full-width domain, a Unicode
domain and its punycode) must not make two accounts or two rate-limit keys, and what the site
stores, compares, limits and mails must be the address that mail really goes to. So:

- the domain becomes its IDNA A-label (UTS #46 mapping, which folds case and full-width
  letters), and what IDNA refuses is refused; invisible format characters (zero-width space,
  joiners, soft hyphen) are refused outright rather than silently dropped;
- the local part must be plain ASCII: Django's SMTP backend cannot deliver anything else, and
  Unicode look-alikes (the Kelvin sign, long s, dotless i) fold differently in Python and in
  PostgreSQL;
- the whole address is lower-cased, so the unique key is case-insensitive on every database.
"""

import re
import unicodedata

import idna
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

MAX_LENGTH = 254
# RFC 5322 dot-atom characters: what every provider delivers. Quoted local parts are refused.
LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")

ERRORS = {
    "invalid": _("Enter a valid email address."),
    "local_part": _(
        "The part before the @ can only use unaccented Latin letters, digits and signs such as . _ + -"
    ),
    "domain": _("The part after the @ is not a domain name that mail can be sent to."),
    "max_length": _("An email address has at most 254 characters."),
}


def canonical_email(value: str) -> str:
    """The one stored form of the address `value`, or ValidationError with a code from ERRORS."""
    value = value.strip()
    if len(value) > 4 * MAX_LENGTH:  # refuse before doing any Unicode work on a huge value
        raise _error("max_length")
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        raise _error("invalid")
    # Checked before lower-casing: "\u212a".lower() is an ASCII "k".
    if not LOCAL_PART.fullmatch(local):
        raise _error("local_part")
    address = f"{local.lower()}@{_a_label(domain)}"
    if len(address) > MAX_LENGTH:
        raise _error("max_length")
    try:
        validate_email(address)
    except ValidationError:
        raise _error("invalid") from None
    return address


# Providers known to deliver "f.irst.last@" to "firstlast@", and to take either domain.
DOTS_IGNORED = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def inbox_key(address: str) -> str:
    """The inbox a canonical `address` reaches, for rate limits only: without its "+tag", and
    without the dots of providers that ignore them. Mail still goes to the address as stored,
    but "inbox+1@", "inbox+2@"... share one inbox's allowance."""
    local, _, domain = address.rpartition("@")
    local = local.split("+", 1)[0] or local
    if domain in DOTS_IGNORED:
        local, domain = local.replace(".", "") or local, DOTS_IGNORED[domain]
    return f"{local}@{domain}"


def _a_label(domain: str) -> str:
    if any(unicodedata.category(char) in ("Cf", "Cc", "Zs") for char in domain):
        raise _error("domain")
    try:
        return idna.encode(domain, uts46=True, std3_rules=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise _error("domain") from None


def _error(code: str) -> ValidationError:
    return ValidationError(ERRORS[code], code=code)


def shown_email(address: str) -> str:
    """The canonical `address` as people write it, its domain in Unicode (例子.测试, not
    xn--fsqu00a.xn--0zwm56d): for pages and mail bodies only; storage and SMTP keep the A-label."""
    local, _, domain = address.rpartition("@")
    try:
        return f"{local}@{idna.decode(domain)}"
    except (idna.IDNAError, UnicodeError):
        return address
