from django import template

register = template.Library()

STATUS_BADGE = {"pass": "ok", "fail": "bad", "error": "warn", "not_applicable": ""}
RUN_BADGE = {"succeeded": "ok", "failed": "bad", "partial": "warn"}


@register.inclusion_tag("collection/_panel_body.html", takes_context=True)
def collection_panel(context, service):
    from collection.views import panel_context

    data = panel_context(service, context["request"].user)
    data["request"] = context["request"]
    data["csrf_token"] = context.get("csrf_token")
    return data


@register.filter
def status_badge(status: str) -> str:
    return STATUS_BADGE.get(status, "")


@register.filter
def run_badge(status: str) -> str:
    return RUN_BADGE.get(status, "")


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key)
