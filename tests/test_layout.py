"""The architecture the layout shows: `verification` is the engine (secrets, outbox, limits,
delivery) and `accounts` the app that uses it. The engine never imports the app, nor speaks
its words: the app registers them (verification/registry.py)."""

import ast

from harness.processes import ROOT


def imported_modules(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module


def test_the_verification_engine_never_imports_the_accounts_app():
    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in sorted((ROOT / "verification").rglob("*.py"))
        for module in imported_modules(path)
        if module == "accounts" or module.startswith("accounts.")
    ]
    assert offenders == []


def test_the_outbox_a_request_writes_to_knows_nothing_of_the_workers_delivery():
    assert not [m for m in imported_modules(ROOT / "verification" / "outbox.py") if "delivery" in m]


def test_the_import_check_sees_imports_in_both_spellings():
    imports = set(imported_modules(ROOT / "accounts" / "services.py"))
    assert {"verification.outbox", "django.db"} <= imports


def engine_sources():
    """The engine's code; its migrations are history, and keep the names they were written with."""
    return [path for path in sorted((ROOT / "verification").rglob("*.py")) if "migrations" not in path.parts]


def app_words_in(path, words):
    """The app's names that `path` spells as a string, or as an identifier (`EMAIL_CHANGE`)."""
    identifiers = {word.upper() for word in words}
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Constant) and node.value in words:
            yield node.value
        elif isinstance(node, ast.Name) and node.id in identifiers:
            yield node.id
        elif isinstance(node, ast.Attribute) and node.attr in identifiers:
            yield node.attr


def test_the_engine_speaks_none_of_the_words_the_app_registers():
    from verification import registry

    words = {*registry.purpose_names(), *registry.mail_kind_names()}
    assert {"login", "password_reset", "email_changed"} <= words  # the app registered them
    offenders = [
        f"{path.relative_to(ROOT)}: {word}" for path in engine_sources() for word in app_words_in(path, words)
    ]
    assert offenders == []


def test_the_vocabulary_check_sees_strings_and_identifiers(tmp_path):
    spelled = tmp_path / "spelled.py"
    spelled.write_text('if purpose == "login" or kind == Kind.EMAIL_CHANGED or LOGIN:\n    pass\n')
    assert sorted(app_words_in(spelled, {"login", "email_changed"})) == ["EMAIL_CHANGED", "LOGIN", "login"]


# What the app and the site may use of the engine: its public API (docs/engine.md). Anything
# else they reach for is the engine's to change without notice; add to this list on purpose.
ENGINE_API = {
    "verification.tokens": {
        "open_code_challenge", "write_code", "last_code_challenge", "guess_code", "guess_wait",
        "count_wrong_guess", "lock_wrong_guesses", "asked_code_challenge", "revoke_secrets",
        "issue_link_token", "read_link_token", "consume_link_token",
        "InvalidCode", "InvalidLink", "TooManyGuesses",
    },
    "verification.outbox": {"queue_email", "delivery_stats"},
    "verification.ratelimit": {"hit", "spend", "refund", "seconds_until_allowed", "Scope", "client_network"},
    "verification.registry": {"register_code_purpose", "register_link_purpose", "register_mail_kind"},
    "verification.signals": {"send_after_commit"},
    "verification.suppression": {"undelivered_reason", "retry_offered", "retry_address"},
    "verification.clock": {"now"},
    "verification.retention": {"delete_in_batches"},
    "verification.checks": {"anymail_esp"},
    "verification.conf": {"DEFAULTS", "Q_CLUSTER"},  # the settings' defaults, which a project overrides
    "verification.models": {"OneTimeSecret"},  # the type of a challenge
}  # fmt: skip


def engine_names_used(path):
    """(module, name) for each name of the engine that `path` uses: imported from one of its
    modules, or read as an attribute of one it imported whole."""
    tree = ast.parse(path.read_text(), filename=str(path))
    whole = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("verification"):
            for alias in node.names:
                if node.module == "verification":
                    whole[alias.asname or alias.name] = f"verification.{alias.name}"
                else:
                    yield node.module, alias.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in whole:
            yield whole[node.value.id], node.attr


def test_the_app_and_the_site_use_only_the_engines_public_api():
    users = [ROOT / "accounts", ROOT / "site_config"]
    reaching = sorted(
        f"{path.relative_to(ROOT)}: {module}.{name}"
        for folder in users
        for path in folder.rglob("*.py")
        if "migrations" not in path.parts
        for module, name in engine_names_used(path)
        if name not in ENGINE_API.get(module, ())
    )
    assert reaching == []


def test_the_api_check_sees_both_spellings(tmp_path):
    used = tmp_path / "used.py"
    used.write_text(
        "from verification import tokens\nfrom verification.outbox import _claim\ntokens._digests()\n"
    )
    assert sorted(engine_names_used(used)) == [
        ("verification.outbox", "_claim"),
        ("verification.tokens", "_digests"),
    ]
