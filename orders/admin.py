from django.contrib import admin

from orders.models import Order


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("order_id", "account_id", "amount", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("=order_id", "=account_id")
    readonly_fields = ("id", "created_at", "updated_at")
    ordering = ("-created_at",)
    show_full_result_count = False
