"""Applicability rules: a small, validated language over a service profile (no eval).

A rule is ``{}`` (always applies), a combinator ``{"all": [rule, ...]}``,
``{"any": [rule, ...]}`` or ``{"not": rule}``, or a condition ``{"field": F, OP: value}``
where F is a key of ``services.Service.profile()`` and OP one of ``equals``, ``in``,
``lte``, ``gte``. Rules are validated when the catalog is loaded, so evaluation never
meets an unknown field or operator.
"""

from typing import Any

PROFILE_FIELDS: dict[str, type] = {
    "tier": int,
    "data_classification": str,
    "uses_api_gateway": bool,
    "uses_async_invocation": bool,
    "uses_event_source_mapping": bool,
    "requires_vpc": bool,
    "internet_facing": bool,
}
OPERATORS = ("equals", "in", "lte", "gte")
COMBINATORS = ("all", "any", "not")
MAX_DEPTH = 5


class RuleError(ValueError):
    """An invalid rule; ``path`` locates the offending part (e.g. ``all/1/field``)."""

    def __init__(self, message: str, path: str = ""):
        super().__init__(message)
        self.path = path


def _scalar_ok(field: str, value: Any) -> bool:
    expected = PROFILE_FIELDS[field]
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def validate_rule(rule: Any, path: str = "", depth: int = 0) -> None:
    """Raise RuleError unless ``rule`` is a well-formed rule."""
    if depth > MAX_DEPTH:
        raise RuleError(f"rule nested deeper than {MAX_DEPTH} levels", path)
    if not isinstance(rule, dict):
        raise RuleError("a rule must be a mapping", path)
    if not rule:
        return
    keys = set(rule)
    combinator = keys & set(COMBINATORS)
    if combinator:
        if len(keys) != 1:
            raise RuleError("a combinator must be the only key of its rule", path)
        (name,) = combinator
        body = rule[name]
        if name == "not":
            validate_rule(body, _join(path, name), depth + 1)
            return
        if not isinstance(body, list) or not body:
            raise RuleError(f"'{name}' takes a non-empty list of rules", _join(path, name))
        for index, child in enumerate(body):
            validate_rule(child, _join(path, f"{name}/{index}"), depth + 1)
        return
    _validate_condition(rule, path)


def _validate_condition(rule: dict, path: str) -> None:
    field = rule.get("field")
    if field not in PROFILE_FIELDS:
        raise RuleError(
            f"unknown field {field!r}; expected one of {', '.join(PROFILE_FIELDS)}",
            _join(path, "field"),
        )
    ops = [key for key in rule if key != "field"]
    if len(ops) != 1 or ops[0] not in OPERATORS:
        raise RuleError(f"a condition needs exactly one operator of {', '.join(OPERATORS)}", path)
    op = ops[0]
    value = rule[op]
    if op == "in":
        if not isinstance(value, list) or not value:
            raise RuleError("'in' takes a non-empty list", _join(path, op))
        if not all(_scalar_ok(field, item) for item in value):
            raise RuleError(f"'in' values must match the type of {field}", _join(path, op))
    elif op in ("lte", "gte"):
        if PROFILE_FIELDS[field] is not int or not _scalar_ok(field, value):
            raise RuleError(f"'{op}' compares integers only", _join(path, op))
    elif not _scalar_ok(field, value):
        raise RuleError(f"'equals' value must match the type of {field}", _join(path, op))


def _join(path: str, part: str) -> str:
    return f"{path}/{part}" if path else part


def evaluate(rule: dict, profile: dict) -> bool:
    """True when ``rule`` holds for ``profile``. A profile missing a field fails its
    conditions (closed by default: an incomplete profile gets no exemption from ``not``)."""
    if not rule:
        return True
    if "all" in rule:
        return all(evaluate(child, profile) for child in rule["all"])
    if "any" in rule:
        return any(evaluate(child, profile) for child in rule["any"])
    if "not" in rule:
        return not evaluate(rule["not"], profile)
    field = rule["field"]
    if field not in profile:
        return False
    actual = profile[field]
    if "equals" in rule:
        return actual == rule["equals"]
    if "in" in rule:
        return actual in rule["in"]
    if "lte" in rule:
        return actual is not None and actual <= rule["lte"]
    if "gte" in rule:
        return actual is not None and actual >= rule["gte"]
    return False


def describe(rule: dict) -> str:
    """A human sentence for a rule, shown on control pages and in the documentation."""
    if not rule:
        return "Always"
    if "all" in rule:
        return " and ".join(_wrap(child) for child in rule["all"])
    if "any" in rule:
        return " or ".join(_wrap(child) for child in rule["any"])
    if "not" in rule:
        return f"not {_wrap(rule['not'])}"
    field = rule["field"]
    if "equals" in rule:
        return f"{field} is {_fmt(rule['equals'])}"
    if "in" in rule:
        return f"{field} in {', '.join(_fmt(v) for v in rule['in'])}"
    if "lte" in rule:
        return f"{field} ≤ {rule['lte']}"
    return f"{field} ≥ {rule['gte']}"


def rule_fields(rule: dict) -> list[str]:
    """The profile fields ``rule`` reads, in the order they appear (each once)."""
    found: list[str] = []
    stack = [rule or {}]
    while stack:
        node = stack.pop(0)
        if "field" in node:
            if node["field"] not in found:
                found.append(node["field"])
            continue
        for key in ("all", "any"):
            stack.extend(node.get(key) or [])
        if "not" in node:
            stack.append(node["not"])
    return found


def profile_values(rule: dict, profile: dict) -> str:
    """The profile's values of the fields ``rule`` reads, as ``describe`` words them
    (``tier 4, uses_api_gateway false``)."""
    return ", ".join(f"{f} {_fmt(profile[f])}" for f in rule_fields(rule) if f in profile)


def _wrap(rule: dict) -> str:
    text = describe(rule)
    return f"({text})" if any(key in rule for key in ("all", "any")) else text


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
