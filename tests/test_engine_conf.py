"""The engine's defaults (verification/conf.py): a project sets only what it changes."""

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from verification import conf


def test_the_engine_gives_each_setting_the_project_left_out_its_default(settings):
    del settings.VERIFICATION_GUESSES_MAX, settings.VERIFICATION_MAIL_COMPOSERS
    settings.VERIFICATION_CODE_LENGTH = 8

    conf.apply_defaults()

    assert settings.VERIFICATION_GUESSES_MAX == 100
    assert settings.VERIFICATION_MAIL_COMPOSERS == {}
    assert settings.VERIFICATION_MAIL_COMPOSERS is not conf.DEFAULTS["VERIFICATION_MAIL_COMPOSERS"]
    assert settings.VERIFICATION_CODE_LENGTH == 8  # the project's own value stays


def test_a_default_cluster_after_django_q_read_its_settings_is_refused(settings):
    del settings.Q_CLUSTER  # django_q.conf was imported with the site's Q_CLUSTER

    with pytest.raises(ImproperlyConfigured, match="Q_CLUSTER"):
        conf.apply_defaults()


def test_the_site_url_that_message_ids_are_named_after_is_required(settings):
    del settings.SITE_URL

    assert [error.id for error in checks.run_checks() if error.id.startswith("verification.")] == [
        "verification.E010"
    ]
