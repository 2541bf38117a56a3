"""Balancer accounts: editable by staff, with the shapes the balancer writes enforced."""

from django import forms
from django.contrib import admin

from accounts.models import Account
from ledgerflow.console.large_tables import LargeTableAdmin, changelist_link, shorten
from ledgerflow.console.validators import validate_decimal_id, validate_evm_address
from orders.models import Order


class AccountForm(forms.ModelForm):
    email = forms.EmailField(required=False, max_length=255, empty_value=None)
    telegram_id = forms.CharField(
        label="Telegram id",
        required=False,
        max_length=255,
        empty_value=None,
        validators=[validate_decimal_id],
        help_text="Digits only; leave empty for none.",
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
        model = Account
        fields = ("account_id", "email", "telegram_id", "evm_address")


@admin.register(Account)
class AccountAdmin(LargeTableAdmin):
    form = AccountForm
    list_display = ("account_id", "telegram_id", "evm", "email", "created_at", "orders")
    list_filter = (("created_at", admin.DateFieldListFilter),)
    exact_search_fields = ("account_id", "telegram_id", "evm_address")
    search_help_text = "Exact match on account id, Telegram id or EVM address."
    ordering = ("account_id",)
    sortable_by = ("account_id",)
    readonly_fields = ("orders", "id", "created_at", "updated_at")

    def has_delete_permission(self, request, obj=None):
        return False  # the balancer's accounts are never removed by hand

    @admin.display(description="EVM address")
    def evm(self, obj):
        return shorten(obj.evm_address)

    @admin.display(description="orders")
    def orders(self, obj):
        if obj.telegram_id:
            return changelist_link(Order, "orders", account_id=obj.telegram_id)
        return "-"
