"""A real IMAP server for the tests: Debian's Dovecot, started on 127.0.0.1 on a free port
from a temporary configuration (one passwd-file user, Maildir under the temporary directory,
IMAPS with a certificate from `trustme`), and stopped by its pid."""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from harness.smtp_sink import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "bounces@verify.example.org", "authorization-code"

_CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
default_login_user = {login_user}
default_internal_user = {internal_user}
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
auth_mechanisms = plain
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
first_valid_uid = 1
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
  }}
}}
"""


def unavailable_reason() -> str:
    """Why Dovecot cannot run here ("" when it can)."""
    if not os.path.exists(DOVECOT):
        return "Dovecot is not installed (bin/setup installs dovecot-imapd as root with apt)"
    if os.geteuid() != 0:
        return "Dovecot's login processes need root to drop to their own users"
    return ""


class Dovecot:
    """`with Dovecot(ca) as server:` serves `server.port` until the block ends. Its files live
    in a directory of its own under /tmp (Dovecot's users must reach them; pytest's tmp_path
    is the owner's alone), removed at the end."""

    def __init__(self, ca):
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-"))
        self.ca = ca
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        root = self.root
        for name in ("run", "state", "home"):
            (root / name).mkdir(parents=True, exist_ok=True)
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        cert.private_key_pem.write_to_path(str(root / "key.pem"))
        cert.cert_chain_pems[0].write_to_path(str(root / "cert.pem"))
        (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        # Dovecot keeps no mail as root: as root, the mailbox belongs to Dovecot's own user.
        uid, gid = (pwd.getpwnam("dovecot")[2:4]) if os.geteuid() == 0 else (os.getuid(), os.getgid())
        os.chown(root / "home", uid, gid)
        (root / "dovecot.conf").write_text(
            _CONFIG.format(
                root=root,
                port=self.port,
                uid=uid,
                gid=gid,
                login_user="dovenull",
                internal_user="dovecot",
            )
        )
        os.chmod(root, 0o755)  # the login processes, as dovenull, reach their sockets here
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")])
        self._wait_until_listening()
        return self

    def _wait_until_listening(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Dovecot stopped: {(self.root / 'dovecot.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("Dovecot did not listen within 10 s")

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"imaps://{USER.replace('@', '%40')}:{PASSWORD}@127.0.0.1:{self.port}/INBOX"
