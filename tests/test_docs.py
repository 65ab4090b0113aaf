"""The docs name code, tests, files and settings: every name must exist, or the docs say more
than the code does. README.md, docs/*.md and bench/README.md are read; text in fenced blocks
(shell examples) is not."""

import importlib
import re
import subprocess
from functools import cache

import pytest

from harness.processes import ROOT
from verification import conf as engine_conf

DOCS = [ROOT / "README.md", ROOT / "bench" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Backticked words that look like code but name none of ours: values, other programs' names.
NOT_OUR_CODE = {
    "max_attempts",  # Django-Q2's option, set in the Q_CLUSTER dict
    "ack_failures",  # Django-Q2's option
    "server_side_binding",  # psycopg's option in Django's OPTIONS, left unset
    "make_msgid",  # email.utils
    "salted_hmac",  # django.utils.crypto
    "constant_time_compare",
    "set_password",  # Django's User
    "url_has_allowed_host_and_scheme",
    "sensitive_post_parameters",
    "never_cache",
    "select_for_update",
    "transaction.atomic",
    "transaction.on_commit",
    "transaction_mode",
    "username__iexact",
    "email.utils.make_msgid",
    "flufl.bounce",
    "sync_to_async",
    "CaptureQueriesContext",
    "URLSafeTimedSerializer",
    "LoginView",
    "SSLCertVerificationError",
    "pg_total_relation_size",
    "generate_series",
    "django.po",
    "django.mo",
    "django_session",  # Django's table
}
# Paths the site makes at run time (git ignores them), not in a checkout.
MADE_AT_RUN_TIME = {
    ".venv",
    "db.sqlite3",
    "var/mailbox",
    "var/axe",
    "test-artifacts",
    "test-artifacts/screenshots",
    "staticfiles",
}
FILE_ENDINGS = r"py|md|txt|html|js|css|toml|ini|service|po|mo|png|json|sh|sqlite3"
DOMAINS = r"[\w.-]+\.(?:example|com|org|net|cn)"


def backticked_spans(path):
    """Every `span` in a doc, with fenced blocks left out."""
    prose = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)
    return re.findall(r"`([^`\n]+)`", prose)


@cache
def tracked_files():
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout
    return [ROOT / name for name in listed.splitlines()]


@cache
def code_text():
    """All the code a doc may name: Python, templates, scripts, bin/ (this file's allow-list aside)."""
    this = ROOT / "tests" / "test_docs.py"
    return "\n".join(
        path.read_text()
        for path in tracked_files()
        if (path.suffix in {".py", ".html", ".txt", ".js"} or path.parent.name == "bin")
        and path != this
        and path.is_file()
    )


def is_path(span):
    return bool(re.fullmatch(rf"(?:[\w.-]+/)+[\w.*-]*|[\w-]+\.(?:{FILE_ENDINGS})", span))


def path_exists(span):
    span = span.rstrip("/")
    if span in MADE_AT_RUN_TIME:
        return True
    if (ROOT / span).exists() or list(ROOT.glob(span)):
        return True
    # A bare file or folder name ("test_outbox.py", "views/"): anywhere in the tree.
    return "/" not in span and any(span in path.relative_to(ROOT).parts for path in tracked_files())


def looks_like_code(span):
    name = span.removesuffix("()")
    return not re.fullmatch(DOMAINS, name) and bool(
        re.fullmatch(r"_*[a-z][a-z0-9]*(?:_[a-z0-9]+)+", name)  # snake_case
        or re.fullmatch(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+", name)  # SETTING_NAME
        or re.fullmatch(r"[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+", name)  # CamelCase
        or re.fullmatch(r"_*[A-Za-z]\w*(?:\.[A-Za-z_]\w*)+", name)  # module.attr
    )


def resolves(dotted):
    """`a.b.c` names something importable, or an attribute of a class or module of ours."""
    parts = dotted.split(".")
    heads = [[], *[[package] for package in ("verification", "accounts", "site_config", "harness")]]
    heads += [[module] for module in modules_defining(parts[0])]
    for head in heads:
        names = head + parts
        for split in range(len(names), 0, -1):
            try:
                found = importlib.import_module(".".join(names[:split]))
            except ImportError:
                continue
            try:
                for attribute in names[split:]:
                    found = getattr(found, attribute)
            except AttributeError:
                break
            return True
    return False


def modules_defining(name):
    """The modules of ours with a top-level `class name` or `def name`."""
    return [
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in tracked_files()
        if path.suffix == ".py" and re.search(rf"^(?:class|def) {name}\b", path.read_text(), flags=re.M)
    ]


def name_exists(span):
    name = span.removesuffix("()")
    if name in NOT_OUR_CODE:
        return True
    if "." in name:  # importable, or a dotted string of ours (a check's id)
        return resolves(name) or f'"{name}"' in code_text()
    return bool(re.search(rf"\b{re.escape(name)}\b", code_text()))


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_path_named_in_the_docs_exists(doc):
    spans = backticked_spans(doc)
    assert [span for span in spans if is_path(span) and not path_exists(span)] == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_picture_and_link_in_the_docs_is_there(doc):
    targets = re.findall(r'src="([^"]+)"|\]\(([^)#]+)\)', doc.read_text())
    local = [target for pair in targets for target in pair if target and "://" not in target]
    assert [target for target in local if not (doc.parent / target).exists()] == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_identifier_named_in_the_docs_is_in_the_code(doc):
    spans = {span for span in backticked_spans(doc) if not is_path(span) and looks_like_code(span)}
    assert sorted(span for span in spans if not name_exists(span)) == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_test_named_in_the_docs_exists(doc):
    missing = []
    for line in doc.read_text().splitlines():
        module = None
        for named_module, name in re.findall(r"`(test_\w+)?::(test_\w+|\*)`", line):
            module = named_module or module  # "`::test_x`" is in the module named before it
            source = ROOT / "tests" / f"{module}.py"
            if not source.exists() or (name != "*" and f"def {name}(" not in source.read_text()):
                missing.append(f"{module}::{name}")
    assert missing == []


def test_every_plain_default_in_the_configuration_doc_is_the_settings_default():
    settings = (ROOT / "site_config" / "settings.py").read_text()
    compared, wrong = 0, []
    for name, documented in re.findall(r"^- `(\w+)`: default `([\w.]+)`", configuration_doc(), flags=re.M):
        source = re.search(rf'"{name}",\s*default=([\d\s*+.]+|True|False)[,)]', settings)
        if source:  # an arithmetic or boolean default; the others are described in words
            value = eval(source.group(1), {"__builtins__": {}}, {"True": True, "False": False})
        elif isinstance(engine_conf.DEFAULTS.get(name), int | float):  # the engine's own default
            value = engine_conf.DEFAULTS[name]
        else:
            continue
        compared += 1
        if str(value).lower() != documented.lower() and str(value) != f"{documented}.0":
            wrong.append(f"{name}: documented {documented}, the default {value}")
    assert compared > 30
    assert wrong == []


def configuration_doc():
    return (ROOT / "docs" / "configuration.md").read_text()


def test_every_setting_in_the_configuration_doc_is_read_by_the_settings():
    settings = (ROOT / "site_config" / "settings.py").read_text()
    documented = set()
    for line in configuration_doc().splitlines():
        if line.startswith("- `"):  # a setting's entry: "- `NAME` (default ...): meaning"
            documented |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split(":")[0]))
    assert len(documented) > 40
    # The engine's settings of plain types are read from the environment in one loop.
    from_the_engine = {
        name for name, value in engine_conf.DEFAULTS.items() if isinstance(value, int | float | str)
    }
    assert (
        sorted(name for name in documented if f'"{name}"' not in settings and name not in from_the_engine)
        == []
    )
