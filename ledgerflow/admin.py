"""Admin pages of the project's own tables (read-only records for operators) and of Django's
staff users."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from ledgerflow.models import SchemaTakeover

# Django's staff logins, named apart from the bot's Telegram users (``users``) in the index.
admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class StaffUserAdmin(UserAdmin):
    index_name = "Staff users"

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": "Select staff user to change"})


@admin.register(SchemaTakeover)
class SchemaTakeoverAdmin(admin.ModelAdmin):
    """Takeover records are written once by ``adopt_sqlx`` and never edited."""

    list_display = ("adopted_at", "sqlx_version", "os_user", "database_user", "client_host")
    ordering = ("-adopted_at",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
