from django.contrib import admin

from indexer.models import ChainState, DepositEvent


class ReadOnlyAdminMixin:
    """The indexer owns these rows; staff may look but not touch."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DepositEvent)
class DepositEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "chain_id",
        "order_id",
        "amount",
        "transaction_hash",
        "block_number",
        "log_index",
        "processed",
        "created_at",
    )
    list_filter = ("processed", "chain_id")
    search_fields = ("=order_id", "=transaction_hash")
    ordering = ("-id",)
    show_full_result_count = False


admin.site.register_readonly_pages(
    ChainState,
    key_fields=("chain_id", "contract_address"),
    list_display=("chain_id", "contract_address", "last_scanned_block", "updated_at"),
    ordering=("chain_id", "contract_address"),
)
