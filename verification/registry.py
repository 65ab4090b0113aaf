"""The words of the app that uses the engine: its purposes (what a code or a link proves) and
its kinds of mail. The app declares them in its `AppConfig.ready()`; the engine's rows store
their names as plain strings, so a new flow needs no migration here, and the engine knows none
of them (tests/test_layout.py).

    registry.register_code_purpose("delete_account", label=_("deletion code"),
                                   ttl_setting="MYAPP_CODE_TTL")
    registry.register_mail_kind("deletion_code", label=_("deletion code"), waited_for=True,
                                composer="myapp.mail.compose")
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils.functional import Promise


@dataclass(frozen=True)
class _Purpose:
    name: str
    label: str | Promise
    ttl_setting: str  # the setting that holds a code's or link's lifetime, in seconds

    @property
    def ttl(self) -> int:
        return getattr(settings, self.ttl_setting)


@dataclass(frozen=True)
class CodePurpose(_Purpose):
    pass


@dataclass(frozen=True)
class LinkPurpose(_Purpose):
    salt: str  # one itsdangerous salt per purpose: a token for one is void for another
    replaces_older: bool  # a new link of the purpose kills the user's older ones


@dataclass(frozen=True)
class MailKind:
    name: str
    label: str | Promise
    # Claimed before other mail, whatever was queued earlier: someone is waiting for the code
    # or link it carries (it ages while it waits), or must hear at once that someone changed
    # their account.
    waited_for: bool
    composer: str  # dotted path of a callable OutboundEmail -> EmailMessage

    @property
    def priority(self) -> int:
        """The outbox's order: lower is claimed first."""
        return 0 if self.waited_for else 1


_purposes: dict[str, CodePurpose | LinkPurpose] = {}
_mail_kinds: dict[str, MailKind] = {}


def _register(table, entry):
    if table.get(entry.name, entry) != entry:
        raise ValueError(f"{entry.name!r} is already registered, differently: {table[entry.name]}")
    table[entry.name] = entry


def register_code_purpose(name: str, *, label: str | Promise, ttl_setting: str) -> None:
    _register(_purposes, CodePurpose(name, label, ttl_setting))


def register_link_purpose(
    name: str, *, label: str | Promise, salt: str, ttl_setting: str, replaces_older: bool
) -> None:
    _register(_purposes, LinkPurpose(name, label, ttl_setting, salt=salt, replaces_older=replaces_older))


def register_mail_kind(name: str, *, label: str | Promise, waited_for: bool, composer: str) -> None:
    _register(_mail_kinds, MailKind(name, label, waited_for, composer))


def code_purpose(name: str) -> CodePurpose:
    """The registered code purpose `name`; LookupError for any other name."""
    entry = _purposes.get(name)
    if not isinstance(entry, CodePurpose):
        raise LookupError(f"{name!r} is no registered code purpose")
    return entry


def link_purpose(name: str) -> LinkPurpose:
    entry = _purposes.get(name)
    if not isinstance(entry, LinkPurpose):
        raise LookupError(f"{name!r} is no registered link purpose")
    return entry


def mail_kind(name: str) -> MailKind:
    try:
        return _mail_kinds[name]
    except KeyError:
        raise LookupError(f"{name!r} is no registered mail kind") from None


def composer_of(kind: str) -> str:
    """The dotted path of what writes a mail of `kind`: the project's own for it
    (VERIFICATION_MAIL_COMPOSERS), else the one it was registered with."""
    return settings.VERIFICATION_MAIL_COMPOSERS.get(kind) or mail_kind(kind).composer


def purpose_label(name: str) -> str | Promise:
    """What staff read for a stored purpose (the name itself, for one no longer registered)."""
    entry = _purposes.get(name)
    return entry.label if entry else name


def mail_kind_label(name: str) -> str | Promise:
    entry = _mail_kinds.get(name)
    return entry.label if entry else name


def mail_kind_names() -> list[str]:
    return list(_mail_kinds)


def purpose_names() -> list[str]:
    return list(_purposes)
