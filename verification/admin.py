"""Staff see the state of every code, link and mail; never a secret (only a digest is stored,
and it is not shown either)."""

from django.contrib import admin

from verification.models import OneTimeSecret, OutboundEmail


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the flows only: staff look, they do not edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OneTimeSecret)
class OneTimeSecretAdmin(ReadOnlyAdmin):
    list_display = ["user", "purpose", "state", "created_at", "expires_at", "attempts", "max_attempts", "used_at"]
    list_filter = ["purpose", "created_at"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    exclude = ["digest"]

    @admin.display(description="state")
    def state(self, obj):
        return obj.state


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdmin):
    list_display = ["kind", "user", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    readonly_fields = ["message_id", "last_error"]
