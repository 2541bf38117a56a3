"""The admin site, able to show read-only pages for models it refuses to register.

Django 5.2's admin rejects models with a ``CompositePrimaryKey`` (``chain_states``). Such a model
gets a list and a detail page here, inside the admin's look, navigation and staff login. The site
also serves the read-only migrations console (``ledgerflow.console``), and on every page drops a
search term or sort order too long to parse (``QUERY_VALUE_MAX_LENGTH``).
"""

import functools
import re

from django.apps import apps
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.exceptions import DisallowedModelAdminLookup
from django.contrib.admin.utils import quote, unquote
from django.contrib.admin.views.main import ORDER_VAR, SEARCH_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.core.validators import ProhibitNullCharactersValidator
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, path, re_path, reverse
from django.utils.text import capfirst

# The console sits in the index under the project app; it has no model of its own.
CONSOLE_APP_LABEL = "ledgerflow"

# Longer than any value a search can match (the searched columns hold at most 255 characters)
# and than any sort order the column headers write. A longer ``q`` or ``o`` is dropped before the
# changelist parses it: a megabyte of ``o`` took 15 s of CPU, and the page repeats both values in
# every link it renders.
QUERY_VALUE_MAX_LENGTH = 300
OVERLONG_QUERY_VALUE = {
    SEARCH_VAR: (
        "The search term is {length:,} characters long; a search takes at most {limit} (no "
        "searched column holds a longer value). Nothing was searched: enter a shorter term."
    ),
    ORDER_VAR: (
        "The sort order in the address (o=) is {length:,} characters long, over the limit of "
        "{limit}. It was ignored: the list is in its default order."
    ),
}


# Django's message when a list refuses a lookup from the query string.
REFUSED_LOOKUP = re.compile(r"Filtering by (.+) not allowed")


def column_value(field, text):
    """``text`` from a URL as a value of ``field``'s column; ``ValidationError`` when it cannot
    be one (not a number, out of the column's range, too long, or holding a NUL byte, which
    PostgreSQL refuses in text: a 500)."""
    ProhibitNullCharactersValidator()(text)
    value = field.to_python(text)
    field.run_validators(value)
    return value


class ReadOnlyPages:
    """A list and a detail page for ``model``; rows are addressed by ``key_fields`` in the URL.

    ``related_links(obj)`` returns links shown on the detail page (to other admin pages).
    """

    list_per_page = 100

    def __init__(self, site, model, *, key_fields, list_display, ordering, related_links=None):
        self.site = site
        self.model = model
        self.key_fields = key_fields
        self.list_display = list_display
        self.ordering = ordering
        self.related_links = related_links or (lambda obj: [])
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

    def changelist_url(self):
        return reverse(f"admin:{self.url_name}_changelist", current_app=self.site.name)

    def detail_url(self, *key):
        """The detail page of the row with ``key``, or ``None`` when the key cannot be a path.

        Each value is quoted as the admin quotes primary keys (a contract address may hold a
        ``/``); an empty value matches no path segment, so that row gets no link rather than a
        ``NoReverseMatch`` (a 500 for the whole list).
        """
        try:
            return reverse(
                f"admin:{self.url_name}_detail",
                args=[quote(str(value)) for value in key],
                current_app=self.site.name,
            )
        except NoReverseMatch:
            return None

    def _context(self, request, title):
        return {
            **self.site.each_context(request),
            "opts": self.opts,
            "title": title,
            "app_label": self.opts.app_label,
        }

    def _lookup(self, key):
        """``key`` (strings from the URL) as field values; ``None`` when one cannot be a value of
        its column, so no query runs for it."""
        try:
            return {
                name: column_value(self.opts.get_field(name), text) for name, text in key.items()
            }
        except ValidationError:
            return None

    def list_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        queryset = self.model._default_manager.order_by(*self.ordering)
        # Filters by exact key values, as the deposit events page links here (?chain_id=8453).
        filters = {
            name: request.GET[name] for name in self.key_fields if request.GET.get(name, "") != ""
        }
        lookup = self._lookup(filters)
        queryset = queryset.none() if lookup is None else queryset.filter(**lookup)
        page_obj = Paginator(queryset, self.list_per_page).get_page(request.GET.get("p"))
        rows = [
            (
                self.detail_url(*[getattr(obj, name) for name in self.key_fields]),
                [getattr(obj, name) for name in self.list_display],
            )
            for obj in page_obj
        ]
        headers = [capfirst(self.opts.get_field(name).verbose_name) for name in self.list_display]
        context = self._context(request, capfirst(self.opts.verbose_name_plural))
        context.update(
            headers=headers,
            rows=rows,
            page_obj=page_obj,
            filters=filters,
            changelist_url=self.changelist_url(),
        )
        return TemplateResponse(request, "admin/ledgerflow/readonly_list.html", context)

    def detail_view(self, request, **key):
        if not self.has_view_permission(request):
            raise PermissionDenied
        lookup = self._lookup({name: unquote(value) for name, value in key.items()})
        obj = None if lookup is None else self.model._default_manager.filter(**lookup).first()
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} matches {key}.")
        fields = [
            (field.name, capfirst(field.verbose_name), getattr(obj, field.attname))
            for field in self.opts.concrete_fields
        ]
        context = self._context(request, f"{capfirst(self.opts.verbose_name)}: {obj}")
        context.update(
            object=obj,
            fields=fields,
            related_links=self.related_links(obj),
            changelist_url=self.changelist_url(),
        )
        return TemplateResponse(request, "admin/ledgerflow/readonly_detail.html", context)


class LedgerFlowAdminSite(admin.AdminSite):
    site_header = "LedgerFlow operations"
    site_title = "LedgerFlow"
    index_title = "Schema data"
    # The project serves no public site: no "View site" link to a 404.
    site_url = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._readonly_pages = {}

    def admin_view(self, view, cacheable=False):
        view = self._refusing_impossible_keys(view)
        view = self._answering_refused_lookups(view)
        view = self._dropping_overlong_query_values(view)
        return super().admin_view(view, cacheable)

    def _answering_refused_lookups(self, view):
        """``view``, except that a filter the list refuses (``?amount=5``: see
        ``LargeTableAdmin.lookup_allowed``) answers a 400 page saying so, inside the admin, also
        with ``DEBUG`` on (where Django would show a traceback page)."""

        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                return view(request, *args, **kwargs)
            except DisallowedModelAdminLookup as refused:
                lookup = REFUSED_LOOKUP.fullmatch(str(refused))
                context = {
                    **self.each_context(request),
                    "title": "Filter refused",
                    "lookup": lookup.group(1) if lookup else str(refused),
                    "list_url": request.path,
                }
                return TemplateResponse(
                    request, "admin/ledgerflow/refused_lookup.html", context, status=400
                )

        return wrapper

    @staticmethod
    def _refusing_impossible_keys(view):
        """``view``, except that an object key that cannot be a primary key of the model (see
        ``column_value``) is a 404 before any query; a possible key that matches no row keeps
        the admin's own answer."""
        model_admin = getattr(view, "__self__", None)
        model = getattr(model_admin, "model", None)

        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            object_id = kwargs.get("object_id")
            if model is not None and object_id is not None and "_to_field" not in request.GET:
                try:
                    column_value(model._meta.pk, unquote(object_id))
                except ValidationError:
                    raise Http404(f"No {model._meta.verbose_name} has that key.") from None
            return view(request, *args, **kwargs)

        return wrapper

    @staticmethod
    def _dropping_overlong_query_values(view):
        """``view``, except that a ``q`` or ``o`` over ``QUERY_VALUE_MAX_LENGTH`` redirects to the
        same page without it, with a message saying what was dropped."""

        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            lengths = {
                name: max(map(len, request.GET.getlist(name)), default=0)
                for name in OVERLONG_QUERY_VALUE
            }
            overlong = {name: n for name, n in lengths.items() if n > QUERY_VALUE_MAX_LENGTH}
            if not overlong:
                return view(request, *args, **kwargs)
            query = request.GET.copy()
            for name, length in overlong.items():
                del query[name]
                text = OVERLONG_QUERY_VALUE[name]
                messages.error(request, text.format(length=length, limit=QUERY_VALUE_MAX_LENGTH))
            return HttpResponseRedirect(
                f"{request.path}?{query.urlencode()}" if query else request.path
            )

        return wrapper

    def register_readonly_pages(self, model, **options):
        self._readonly_pages[model] = ReadOnlyPages(self, model, **options)

    def readonly_pages_for(self, model):
        return self._readonly_pages[model]

    def migrations_console_view(self, request):
        from ledgerflow.console.views import migrations_console

        return migrations_console(request, self)

    def get_urls(self):
        extra = [url for pages in self._readonly_pages.values() for url in pages.get_urls()]
        extra += [
            path(
                "migrations/",
                self.admin_view(self.migrations_console_view),
                name="migrations_console",
            ),
            # The project app has no registered model, so Django's app index would not know it.
            re_path(
                rf"^(?P<app_label>{CONSOLE_APP_LABEL})/$",
                self.admin_view(self.app_index),
                name="app_list",
            ),
        ]
        return extra + super().get_urls()

    def _url(self, name, **kwargs):
        """``reverse("admin:<name>")`` in this site, reversed once per URL configuration and
        script prefix; ``None`` when the name does not reverse."""
        return _site_url(
            self.name,
            name,
            tuple(sorted(kwargs.items())),
            get_urlconf() or settings.ROOT_URLCONF,
            get_script_prefix(),
        )

    def _build_app_dict(self, request, label=None):
        # Django's, with the URLs reversed once rather than on every page: every page lists every
        # model in the sidebar, and reversing their URLs was a twentieth of a large list's time.
        app_dict = {}
        for model, model_admin in self._registry.items():
            app_label = model._meta.app_label
            if label and app_label != label:
                continue
            has_module_perms = model_admin.has_module_permission(request)
            if not has_module_perms:
                continue
            perms = model_admin.get_model_perms(request)
            if True not in perms.values():
                continue
            info = f"{app_label}_{model._meta.model_name}"
            # Two models are called "user" (staff logins and the bot's Telegram users): their
            # admins name them apart with ``index_name``.
            name = getattr(model_admin, "index_name", None)
            entry = {
                "model": model,
                "name": name or capfirst(model._meta.verbose_name_plural),
                "object_name": model._meta.object_name,
                "perms": perms,
                "admin_url": None,
                "add_url": None,
            }
            if perms.get("change") or perms.get("view"):
                entry["view_only"] = not perms.get("change")
                entry["admin_url"] = self._url(f"{info}_changelist")
            if perms.get("add"):
                entry["add_url"] = self._url(f"{info}_add")
            if app_label in app_dict:
                app_dict[app_label]["models"].append(entry)
            else:
                app_dict[app_label] = {
                    "name": apps.get_app_config(app_label).verbose_name,
                    "app_label": app_label,
                    "app_url": self._url("app_list", app_label=app_label),
                    "has_module_perms": has_module_perms,
                    "models": [entry],
                }
        entries = [
            (model._meta.app_label, model._meta.app_config.verbose_name, self._pages_entry(model))
            for model, pages in self._readonly_pages.items()
            if pages.has_view_permission(request)
        ]
        if request.user.is_active and request.user.is_staff:
            entries.append((CONSOLE_APP_LABEL, "LedgerFlow schema", self._console_entry()))
        for app_label, app_name, entry in entries:
            if label and app_label != label:
                continue
            if app_label in app_dict:
                app_dict[app_label]["models"].append(entry)
            else:
                app_dict[app_label] = {
                    "name": app_name,
                    "app_label": app_label,
                    "app_url": self._url("app_list", app_label=app_label),
                    "has_module_perms": True,
                    "models": [entry],
                }
        return app_dict

    def _pages_entry(self, model):
        return {
            "model": model,
            "name": capfirst(model._meta.verbose_name_plural),
            "object_name": model._meta.object_name,
            "perms": {"add": False, "change": False, "delete": False, "view": True},
            "admin_url": self._url(f"{self._readonly_pages[model].url_name}_changelist"),
            "add_url": None,
            "view_only": True,
        }

    def _console_entry(self):
        return {
            "model": None,
            "name": "Migrations",
            "object_name": "Migrations",
            "perms": {"add": False, "change": False, "delete": False, "view": True},
            "admin_url": self._url("migrations_console"),
            "add_url": None,
            "view_only": True,
        }


@functools.lru_cache(maxsize=1024)
def _site_url(site_name, name, kwargs, urlconf, script_prefix):
    try:
        return reverse(f"admin:{name}", kwargs=dict(kwargs), urlconf=urlconf, current_app=site_name)
    except NoReverseMatch:
        return None
