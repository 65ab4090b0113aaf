"""The architecture the layout shows: `verification` is the engine (secrets, outbox, limits,
delivery) and `accounts` the app that uses it. The engine never imports the app."""

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
