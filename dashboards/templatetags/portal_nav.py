"""The main navigation, with the current section marked (aria-current)."""

from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()

# (key, label, url name, who sees it)
ITEMS = [
    ("home", "Home", "home", "all"),
    ("services", "Services", "services:list", "all"),
    ("catalog", "Catalog", "controls:list", "all"),
    ("reviews", "Reviews", "reviews:list", "all"),
    ("queue", "Review queue", "reviews:queue", "reviewer"),
    ("waivers", "Waivers", "reviews:waivers", "all"),
    ("dashboard", "Dashboard", "dashboards:portfolio", "all"),
    ("exports", "Exports", "exports:list", "exporter"),
    ("audit", "Audit log", "audit:list", "auditor"),
]

WAIVER_VIEWS = {"waivers", "waiver_detail", "waiver_request", "waiver_decide", "waiver_revoke"}


def current_section(match) -> str:
    """Which nav entry the resolved URL belongs to."""
    if match is None:
        return ""
    namespace, name = match.namespace, match.url_name
    if not namespace:
        return "home" if name == "home" else ""
    if namespace == "reviews":
        if name == "queue":
            return "queue"
        return "waivers" if name in WAIVER_VIEWS else "reviews"
    if namespace == "dashboards":
        return "search" if name == "search" else "dashboard"
    return {
        "services": "services",
        "evidence": "services",
        "collection": "services",
        "controls": "catalog",
        "exports": "exports",
        "audit": "audit",
        "notifications": "notifications",
        "gate": "gate",
    }.get(namespace, "")


def _visible(who: str, user) -> bool:
    if who == "all":
        return True
    if who == "reviewer":
        return user.is_reviewer
    if who == "auditor":
        return user.is_auditor or user.is_platform_admin
    if who == "exporter":
        return user.is_auditor or user.is_platform_admin or bool(user.team_ids)
    return False


@register.inclusion_tag("dashboards/_nav.html", takes_context=True)
def main_nav(context):
    request = context["request"]
    user = request.user
    section = current_section(getattr(request, "resolver_match", None))
    items = []
    for key, label, url_name, who in ITEMS:
        if not _visible(who, user):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        items.append({"key": key, "label": label, "url": url, "current": key == section})
    return {
        "items": items,
        "section": section,
        "user": user,
        "q": request.GET.get("q", "") if section == "search" else "",
    }
