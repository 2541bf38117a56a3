from django.contrib import admin

from accounts.models import Account


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("account_id", "telegram_id", "evm_address", "email", "created_at")
    search_fields = ("=account_id", "=telegram_id", "=evm_address")
    readonly_fields = ("id", "created_at", "updated_at")
    ordering = ("account_id",)
    show_full_result_count = False
