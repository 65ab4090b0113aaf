from django.conf import settings


def site(request):
    """Put the site's name and the verification limits (for the help texts) on every page."""
    return {
        "site_name": settings.SITE_NAME,
        "code_length": settings.VERIFICATION_CODE_LENGTH,
        "code_valid_minutes": settings.VERIFICATION_CODE_TTL // 60,
        "link_valid_hours": settings.VERIFICATION_ACTIVATION_TTL // 3600,
    }
