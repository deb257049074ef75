from urllib.parse import urlencode

from django import template
from django.urls import reverse

register = template.Library()

_SEVERITY_BADGE = {"critical": "bad", "high": "warn"}


@register.simple_tag(takes_context=True)
def catalog_url(context, name, *args, **query):
    """reverse() plus the page's ``?v=`` catalog version, so links stay in that version."""
    url = reverse(name, args=args)
    params = {k: v for k, v in query.items() if v not in ("", None)}
    version_query = context.get("version_query", "")
    encoded = "&".join(filter(None, [version_query, urlencode(params)]))
    return f"{url}?{encoded}" if encoded else url


@register.filter
def severity_badge(severity: str) -> str:
    return _SEVERITY_BADGE.get(severity, "")


@register.filter
def tiers(values) -> str:
    return ", ".join(str(v) for v in sorted(values or [])) or "none"
