from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import services
from accounts.forms import AdminLoginForm
from accounts.models import EmailChange, User
from accounts.vocabulary import MailKind, Purpose

# The admin's sign-in page is throttled like the site's.
admin.site.login_form = AdminLoginForm


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "is_active", "email_verified_at", "is_staff", "date_joined"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    readonly_fields = ["email_verified_at", "password_changed_at", "last_login", "date_joined"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        (_("Verification"), {"fields": ["email_verified_at", "password_changed_at"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["username", "email", "password1", "password2"]}),
    ]
    actions = ["send_activation_link", "send_password_reset_code"]

    # Staff send what the person could ask for themselves, to the stored address; the secret
    # is made in the worker and never shown here.
    @admin.action(description=_("Send an activation link again"), permissions=["change"])
    def send_activation_link(self, request, queryset):
        waiting = [user for user in queryset if user.awaits_activation]
        self._send(request, waiting, MailKind.ACTIVATION, Purpose.ACTIVATION)

    @admin.action(description=_("Send a password reset code"), permissions=["change"])
    def send_password_reset_code(self, request, queryset):
        recovering = [user for user in queryset if services.may_recover(user)]
        self._send(request, recovering, MailKind.PASSWORD_RESET, Purpose.PASSWORD_RESET)

    def _send(self, request, users, kind, purpose):
        sent = sum(services.mail_from_staff(user=user, kind=kind, purpose=purpose) for user in users)
        self.message_user(
            request,
            ngettext("%d mail queued.", "%d mails queued.", sent) % sent
            + (" " + _("Others were held back by the address's mail limits.") if sent < len(users) else ""),
            messages.SUCCESS if sent else messages.WARNING,
        )


@admin.register(EmailChange)
class EmailChangeAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "old_email",
        "new_email",
        "requested_at",
        "completed_at",
        "cancelled_at",
        "undone_at",
    ]
    list_filter = ["requested_at", "completed_at", "undone_at"]
    search_fields = ["user__username", "old_email", "new_email"]
    list_select_related = ["user"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
