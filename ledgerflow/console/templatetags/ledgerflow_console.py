import functools

from django import template
from django.contrib.admin.templatetags.admin_list import pagination, result_headers, result_list
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import SafeString

from ledgerflow.console.list_rows import rendered_rows, supports_fast_rows

register = template.Library()


@register.inclusion_tag("admin/ledgerflow/console/estimated_pagination.html")
def estimated_pagination(cl):
    """Django's pagination context, rendered by a template that says when a count is estimated
    and links to keyset pages."""
    return pagination(cl)


@register.inclusion_tag("admin/ledgerflow/console/large_change_list_results.html")
def large_result_list(cl):
    """Django's ``result_list``, with the rows rendered by ``list_rows`` when the list is plain."""
    if not supports_fast_rows(cl):
        return {**result_list(cl), "rows": None}
    headers = list(result_headers(cl))
    return {
        "cl": cl,
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "rows": rendered_rows(cl),
        "results": bool(cl.result_list),
    }


# What ``admin/app_list.html`` reads of each app and model entry.
_APP_KEYS = ("name", "app_label", "app_url")
_MODEL_KEYS = ("name", "object_name", "admin_url", "add_url", "view_only")


@register.simple_tag(takes_context=True)
def nav_sidebar(context):
    """Django's ``admin/nav_sidebar.html``, rendered once per app list, page path and language.

    The sidebar lists every model of the site and its template tests each against the page's
    path: a tenth of a large list's server time, for markup that only changes with the staff
    member's permissions (the app list the page holds, part of the key).
    """
    request = context["request"]
    apps = tuple(
        (
            tuple(app.get(key) for key in _APP_KEYS),
            tuple(tuple(model.get(key) for key in _MODEL_KEYS) for model in app["models"]),
        )
        for app in context.get("available_apps") or ()
    )
    return _rendered_sidebar(apps, request.path, translation.get_language())


@functools.lru_cache(maxsize=256)
def _rendered_sidebar(apps, path, language):
    available_apps = [
        {
            **dict(zip(_APP_KEYS, app, strict=True)),
            "models": [dict(zip(_MODEL_KEYS, model, strict=True)) for model in models],
        }
        for app, models in apps
    ]
    request = _PathOnly(path)
    with translation.override(language):
        html = render_to_string(
            "admin/nav_sidebar.html", {"available_apps": available_apps, "request": request}
        )
    return SafeString(html)


class _PathOnly:
    """What the sidebar's templates read of the request: its path (never cached beyond it)."""

    def __init__(self, path):
        self.path = path
