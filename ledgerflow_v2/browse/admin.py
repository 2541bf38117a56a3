"""Schema v2 in the admin: the newest services' tables, read-only, and the cutover's rejects,
notes and runs, so staff can repair rejected rows in v1 and run ``cutover_v2 --redo``.

Every v2 service table is written by a service (CONTRACT-V2.md), and the cutover tables by
``cutover_v2`` alone (``--redo`` rewrites them): staff get no add, change or delete anywhere here.
The lists are the v1 admin's large-table lists (estimated counts, keyset pages, sorting only by
indexed columns, only declared filters from the query string).
"""

import json

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from accounts.models import Account as V1Account
from indexer.models import DepositEvent as V1DepositEvent
from ledgerflow.console.large_tables import (
    KnownChoicesListFilter,
    LargeTableAdmin,
    ReadOnlyAdminMixin,
    changelist_link,
    distinct_indexed_values,
    shorten,
)
from ledgerflow_v2.browse import models as v2
from ledgerflow_v2.cutover import REASONS
from orders.admin import telegram_id_of
from orders.models import Order as V1Order
from users.models import User as V1User

# The v1 table of a reject (``source_table``) and the model whose admin page repairs it.
V1_MODELS = {
    "accounts": V1Account,
    "users": V1User,
    "orders": V1Order,
    "deposit_events": V1DepositEvent,
}

RERUN_HINT = (
    "After repairing the v1 rows: python manage.py cutover_v2 --dry-run shows what would now "
    "be carried; python manage.py cutover_v2 --redo empties ledgerflow_v2 and carries v1 again "
    "(add --accept-rejects while rows carrying money are still rejected). --redo is refused "
    "once the new services have written to v2 (see docs/CUTOVER.md)."
)

# What to change in v1 so that the row is carried on the next run, per reject reason.
REPAIR_HINTS = {
    "account_without_telegram_id": (
        "Give the v1 account its person's Telegram id (the account's page: Telegram id)."
    ),
    "account_telegram_id_not_an_integer": (
        "Correct the v1 account's Telegram id to digits only (the account's page)."
    ),
    "two_accounts_for_one_telegram_id": (
        "Decide which v1 account is the person's and clear or correct the Telegram id of the "
        "other (both are rejected until then)."
    ),
    "order_account_unresolved": (
        "The order's account_id names nobody carried: it must be a person's Telegram id or an "
        "account's account_id. Add or repair that account (orders.account_id is not editable "
        "in the admin)."
    ),
    "order_account_rejected": (
        "Repair the account this order names first (see the account rejects); the order is "
        "carried with it."
    ),
    "order_amount_not_a_positive_integer": (
        "orders.amount must be a positive whole number of token base units; the admin does not "
        "edit amounts. Correct it in SQL with the balancer stopped, or keep the order rejected "
        "(--accept-rejects)."
    ),
    "deposit_order_unknown": (
        "The indexer recorded a deposit for an order v1 does not have; deposit events are the "
        "indexer's (read-only). It stays rejected unless that order is added."
    ),
    "deposit_order_rejected": (
        "Repair the deposit's order (see the order rejects); the deposit is carried with it."
    ),
    "deposit_amount_not_a_positive_integer": (
        "deposit_events.amount must be a positive whole number; deposit events are the "
        "indexer's and not editable in the admin. Correct it in SQL or keep it rejected."
    ),
}


def pretty_json(value):
    """``value`` as indented JSON in a ``<pre>``, escaped (rows hold whatever v1 held)."""
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return format_html('<pre class="json">{}</pre>', text)


def latest_cutover_report():
    """The report of the last run if it was a cutover (after an undo the records are empty)."""
    run = v2.CutoverRun.objects.order_by("-id").only("action", "report").first()
    if run is None or run.action != "cutover" or not isinstance(run.report, dict):
        return {}
    return run.report


def chain_filter(model):
    """A chain filter for ``model``: chains by a loose index scan on its ``chain_id`` index."""

    class ChainFilter(admin.SimpleListFilter):
        title = "chain"
        parameter_name = "chain_id"

        def lookups(self, request, model_admin):
            return [(str(c), str(c)) for c in distinct_indexed_values(model, "chain_id")]

        def queryset(self, request, queryset):
            value = self.value()
            if value is None:
                return queryset
            try:
                chain_id = int(value)
            except ValueError:
                return queryset.none()
            if not -(2**63) <= chain_id < 2**63:
                return queryset.none()
            return queryset.filter(chain_id=chain_id)

    return ChainFilter


class ValueListFilter(admin.SimpleListFilter):
    """Exact values of a column, from a fixed list: no ``SELECT DISTINCT`` over the table."""

    def values(self, request):
        raise NotImplementedError

    def lookups(self, request, model_admin):
        return self.values(request)

    def queryset(self, request, queryset):
        value = self.value()
        return queryset if value is None else queryset.filter(**{self.parameter_name: value})


class RejectTableFilter(ValueListFilter):
    title = "v1 table"
    parameter_name = "source_table"

    def values(self, request):
        # The tables cutover_v2 rejects rows of (users rows are merged, never rejected).
        return [(table, table) for table in ("accounts", "orders", "deposit_events")]


class RejectReasonFilter(ValueListFilter):
    title = "reason"
    parameter_name = "reason"

    def values(self, request):
        counts = {}
        for reasons in latest_cutover_report().get("rejected", {}).values():
            for reason, count in reasons.items():
                counts[reason] = counts.get(reason, 0) + count
        return [
            (reason, f"{reason} ({counts[reason]})" if reason in counts else reason)
            for reason in sorted({*REASONS, *counts})
        ]


class NoteKindFilter(ValueListFilter):
    title = "kind"
    parameter_name = "kind"

    def values(self, request):
        # The kinds the last cutover wrote, from its report: cutover_notes has no index on kind.
        notes = latest_cutover_report().get("notes", {})
        return [(kind, f"{kind} ({count})") for kind, count in sorted(notes.items())]


class SchemaV2Admin(ReadOnlyAdminMixin, LargeTableAdmin):
    ordering = ("-id",)
    sortable_by = ("id",)


@admin.register(v2.Account)
class AccountAdmin(SchemaV2Admin):
    list_display = (
        "id",
        "username",
        "telegram_id",
        "email",
        "evm",
        "is_admin",
        "created_at",
        "orders",
    )
    exact_search_fields = ("telegram_id", "username", "email")
    search_help_text = "Exact match on Telegram id, username or email."
    key_lookups = ("id", "telegram_id")  # links from orders, balances and notes
    sortable_by = ("id", "telegram_id")
    # The balancer's secrets: whether they are set, never their values.
    exclude = ("encrypted_pk", "api_token_hash")
    readonly_fields = ("credentials", "orders", "balance", "v1_rows")

    @admin.display(description="EVM address")
    def evm(self, obj):
        return shorten(obj.evm_address)

    @admin.display(description="orders")
    def orders(self, obj):
        return changelist_link(v2.Order, "orders", account_id=obj.id)

    @admin.display(description="balance")
    def balance(self, obj):
        return changelist_link(v2.Balance, "balance", account_id=obj.id)

    @admin.display(description="credentials")
    def credentials(self, obj):
        return (
            f"encrypted private key {'set' if obj.encrypted_pk else 'none'}; "
            f"API token {'set' if obj.api_token_hash else 'none'}"
        )

    @admin.display(description="in v1")
    def v1_rows(self, obj):
        return format_html(
            "{} · {}",
            changelist_link(V1User, "v1 users row", telegram_id=obj.telegram_id),
            changelist_link(V1Order, "v1 orders", account_id=obj.telegram_id),
        )


@admin.register(v2.Order)
class OrderAdmin(SchemaV2Admin):
    list_display = (
        "order_id",
        "status",
        "amount",
        "token",
        "chain_id",
        "account",
        "created_at",
        "deposits",
    )
    # status and chain_id are indexed; notified and created_at are not.
    list_filter = (("status", KnownChoicesListFilter), chain_filter(v2.Order))
    compact_columns = {"amount": 11}
    key_lookups = ("order_id", "account_id")
    exact_search_fields = ("order_id", "account_id")
    search_help_text = "Exact match on order id or account (v2 account id)."
    sortable_by = ("order_id",)
    readonly_fields = ("account", "deposits", "v1_order")

    @admin.display(description="token")
    def token(self, obj):
        return shorten(obj.token_address)

    @admin.display(description="account")
    def account(self, obj):
        return changelist_link(v2.Account, obj.account_id, id=obj.account_id)

    @admin.display(description="deposits")
    def deposits(self, obj):
        return changelist_link(v2.DepositEvent, "deposits", order_id=obj.order_id)

    @admin.display(description="in v1")
    def v1_order(self, obj):
        return changelist_link(V1Order, "v1 order", order_id=obj.order_id)


@admin.register(v2.Balance)
class BalanceAdmin(SchemaV2Admin):
    list_display = ("id", "account", "balance", "updated_at")
    compact_columns = {"balance": 11}
    key_lookups = ("account_id",)
    exact_search_fields = ("account_id",)
    search_help_text = "Exact match on the v2 account id."
    readonly_fields = ("account",)

    @admin.display(description="account")
    def account(self, obj):
        return changelist_link(v2.Account, obj.account_id, id=obj.account_id)


@admin.register(v2.DepositEvent)
class DepositEventAdmin(SchemaV2Admin):
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
    list_filter = ("processed", chain_filter(v2.DepositEvent))
    compact_columns = {"amount": 11}
    key_lookups = ("order_id",)
    exact_search_fields = ("order_id", "transaction_hash")
    search_help_text = "Exact match on order id or transaction hash."
    sortable_by = ("id", "block_number")
    readonly_fields = ("order",)

    @admin.display(description="order")
    def order(self, obj):
        return changelist_link(v2.Order, obj.order_id, order_id=obj.order_id)

    @admin.display(description="transaction")
    def transaction(self, obj):
        return shorten(obj.transaction_hash)

    def search_condition(self, name, value):
        if name == "transaction_hash":
            # As in v1: only the unique (chain_id, transaction_hash, log_index) index holds the
            # hash; naming every chain lets PostgreSQL probe it once per chain.
            return Q(
                transaction_hash=value,
                chain_id__in=distinct_indexed_values(v2.DepositEvent, "chain_id"),
            )
        return super().search_condition(name, value)


admin.site.register_readonly_pages(
    v2.ChainState,
    key_fields=("chain_id", "contract_address"),
    list_display=("chain_id", "contract_address", "last_scanned_block", "updated_at"),
    ordering=("chain_id", "contract_address"),
    related_links=lambda state: [
        changelist_link(v2.DepositEvent, "deposit events on this chain", chain_id=state.chain_id)
    ],
)


class CutoverRecordAdmin(SchemaV2Admin):
    """The cutover's own records; ``cutover_v2 --redo`` rewrites them, staff never do."""

    change_list_template = "admin/schema_v2/cutover_change_list.html"
    change_form_template = "admin/schema_v2/cutover_change_form.html"

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}), "rerun_hint": RERUN_HINT})

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        context = {**(extra_context or {}), "rerun_hint": RERUN_HINT}
        return super().changeform_view(request, object_id, form_url, context)


@admin.register(v2.CutoverReject)
class CutoverRejectAdmin(CutoverRecordAdmin):
    list_display = ("id", "source_table", "source_key", "reason", "amount", "v1_row", "created_at")
    list_filter = (RejectReasonFilter, RejectTableFilter)
    list_display_links = ("id", "source_key")
    compact_columns = {"source_key": 24}
    # No index but the key: the rejects are a fraction of v1, read in one sequential scan.
    exact_search_fields = ("source_key",)
    key_lookups = ("source_key",)  # a deposit reject's link to its order's reject
    search_help_text = "Exact match on the v1 key (an order id, or an account's or deposit's id)."
    fields = (
        "source_table",
        "source_key",
        "reason",
        "detail",
        "repair",
        "v1_row",
        "row",
        "created_at",
    )
    readonly_fields = ("repair", "v1_row", "row")

    @admin.display(description="amount")
    def amount(self, obj):
        data = obj.row_data if isinstance(obj.row_data, dict) else {}
        return data.get("amount")

    @admin.display(description="v1 row to repair")
    def v1_row(self, obj):
        model = V1_MODELS.get(obj.source_table)
        data = obj.row_data if isinstance(obj.row_data, dict) else {}
        key = data.get("id")
        if model is None or key is None:
            return "-"
        opts = model._meta
        try:
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(key)])
        except NoReverseMatch:
            return "-"
        return format_html(
            '<a class="v1-row-link" href="{}" title="{}">v1 {} row</a>', url, key, opts.db_table
        )

    @admin.display(description="how to repair")
    def repair(self, obj):
        links = []
        data = obj.row_data if isinstance(obj.row_data, dict) else {}
        if obj.source_table == "accounts" and data.get("telegram_id"):
            links.append(
                changelist_link(
                    V1Account, "v1 accounts with this Telegram id", q=data["telegram_id"]
                )
            )
        if obj.source_table == "orders" and data.get("account_id"):
            if telegram_id_of(V1Order(account_id=str(data["account_id"]))) is not None:
                links.append(
                    changelist_link(
                        V1User, "v1 user of this account_id", telegram_id=data["account_id"]
                    )
                )
            links.append(
                changelist_link(V1Account, "v1 account of this account_id", q=data["account_id"])
            )
        if obj.source_table == "deposit_events" and data.get("order_id"):
            links.append(changelist_link(V1Order, "the v1 order", order_id=data["order_id"]))
            links.append(
                changelist_link(v2.CutoverReject, "its order's reject", source_key=data["order_id"])
            )
        hint = REPAIR_HINTS.get(obj.reason, "")
        if not links:
            return hint
        return format_html(
            "{}<br>{}", hint, format_html_join(" · ", "{}", ((link,) for link in links))
        )

    @admin.display(description="v1 row (whole, as rejected)")
    def row(self, obj):
        return pretty_json(obj.row_data)


@admin.register(v2.CutoverNote)
class CutoverNoteAdmin(CutoverRecordAdmin):
    list_display = ("id", "kind", "subject", "detail", "created_at")
    list_filter = (NoteKindFilter,)
    exact_search_fields = ("subject",)
    search_help_text = "Exact match on the subject (order o-1, telegram_id 1001)."
    fields = ("kind", "subject", "detail", "related", "note_data", "created_at")
    readonly_fields = ("related", "note_data")

    @admin.display(description="related rows")
    def related(self, obj):
        subject = obj.subject or ""
        if subject.startswith("order "):
            order_id = subject.removeprefix("order ")
            links = [
                changelist_link(v2.Order, "v2 order", order_id=order_id),
                changelist_link(V1Order, "v1 order", order_id=order_id),
            ]
        elif subject.startswith("telegram_id "):
            telegram_id = subject.removeprefix("telegram_id ")
            links = [
                changelist_link(v2.Account, "v2 account", telegram_id=telegram_id),
                changelist_link(V1User, "v1 user", telegram_id=telegram_id),
                changelist_link(V1Account, "v1 accounts", q=telegram_id),
            ]
        else:
            return "-"
        return format_html_join(" · ", "{}", ((link,) for link in links))

    @admin.display(description="data")
    def note_data(self, obj):
        return pretty_json(obj.data)


@admin.register(v2.CutoverRun)
class CutoverRunAdmin(CutoverRecordAdmin):
    list_display = ("id", "action", "started_at", "finished_at", "rejected_rows", "reconciled")
    fields = ("action", "started_at", "finished_at", "run_report", "run_fingerprint")
    readonly_fields = ("run_report", "run_fingerprint")

    @admin.display(description="rejected rows")
    def rejected_rows(self, obj):
        return obj.report.get("rejected_rows") if isinstance(obj.report, dict) else None

    @admin.display(description="reconciled", boolean=True)
    def reconciled(self, obj):
        return obj.report.get("reconciled") if isinstance(obj.report, dict) else None

    @admin.display(description="report")
    def run_report(self, obj):
        return pretty_json(obj.report)

    @admin.display(description="v1 fingerprint")
    def run_fingerprint(self, obj):
        return pretty_json(obj.fingerprint)
