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
