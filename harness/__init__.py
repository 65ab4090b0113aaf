"""What the tests and the benchmarks both drive: the site's processes (gunicorn, qcluster,
manage.py) on a scratch database, a real SMTP server, and a small HTTP client."""
