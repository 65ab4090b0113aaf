"""The configuration of a PgBouncer in transaction mode in front of a PostgreSQL server, as
bin/test's third pass runs it: `python -m harness.pgbouncer DIR SERVER_URL` writes
DIR/pgbouncer.ini (and its user list) and prints the URL that clients use instead of SERVER_URL.

Every database name goes through (`*`), so the test databases that pytest-django and the
process tests create are reachable through it too. PgBouncer trusts its clients (it listens on
127.0.0.1 only) and logs in to the server with SERVER_URL's user and password.
"""

import os
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from harness.smtp_sink import free_port

CONFIG = """\
[databases]
* = host={host} port={port}{password}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen_port}
unix_socket_dir =
pool_mode = transaction
auth_type = trust
auth_file = {directory}/userlist.txt
; the three-cluster test runs 3 x 2 workers, a broker and a monitor each, and the test itself
max_client_conn = 400
default_pool_size = 20
; psycopg and libpq may send these at start-up; PgBouncer tracks only a few parameters itself
ignore_startup_parameters = extra_float_digits,options
pidfile = {directory}/pgbouncer.pid
logfile = {directory}/pgbouncer.log
{run_as}"""


def write_config(directory: Path, server_url: str) -> str:
    """Write the configuration into `directory`; return the URL clients connect to."""
    server = urlsplit(server_url)
    user = unquote(server.username or "postgres")
    password = f" password={unquote(server.password)}" if server.password else ""
    listen_port = free_port()
    # PgBouncer refuses to run as root.
    run_as = "user = nobody\n" if os.geteuid() == 0 else ""
    (directory / "pgbouncer.ini").write_text(
        CONFIG.format(
            host=server.hostname or "127.0.0.1",
            port=server.port or 5432,
            password=password,
            listen_port=listen_port,
            directory=directory,
            run_as=run_as,
        )
    )
    (directory / "userlist.txt").write_text(f'"{user}" ""\n')
    database = server.path.lstrip("/") or "postgres"
    return f"postgres://{server.username or 'postgres'}@127.0.0.1:{listen_port}/{database}"


if __name__ == "__main__":
    print(write_config(Path(sys.argv[1]), sys.argv[2]))
