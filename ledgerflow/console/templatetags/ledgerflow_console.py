from django import template
from django.contrib.admin.templatetags.admin_list import pagination, result_headers, result_list

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
