"""Staff see the state of every code, link and mail; never a secret (only a digest is stored,
and it is not shown either)."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_q import admin as django_q_admin
from django_q.models import Failure, OrmQ, Schedule, Success

from verification import outbox, registry, suppression
from verification.models import MessageAttempt, OneTimeSecret, OutboundEmail, SecretState, Suppression

# Whatever the user model calls its name and its address (contrib.auth's User, or any other).
_User = get_user_model()
_USER_FIELDS = [f"user__{_User.USERNAME_FIELD}", f"user__{_User.get_email_field_name()}"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the flows only: staff look, they do not edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class _RegisteredNames(admin.SimpleListFilter):
    """Filter by the names the app registered, shown by their labels (the engine's fields are
    plain strings: they have no choices of their own)."""

    names = staticmethod(registry.purpose_names)
    label_of = staticmethod(registry.purpose_label)

    def lookups(self, request, model_admin):
        return [(name, self.label_of(name)) for name in self.names()]

    def queryset(self, request, queryset):
        return queryset.filter(**{self.parameter_name: self.value()}) if self.value() else queryset


class PurposeFilter(_RegisteredNames):
    title = _("purpose")
    parameter_name = "purpose"


class MailKindFilter(_RegisteredNames):
    title = _("kind")
    parameter_name = "kind"
    names = staticmethod(registry.mail_kind_names)
    label_of = staticmethod(registry.mail_kind_label)


@admin.register(OneTimeSecret)
class OneTimeSecretAdmin(ReadOnlyAdmin):
    list_display = [
        "user",
        "purpose_label",
        "state",
        "created_at",
        "expires_at",
        "attempts",
        "other_attempts",
        "max_attempts",
        "used_at",
    ]
    list_filter = [PurposeFilter, "created_at"]
    search_fields = _USER_FIELDS
    list_select_related = ["user"]
    exclude = ["digest", "address_key"]

    @admin.display(description="state", ordering="state")
    def state(self, obj):
        return SecretState(obj.state).label

    @admin.display(description=_("purpose"), ordering="purpose")
    def purpose_label(self, obj):
        return registry.purpose_label(obj.purpose)


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdmin):
    list_display = [
        "kind_label",
        "user",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
        "sent_at",
        "last_error",
    ]
    list_filter = ["status", MailKindFilter, "created_at"]
    search_fields = _USER_FIELDS
    list_select_related = ["user"]
    readonly_fields = ["message_id", "last_error"]
    date_hierarchy = "created_at"
    actions = ["retry_now", "cancel"]

    @admin.display(description=_("kind"), ordering="kind")
    def kind_label(self, obj):
        return registry.mail_kind_label(obj.kind)

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(
            request, {"delivery": outbox.delivery_stats(), **(extra_context or {})}
        )

    def has_deliver_permission(self, request):
        # Rows stay read-only; steering delivery needs the model's change permission.
        return request.user.has_perm("verification.change_outboundemail")

    @admin.action(description="Retry the selected mails now", permissions=["deliver"])
    def retry_now(self, request, queryset):
        count = outbox.retry_now(queryset)
        self.message_user(request, ngettext("%d mail queued again.", "%d mails queued again.", count) % count)

    @admin.action(description="Cancel the selected mails", permissions=["deliver"])
    def cancel(self, request, queryset):
        count = outbox.cancel(queryset)
        self.message_user(
            request,
            ngettext("%d mail cancelled.", "%d mails cancelled.", count) % count,
            messages.SUCCESS if count else messages.WARNING,
        )


# Django-Q2's admin runs code: a Schedule names any importable function (os.system is a
# shell on the worker), and "resubmit" queues a stored task's function again. The site's
# schedules come from migrations and its jobs are queued by the site, so staff only look.
# Deleting finished or queued task rows stays allowed: it runs nothing (a deleted delivery
# job is made up by the minute's sweep).


class ScheduleAdmin(ReadOnlyAdmin, django_q_admin.ScheduleAdmin):
    def has_delete_permission(self, request, obj=None):
        return False  # the sweeps would stop


class SuccessAdmin(ReadOnlyAdmin, django_q_admin.TaskAdmin):
    actions = []


class FailureAdmin(ReadOnlyAdmin, django_q_admin.FailAdmin):
    actions = []


class QueueAdmin(ReadOnlyAdmin, django_q_admin.QueueAdmin):
    pass


for model, read_only in [
    (Schedule, ScheduleAdmin),
    (Success, SuccessAdmin),
    (Failure, FailureAdmin),
    (OrmQ, QueueAdmin),  # registered by Django-Q2 with the ORM broker, which the site uses
]:
    admin.site.unregister(model)  # raises if Django-Q2 stopped registering it: look again
    admin.site.register(model, read_only)


@admin.register(MessageAttempt)
class MessageAttemptAdmin(ReadOnlyAdmin):
    list_display = [
        "message_id",
        "recipient",
        "created_at",
        "bounced_at",
        "bounce_permanent",
        "bounce_reason",
    ]
    list_filter = ["bounce_permanent", "created_at"]
    search_fields = ["recipient", "message_id"]


@admin.register(Suppression)
class SuppressionAdmin(ReadOnlyAdmin):
    """Addresses no mail goes to. A complaint shows here only: it tells that a real mailbox got
    our mail, which no page may say."""

    list_display = ["address", "source", "reason", "created_at", "retried_at", "lifted"]
    list_filter = ["source", "lifted", "created_at"]
    search_fields = ["address"]
    actions = ["lift"]

    def has_deliver_permission(self, request):
        return request.user.has_perm("verification.change_suppression")

    @admin.action(description="Lift: mail these addresses again", permissions=["deliver"])
    def lift(self, request, queryset):
        count = suppression.lift_suppressions(queryset)
        self.message_user(request, ngettext("%d address lifted.", "%d addresses lifted.", count) % count)
