from django.contrib import admin

from users.models import User


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = (
        "telegram_id",
        "username",
        "first_name",
        "last_name",
        "evm_address",
        "created_at",
    )
    search_fields = ("=telegram_id", "=username", "=evm_address")
    readonly_fields = ("id", "created_at", "updated_at")
    ordering = ("telegram_id",)
    show_full_result_count = False
