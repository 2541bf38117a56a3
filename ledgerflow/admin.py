"""Admin pages of the project's bookkeeping tables: read-only records for operators."""

from django.contrib import admin

from ledgerflow.models import SchemaTakeover


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
