from django.conf import settings


def site(request):
    """Put the site's name, support address and the verification limits (for the help texts) on every page."""
    return {
        # Not "site_name": Django's auth views put the request's host under that name.
        "site_title": settings.SITE_NAME,
        "support_email": settings.SUPPORT_EMAIL,
        "code_length": settings.VERIFICATION_CODE_LENGTH,
        "code_valid_minutes": settings.VERIFICATION_CODE_TTL // 60,
        "login_by_code": settings.VERIFICATION_LOGIN_BY_CODE,
        "signup_username": settings.VERIFICATION_SIGNUP_USERNAME,
        "login_code_valid_minutes": settings.VERIFICATION_LOGIN_CODE_TTL // 60,
        "link_valid_hours": settings.VERIFICATION_ACTIVATION_TTL // 3600,
    }
