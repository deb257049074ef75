from django import template

register = template.Library()


@register.filter
def count_for(counts: dict, key) -> int:
    """``{{ counts|count_for:item.pk }}``: a dict lookup that defaults to 0."""
    return (counts or {}).get(key, 0)
