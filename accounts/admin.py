from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.forms import AdminLoginForm
from accounts.models import User

# The admin's sign-in page is throttled like the site's.
admin.site.login_form = AdminLoginForm


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "is_active", "email_verified_at", "is_staff", "date_joined"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    readonly_fields = ["email_verified_at", "last_login", "date_joined"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        ("Verification", {"fields": ["email_verified_at"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["username", "email", "password1", "password2"]}),
    ]
