from django import template
from django.contrib.admin.templatetags.admin_list import pagination

register = template.Library()


@register.inclusion_tag("admin/ledgerflow/console/estimated_pagination.html")
def estimated_pagination(cl):
    """Django's pagination context, rendered by a template that says when a count is estimated."""
    return pagination(cl)
