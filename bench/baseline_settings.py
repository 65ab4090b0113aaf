"""The site's settings plus one extra URL: the tutorial-style reset view, for comparison only."""

from site_config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.baseline_urls"
