"""docs/security.md maps each line of the threat model to code and tests: the names it gives
must exist, or the map says more than the suite proves."""

import re

from harness.processes import ROOT


def test_every_test_and_file_named_in_the_security_map_exists():
    missing = []
    for line in (ROOT / "docs" / "security.md").read_text().splitlines():
        module = None
        for named_module, name in re.findall(r"`(test_\w+)?::(test_\w+)`", line):
            module = named_module or module  # "`::test_x`" is in the module named before it
            source = ROOT / "tests" / f"{module}.py"
            if not source.exists() or f"def {name}(" not in source.read_text():
                missing.append(f"{module}::{name}")
        missing += [
            path
            for path in re.findall(r"`((?:accounts|verification|site_config)/[\w/.]+)`", line)
            if not (ROOT / path).exists()
        ]
    assert missing == []
