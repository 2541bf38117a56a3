"""Telegram users: editable by staff, with the shapes the bot writes enforced."""

from django import forms
from django.contrib import admin

from ledgerflow.console.large_tables import LargeTableAdmin, changelist_link, shorten
from ledgerflow.console.validators import validate_evm_address
from orders.models import Order
from users.models import User


class UserForm(forms.ModelForm):
    telegram_id = forms.IntegerField(
        label="Telegram id",
        min_value=1,
        max_value=2**63 - 1,
        help_text="The user's numeric Telegram id.",
    )
    evm_address = forms.CharField(
        label="EVM address",
        required=False,
        max_length=42,
        empty_value=None,
        validators=[validate_evm_address],
        help_text="0x followed by 40 hexadecimal digits; leave empty for none.",
    )

    class Meta:
        model = User
        fields = ("telegram_id", "username", "first_name", "last_name", "evm_address")


@admin.register(User)
class UserAdmin(LargeTableAdmin):
    form = UserForm
    index_name = "Telegram users"  # Django's staff users are the other "users"
    list_display = (
        "telegram_id",
        "username",
        "first_name",
        "last_name",
        "evm",
        "created_at",
        "orders",
    )
    list_filter = (("created_at", admin.DateFieldListFilter),)
    exact_search_fields = ("telegram_id", "evm_address")
    search_help_text = "Exact match on Telegram id or EVM address."
    ordering = ("telegram_id",)
    sortable_by = ("telegram_id",)
    readonly_fields = ("orders", "id", "created_at", "updated_at")
    key_lookups = ("telegram_id",)  # an order's "account" link

    def has_delete_permission(self, request, obj=None):
        return False  # the bot's users are never removed by hand

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": "Select Telegram user to change"})

    @admin.display(description="EVM address")
    def evm(self, obj):
        return shorten(obj.evm_address)

    @admin.display(description="orders")
    def orders(self, obj):
        return changelist_link(Order, "orders", account_id=str(obj.telegram_id))
