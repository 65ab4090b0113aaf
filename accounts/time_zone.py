"""The time zone a person reads times in: chosen on the account page, else their language's."""

import zoneinfo

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User

DEFAULT_FOR_LANGUAGE = {"zh-hans": "Asia/Shanghai", "zh-hant": "Asia/Taipei"}
ZONES = sorted(zoneinfo.available_timezones() - {"localtime"})


def time_zone_of(user: User, *, page_language: str) -> str:
    """The IANA name of the zone to show `user` times in: chosen, else their language's (the
    page's, for an account with no language stored)."""
    return user.time_zone or DEFAULT_FOR_LANGUAGE.get(user.language or page_language, "UTC")


def set_time_zone(*, user: User, time_zone: str) -> None:
    """Store the zone the person chose (a name from ZONES), for the times their pages show."""
    user.time_zone = time_zone
    User.objects.filter(pk=user.pk).update(time_zone=time_zone)


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=[(zone, zone) for zone in ZONES])
