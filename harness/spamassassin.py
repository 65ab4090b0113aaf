"""A real spam filter for the tests: Debian's SpamAssassin, run offline on a message's raw
bytes (`spamassassin -L`: local rules only, no DNS blocklist, no URI lookup, no DKIM or SPF
query), with the rules its package ships and no one's preferences."""

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SPAMASSASSIN = shutil.which("spamassassin") or "/usr/bin/spamassassin"

# "X-Spam-Status: No, score=-0.1 required=5.0 tests=HTML_MESSAGE,\n\tNO_RELAYS autolearn=..."
_STATUS = re.compile(r"^X-Spam-Status: \w+, score=(-?[\d.]+) ", re.M)
# A row of the report's table: " 0.6 MISSING_MID            Missing Message-Id: header"
_RULE = re.compile(r"^ ?(-?[\d.]+) ([A-Z][A-Z0-9_]+) +(.*)$", re.M)
_TABLE = "---- ---------------------- "


@dataclass
class Verdict:
    score: float
    rules: dict[str, str]  # each rule that fired: "MISSING_MID": "0.6 Missing Message-Id: header"

    def __str__(self):
        return "\n".join([f"score {self.score}:", *(f"  {name} {said}" for name, said in self.rules.items())])


def unavailable_reason() -> str:
    """Why SpamAssassin cannot run here ("" when it can)."""
    if not Path(SPAMASSASSIN).exists():
        return "SpamAssassin is not installed (bin/setup installs Debian's spamassassin as root with apt)"
    return ""


def score(raw: bytes) -> Verdict:
    """SpamAssassin's score of an RFC 5322 message, and the rules that fired."""
    with tempfile.TemporaryDirectory(prefix="spamassassin-") as home:
        prefs = Path(home) / "user_prefs"
        prefs.touch()
        # -L: no network; -t: add the report; -x -p: this empty file for the user's settings.
        result = subprocess.run(
            [SPAMASSASSIN, "-L", "-t", "-x", "-p", str(prefs)],
            input=raw,
            capture_output=True,
            timeout=120,
            check=True,
            env={"HOME": home, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        )
    out = result.stdout.decode("utf-8", "replace")
    status = _STATUS.search(out)
    assert status, f"no X-Spam-Status in SpamAssassin's output:\n{out}\n{result.stderr.decode()}"
    table = out.rpartition(_TABLE)[2]  # the report comes last, after the message
    rules = {name: f"{points} {said}" for points, name, said in _RULE.findall(table)}
    return Verdict(score=float(status.group(1)), rules=rules)
