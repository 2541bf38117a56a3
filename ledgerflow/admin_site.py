"""The admin site, able to show read-only pages for models it refuses to register.

Django 5.2's admin rejects models with a ``CompositePrimaryKey`` (``chain_states``). Such a model
gets a list and a detail page here, inside the admin's look, navigation and staff login.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import capfirst


class ReadOnlyPages:
    """A list and a detail page for ``model``; rows are addressed by ``key_fields`` in the URL."""

    list_per_page = 100

    def __init__(self, site, model, *, key_fields, list_display, ordering):
        self.site = site
        self.model = model
        self.key_fields = key_fields
        self.list_display = list_display
        self.ordering = ordering
        self.opts = model._meta

    @property
    def url_name(self):
        return f"{self.opts.app_label}_{self.opts.model_name}"

    def has_view_permission(self, request):
        perm = f"{self.opts.app_label}.view_{self.opts.model_name}"
        return request.user.is_active and request.user.is_staff and request.user.has_perm(perm)

    def get_urls(self):
        key_path = "/".join(f"<str:{name}>" for name in self.key_fields)
        prefix = f"{self.opts.app_label}/{self.opts.model_name}/"
        return [
            path(prefix, self.site.admin_view(self.list_view), name=f"{self.url_name}_changelist"),
            path(
                f"{prefix}{key_path}/",
                self.site.admin_view(self.detail_view),
                name=f"{self.url_name}_detail",
            ),
        ]

    def _context(self, request, title):
        return {
            **self.site.each_context(request),
            "opts": self.opts,
            "title": title,
            "app_label": self.opts.app_label,
        }

    def _row_url(self, obj):
        args = [getattr(obj, name) for name in self.key_fields]
        return reverse(f"admin:{self.url_name}_detail", args=args, current_app=self.site.name)

    def list_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        page = Paginator(self.model._default_manager.order_by(*self.ordering), self.list_per_page)
        page_obj = page.get_page(request.GET.get("p"))
        rows = [
            (self._row_url(obj), [getattr(obj, name) for name in self.list_display])
            for obj in page_obj
        ]
        headers = [capfirst(self.opts.get_field(name).verbose_name) for name in self.list_display]
        context = self._context(request, capfirst(self.opts.verbose_name_plural))
        context.update(headers=headers, rows=rows, page_obj=page_obj)
        return TemplateResponse(request, "admin/ledgerflow/readonly_list.html", context)

    def detail_view(self, request, **key):
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            obj = self.model._default_manager.get(**key)
        except (self.model.DoesNotExist, ValueError):
            raise Http404(f"No {self.opts.verbose_name} matches {key}.") from None
        fields = [
            (capfirst(field.verbose_name), getattr(obj, field.attname))
            for field in self.opts.concrete_fields
        ]
        context = self._context(request, f"{capfirst(self.opts.verbose_name)}: {obj}")
        context.update(
            object=obj,
            fields=fields,
            changelist_url=reverse(f"admin:{self.url_name}_changelist", current_app=self.site.name),
        )
        return TemplateResponse(request, "admin/ledgerflow/readonly_detail.html", context)


class LedgerFlowAdminSite(admin.AdminSite):
    site_header = "LedgerFlow operations"
    site_title = "LedgerFlow"
    index_title = "Schema data"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._readonly_pages = {}

    def register_readonly_pages(self, model, **options):
        self._readonly_pages[model] = ReadOnlyPages(self, model, **options)

    def get_urls(self):
        extra = [url for pages in self._readonly_pages.values() for url in pages.get_urls()]
        return extra + super().get_urls()

    def _build_app_dict(self, request, label=None):
        app_dict = super()._build_app_dict(request, label)
        for model, pages in self._readonly_pages.items():
            app_label = model._meta.app_label
            if (label and app_label != label) or not pages.has_view_permission(request):
                continue
            entry = {
                "model": model,
                "name": capfirst(model._meta.verbose_name_plural),
                "object_name": model._meta.object_name,
                "perms": {"add": False, "change": False, "delete": False, "view": True},
                "admin_url": reverse(f"admin:{pages.url_name}_changelist", current_app=self.name),
                "add_url": None,
                "view_only": True,
            }
            if app_label in app_dict:
                app_dict[app_label]["models"].append(entry)
            else:
                app_dict[app_label] = {
                    "name": model._meta.app_config.verbose_name,
                    "app_label": app_label,
                    "app_url": reverse(
                        "admin:app_list", kwargs={"app_label": app_label}, current_app=self.name
                    ),
                    "has_module_perms": True,
                    "models": [entry],
                }
        return app_dict
