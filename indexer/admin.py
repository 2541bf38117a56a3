"""The indexer's tables: read-only. ``chain_states`` has a composite key, so it gets the site's
read-only pages instead of a ``ModelAdmin`` (Django 5.2 refuses to register it)."""

from django.contrib import admin
from django.db.models import Q
from django.utils.html import format_html

from indexer.models import ChainState, DepositEvent
from ledgerflow.console.large_tables import (
    LargeTableAdmin,
    ReadOnlyAdminMixin,
    change_url,
    changelist_link,
    distinct_indexed_values,
    shorten,
)
from orders.models import Order


class ChainFilter(admin.SimpleListFilter):
    """Chains in ``deposit_events``, by a loose index scan rather than ``SELECT DISTINCT``."""

    title = "chain"
    parameter_name = "chain_id"

    def lookups(self, request, model_admin):
        chains = distinct_indexed_values(DepositEvent, "chain_id")
        return [(str(chain), str(chain)) for chain in chains]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        try:
            chain_id = int(value)
        except ValueError:
            # int() is the test: str.isdigit() accepts "²", which int() rejects (a 500).
            return queryset.none()
        return queryset.filter(chain_id=chain_id)


@admin.register(DepositEvent)
class DepositEventAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    list_display = (
        "id",
        "chain_id",
        "order",
        "amount",
        "transaction",
        "block_number",
        "log_index",
        "processed",
        "created_at",
    )
    # No created_at filter: deposit_events has no index on it, so a date range would read the
    # whole table; block_number (indexed) orders events in time instead.
    list_filter = ("processed", ChainFilter)
    compact_columns = {"amount": 11}
    exact_search_fields = ("order_id", "transaction_hash")
    search_help_text = "Exact match on order id or transaction hash."
    ordering = ("-id",)
    # chain_id and processed are indexed, but hold few values: a page sorted by one of them
    # sorts every event of one value.
    sortable_by = ("id", "block_number")
    readonly_fields = ("order_link", "chain_state_link")
    key_lookups = ("order_id",)  # an order's "deposits" link

    @admin.display(description="order")
    def order(self, obj):
        return changelist_link(Order, obj.order_id, order_id=obj.order_id)

    @admin.display(description="transaction")
    def transaction(self, obj):
        return shorten(obj.transaction_hash)

    @admin.display(description="order page")
    def order_link(self, obj):
        order = Order.objects.filter(order_id=obj.order_id).first()
        if order is None:
            return f"no order {obj.order_id} in orders"
        return format_html(
            '<a class="order-link" href="{}">{} ({})</a>', change_url(order), order, order.status
        )

    def lookup_allowed(self, lookup, value, request=None):
        # A chain state's "deposit events of this contract" link. contract_address has no index:
        # it is allowed only beside chain_id, whose index narrows the rows first.
        if lookup == "contract_address":
            return request is not None and request.GET.get("chain_id", "") != ""
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description="chain state")
    def chain_state_link(self, obj):
        label = f"chain {obj.chain_id} / {obj.contract_address}"
        url = admin.site.readonly_pages_for(ChainState).detail_url(
            obj.chain_id, obj.contract_address
        )
        return format_html('<a href="{}">{}</a>', url, label) if url else label

    def search_condition(self, name, value):
        if name == "transaction_hash":
            # The only index holding transaction_hash is the unique (chain_id, transaction_hash,
            # log_index); naming every chain lets PostgreSQL probe it once per chain instead of
            # reading the whole table.
            return Q(
                transaction_hash=value,
                chain_id__in=distinct_indexed_values(DepositEvent, "chain_id"),
            )
        return super().search_condition(name, value)


admin.site.register_readonly_pages(
    ChainState,
    key_fields=("chain_id", "contract_address"),
    list_display=("chain_id", "contract_address", "last_scanned_block", "updated_at"),
    ordering=("chain_id", "contract_address"),
    related_links=lambda state: [
        changelist_link(
            DepositEvent,
            "deposit events of this contract",
            chain_id=state.chain_id,
            contract_address=state.contract_address,
        )
    ],
)
