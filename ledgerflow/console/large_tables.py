"""Admin settings for tables that grow to millions of rows.

The stock changelist runs a full ``COUNT(*)`` per page, searches with ``UPPER(col) = UPPER(term)``
or ``icontains`` (no btree index can serve either) and lists ``SELECT DISTINCT`` values for
filters. Here: counts come from ``pg_class`` or are capped, searches are exact matches on indexed
columns, and filter choices come from a loose index scan.
"""

import functools
import json
import re
from html import escape
from urllib.parse import quote_plus

from django.contrib import admin
from django.contrib.admin.filters import FieldListFilter
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import get_fields_from_path, quote
from django.contrib.admin.views.main import ORDER_VAR, PAGE_VAR, ChangeList
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Q
from django.urls import get_script_prefix, reverse
from django.utils.functional import cached_property
from django.utils.safestring import SafeString

from ledgerflow.console import keyset

# Keyset pages' query-string parameters: the cursor of the row a page starts after or ends before.
AFTER_VAR = "after"
BEFORE_VAR = "before"
CURSOR_VARS = (AFTER_VAR, BEFORE_VAR)


def table_row_estimate(model, using="default"):
    """The planner's row estimate for ``model``'s table (``-1`` before the first ANALYZE)."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [model._meta.db_table],
        )
        row = cursor.fetchone()
    return row[0] if row else -1


def planner_row_estimate(queryset):
    """How many rows the planner expects ``queryset`` to return, from ``EXPLAIN``."""
    sql, params = queryset.order_by().query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def distinct_indexed_values(model, column, using="default"):
    """Distinct values of an indexed ``column``, by a loose index scan.

    One index probe per distinct value instead of reading every row: milliseconds on millions of
    rows when the values are few (chain ids). ``column`` must lead a btree index.
    """
    table = connections[using].ops.quote_name(model._meta.db_table)
    col = connections[using].ops.quote_name(column)
    sql = f"""
        WITH RECURSIVE found AS (
            (SELECT {col} AS value FROM {table} WHERE {col} IS NOT NULL ORDER BY {col} LIMIT 1)
            UNION ALL
            SELECT (SELECT t.{col} FROM {table} t WHERE t.{col} > found.value
                    ORDER BY t.{col} LIMIT 1)
            FROM found WHERE found.value IS NOT NULL
        )
        SELECT value FROM found WHERE value IS NOT NULL
    """
    with connections[using].cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


class EstimatedCountPaginator(Paginator):
    """A paginator that never counts a whole large table.

    Unfiltered lists take the table's estimate from ``pg_class``; filtered lists count at most
    ``exact_count_limit + 1`` rows and, past that, take the planner's estimate. ``is_estimate``
    tells the template to say "about".
    """

    exact_count_limit = 10_000

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.is_estimate = False

    @cached_property
    def count(self):
        queryset = self.object_list
        if not queryset.query.where:
            estimate = table_row_estimate(queryset.model, queryset.db)
            if estimate > self.exact_count_limit:
                self.is_estimate = True
                return estimate
        capped = queryset.order_by()[: self.exact_count_limit + 1].count()
        if capped <= self.exact_count_limit:
            return capped
        self.is_estimate = True
        return max(capped, planner_row_estimate(queryset))


class ReadOnlyAdminMixin:
    """A service owns these rows; staff may look but not touch."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class KnownChoicesListFilter(admin.ChoicesFieldListFilter):
    """A choices filter that drops values outside the field's choices before they reach SQL.

    For a native enum column a value that is not one of its labels is not a miss but an error
    (``invalid input value for enum``), raised when the page runs the query: a 500. A tampered
    ``?status__exact=bogus`` matches no row instead.
    """

    def queryset(self, request, queryset):
        values = self.used_parameters.get(self.lookup_kwarg)
        if values is not None:
            known = {str(value) for value, _ in self.field.flatchoices}
            kept = [value for value in values if value in known]
            if not kept:
                return queryset.none()
            self.used_parameters[self.lookup_kwarg] = kept
        return super().queryset(request, queryset)


class LargeTableChangeList(ChangeList):
    """Pages by keyset (``?after=``/``?before=`` a row's key) instead of OFFSET; sorts only by
    the admin's ``sortable_by`` columns; reverses the change URL once per page, not once per row.

    ``?p=N`` still opens page N by OFFSET (old links keep working), but the list links only to
    keyset pages, so page 1000 reached by "next" costs what page 1 does.
    """

    _placeholder = "__ledgerflow_pk__"
    keyset = None  # the key columns when this page was read by keyset
    next_url = previous_url = first_url = None

    def get_filters_params(self, params=None):
        lookup_params = super().get_filters_params(params)
        for name in CURSOR_VARS:
            lookup_params.pop(name, None)
        return lookup_params

    def get_query_string(self, new_params=None, remove=None):
        # Every link the page writes (filters, sorting, search) starts again from the first page.
        return super().get_query_string(new_params, [*(remove or ()), *CURSOR_VARS])

    def get_results(self, request):
        # Django's count (bounded by the paginator) and flags; its page is a lazy slice that
        # never runs when a keyset page replaces it.
        super().get_results(request)
        columns = keyset.key_columns(self.lookup_opts, self.queryset.query.order_by)
        offset_page = PAGE_VAR in request.GET and not any(v in request.GET for v in CURSOR_VARS)
        if columns is None or offset_page or (self.show_all and self.can_show_all):
            return
        try:
            rows, has_previous, has_next = self._keyset_page(request, columns)
        except keyset.InvalidCursor:
            raise IncorrectLookupParameters from None
        self.keyset = columns
        self.result_list = rows
        if rows and has_next:
            self.next_url = self.get_query_string({AFTER_VAR: keyset.encode(columns, rows[-1])})
        if rows and has_previous:
            self.previous_url = self.get_query_string({BEFORE_VAR: keyset.encode(columns, rows[0])})
            self.first_url = self.get_query_string()

    def _keyset_page(self, request, columns):
        """``(rows, has_previous, has_next)`` of the page the cursor in ``request`` names."""
        size = self.list_per_page
        before = request.GET.get(BEFORE_VAR)
        after = request.GET.get(AFTER_VAR)
        if before is not None:
            values = keyset.decode(columns, before)
            rows = list(
                self.queryset.filter(keyset.beyond(columns, values, reverse=True)).order_by(
                    *keyset.reversed_ordering(columns)
                )[: size + 1]
            )
            if len(rows) > size:
                return rows[:size][::-1], True, True
            # Fewer than a page before it: the list's start, shown as the first page.
        elif after is not None:
            values = keyset.decode(columns, after)
            rows = list(self.queryset.filter(keyset.beyond(columns, values))[: size + 1])
            return rows[:size], True, len(rows) > size
        rows = list(self.queryset[: size + 1])
        return rows[:size], False, len(rows) > size

    def get_ordering(self, request, queryset):
        # Django's ChangeList sorts by any list_display column ``?o=`` names: ``sortable_by`` only
        # hides the header's link. ``?o=2`` on orders sorted a million rows by ``amount``, which
        # no index holds. Entries naming other columns are dropped, as Django drops unknown
        # indexes; with none left the page keeps its default order. The headers read the same
        # cleaned value.
        kept = [entry for entry in self.params.get(ORDER_VAR, "").split(".") if self._sorts(entry)]
        if kept:
            self.params[ORDER_VAR] = ".".join(kept)
        else:
            self.params.pop(ORDER_VAR, None)
        return super().get_ordering(request, queryset)

    def _sorts(self, entry):
        """Whether an ``o`` entry (``3`` or ``-3``) names a column of ``sortable_by``."""
        try:
            index = int(entry.removeprefix("-"))
        except ValueError:
            return False
        return 0 <= index < len(self.list_display) and self.list_display[index] in self.sortable_by

    def get_queryset(self, request, exclude_parameters=None):
        # The search form repeats ``params`` as hidden fields: a new search starts a new list.
        for name in CURSOR_VARS:
            self.params.pop(name, None)
        queryset = super().get_queryset(request, exclude_parameters)
        # PostgreSQL refuses a NUL byte in a text parameter (a 500 when the page runs the query,
        # e.g. ``?order_id=%00``); no row holds one. The queryset has not run yet.
        values = self.get_filters_params().values()
        if any("\x00" in value for value_list in values for value in value_list):
            return queryset.none()
        return queryset

    def url_for_result_template(self):
        """The change URL with ``_placeholder`` where the quoted primary key goes."""
        if not hasattr(self, "_change_url"):
            self._change_url = reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                args=(self._placeholder,),
                current_app=self.model_admin.admin_site.name,
            )
        return self._change_url

    def url_for_result(self, result):
        return self.url_for_result_template().replace(
            self._placeholder, quote(str(getattr(result, self.pk_attname)))
        )


class LargeTableAdmin(admin.ModelAdmin):
    """A ``ModelAdmin`` for tables with millions of rows.

    ``exact_search_fields`` name indexed columns; a search term matches a row when it equals one
    of them (after the field's own conversion: a term that is not a number does not search a
    bigint column, and never reaches the database as a cast).
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # "Show counts" counts each filter choice over the list without that filter: on a filtered
    # list, every row of the table.
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    list_max_show_all = 200
    change_list_template = "admin/ledgerflow/console/large_change_list.html"
    exact_search_fields = ()
    # Columns an index gives in order (a page is an index range, not a sort of the table); no
    # other column sorts, whatever ``?o=`` says (see ``LargeTableChangeList.get_ordering``).
    sortable_by = ()
    # ``{column: characters}``: list cells of longer values show their ends, in full on hover, so
    # that every column fits 1280-1440 px with the sidebar open (a 78-digit amount would not).
    compact_columns = {}
    # Indexed columns other pages link to with ``?column=value``; with the list filters' own
    # parameters, the only lookups the query string may carry (see ``lookup_allowed``).
    key_lookups = ()

    def get_changelist(self, request, **kwargs):
        return LargeTableChangeList

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        # Each field also renders the value the page showed, so "changed" means changed by staff,
        # not "differs from the row re-read at save time": a service may have written it since.
        for field in form.base_fields.values():
            field.show_hidden_initial = True
        return form

    def save_model(self, request, obj, form, change):
        # On change write only what staff edited: a full-row UPDATE would put stale values back
        # over a concurrent write by the service that owns the row. History records it as usual.
        if not change:
            obj.save()
        elif form.changed_data:
            obj.save(update_fields=form.changed_data)

    def lookup_allowed(self, lookup, value, request=None):
        # Django's admin accepts a lookup on any column of the model from the query string
        # (``?amount=5``, ``?token_address__icontains=ab``): on these tables that is a sequential
        # scan of millions of rows, run twice (count and page). Refused lookups are a 400
        # (``DisallowedModelAdminLookup``), not a silently unfiltered list.
        return lookup in self.key_lookups or lookup in self.filter_parameters(request)

    def filter_parameters(self, request):
        """The query-string parameters the declared ``list_filter`` entries read."""
        parameters = set()
        for item in self.get_list_filter(request):
            if isinstance(item, type) and issubclass(item, admin.SimpleListFilter):
                # Not instantiated: its ``lookups()`` may query (the chain filter does).
                parameters.add(item.parameter_name)
                continue
            if isinstance(item, (list, tuple)):
                field_path, filter_class = item
            else:
                field_path, filter_class = item, FieldListFilter.create
            field = get_fields_from_path(self.model, field_path)[-1]
            spec = filter_class(field, request, {}, self.model, self, field_path=field_path)
            parameters.update(spec.expected_parameters())
        return parameters

    def get_search_fields(self, request):
        return self.exact_search_fields

    def search_condition(self, name, value):
        """The condition for one field; subclasses add what lets an index serve it."""
        return Q(**{name: value})

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = Q()
        for name in self.exact_search_fields:
            field = self.model._meta.get_field(name)
            try:
                value = field.to_python(term)
                field.run_validators(value)
            except ValidationError:
                continue
            condition |= self.search_condition(name, value)
        if not condition:
            return queryset.none(), False
        return queryset.filter(condition), False


@functools.cache
def _changelist_url(model, script_prefix):
    """``model``'s changelist URL, escaped for an attribute."""
    opts = model._meta
    return escape(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))


# What ``quote_plus`` leaves as it is: most keys (order ids, Telegram ids) need no encoding, and
# this test costs a tenth of encoding them.
_URL_SAFE = re.compile(r"[A-Za-z0-9_.~-]*")


def _query_value(value):
    text = str(value)
    return text if _URL_SAFE.fullmatch(text) else quote_plus(text)


def changelist_link(model, label, **filters):
    """A link to ``model``'s changelist filtered by exact ``filters`` (no query runs).

    Called once per row: the URL is reversed once per model (``reverse()`` was a third of a
    changelist's time), and each value is escaped once without ``format_html``'s lazy machinery.
    """
    url = _changelist_url(model, get_script_prefix())
    # ``urlencode``'s own encoding, without its type checks (a third of this function's time).
    # Encoded values hold no character HTML escapes: only the separators need it.
    query = "&amp;".join([f"{name}={_query_value(value)}" for name, value in filters.items()])
    return SafeString(f'<a href="{url}?{query}">{escape(str(label))}</a>')


def shorten(value, head=6, tail=4):
    """``0x1234…abcd`` for long hex strings; the full value stays in the title attribute."""
    if not value:
        return "-"
    if len(value) <= head + tail + 1:
        return value
    short = escape(f"{value[:head]}…{value[-tail:]}")
    return SafeString(f'<span class="nowrap" title="{escape(value)}">{short}</span>')


def change_url(obj):
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
