"""Orders: staff find an order and may correct its status and transaction hash, nothing else."""

from django import forms
from django.contrib import admin
from django.utils.html import format_html, format_html_join

from indexer.models import DepositEvent
from ledgerflow.console.large_tables import (
    KnownChoicesListFilter,
    LargeTableAdmin,
    change_url,
    changelist_link,
    shorten,
)
from ledgerflow.console.validators import DECIMAL_INTEGER, validate_transaction_hash
from orders.models import Order
from users.models import User

# An order page lists this many of its deposit events; the link beside it shows them all.
DEPOSITS_SHOWN = 20


class OrderForm(forms.ModelForm):
    transaction_hash = forms.CharField(
        label="Transaction hash",
        required=False,
        max_length=66,
        empty_value=None,
        validators=[validate_transaction_hash],
        help_text="0x followed by 64 hexadecimal digits; leave empty for none.",
    )

    class Meta:
        model = Order
        fields = ("status", "transaction_hash")


def telegram_id_of(order):
    """``account_id`` as a ``users.telegram_id`` (bigint), or ``None`` when it cannot be one."""
    if not DECIMAL_INTEGER.fullmatch(order.account_id):
        return None
    value = int(order.account_id)
    return value if value < 2**63 else None


@admin.register(Order)
class OrderAdmin(LargeTableAdmin):
    form = OrderForm
    list_display = (
        "order_id",
        "status",
        "amount",
        "token",
        "account",
        "created_at",
        "deposits",
    )
    list_filter = (("status", KnownChoicesListFilter), ("created_at", admin.DateFieldListFilter))
    compact_columns = {"amount": 11}
    key_lookups = ("order_id", "account_id")  # links from deposit events, users and accounts
    exact_search_fields = ("order_id", "account_id")
    search_help_text = "Exact match on order id or account (Telegram id)."
    ordering = ("-created_at",)
    # status is indexed too, but holds four values: a page sorted by it sorts every order of one.
    sortable_by = ("order_id", "created_at")
    fields = (
        "order_id",
        "status",
        "transaction_hash",
        "amount",
        "token_address",
        "account_id",
        "user",
        "broker_id",
        "deposit_events",
        "id",
        "created_at",
        "updated_at",
    )
    readonly_fields = (
        "order_id",
        "amount",
        "token_address",
        "account_id",
        "user",
        "broker_id",
        "deposit_events",
        "id",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request):
        return False  # the balancer creates orders

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="token")
    def token(self, obj):
        return shorten(obj.token_address)

    @admin.display(description="account")
    def account(self, obj):
        if telegram_id_of(obj) is not None:
            return changelist_link(User, obj.account_id, telegram_id=obj.account_id)
        return obj.account_id

    @admin.display(description="deposits")
    def deposits(self, obj):
        return changelist_link(DepositEvent, "deposits", order_id=obj.order_id)

    @admin.display(description="user")
    def user(self, obj):
        telegram_id = telegram_id_of(obj)
        if telegram_id is None:
            return "-"
        user = User.objects.filter(telegram_id=telegram_id).first()
        if user is None:
            return f"no user with Telegram id {obj.account_id}"
        return format_html(
            '<a href="{}">{}</a>', change_url(user), user.username or user.telegram_id
        )

    @admin.display(description="deposit events")
    def deposit_events(self, obj):
        events = list(
            DepositEvent.objects.filter(order_id=obj.order_id).order_by(
                "block_number", "log_index"
            )[: DEPOSITS_SHOWN + 1]
        )
        if not events:
            return "none seen by the indexer"
        items = format_html_join(
            "",
            '<li><a class="deposit-event-link" href="{}">chain {} block {} log {}: {}</a>{}</li>',
            (
                (
                    change_url(event),
                    event.chain_id,
                    event.block_number,
                    event.log_index,
                    event.amount,
                    " (processed)" if event.processed else " (not processed)",
                )
                for event in events[:DEPOSITS_SHOWN]
            ),
        )
        more = (
            changelist_link(DepositEvent, "all deposit events", order_id=obj.order_id)
            if len(events) > DEPOSITS_SHOWN
            else ""
        )
        return format_html('<ul style="margin: 0; padding-left: 1.2em">{}</ul>{}', items, more)
