"""JSON Schemas (draft 2020-12) for the catalog's YAML files.

Cross-file rules (unique codes, known requirements, check ids, runbook and guardrail links,
applicability rules) are checked by the loader after every file passes its schema.
"""

from controls.choices import Section, Severity

_TEXT = {"type": "string", "minLength": 1}
_STR_LIST = {"type": "array", "items": _TEXT, "uniqueItems": True}

CATALOG_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "title"],
    "properties": {
        "version": {"type": "string", "pattern": r"^\d{4}\.\d{1,2}\.\d{1,3}$"},
        "title": _TEXT,
        "notes": {"type": "string"},
    },
}

FRAMEWORK_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["code", "name", "version", "requirements"],
    "properties": {
        "code": {"type": "string", "pattern": r"^[A-Z0-9][A-Z0-9.-]{1,39}$"},
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "version": {"type": "string", "minLength": 1, "maxLength": 120},
        "url": {"type": "string", "pattern": r"^https://", "maxLength": 500},
        "description": {"type": "string"},
        "position": {"type": "integer", "minimum": 0},
        "requirements": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["ref", "title"],
                "properties": {
                    "ref": {"type": "string", "minLength": 1, "maxLength": 60},
                    "title": {"type": "string", "minLength": 1, "maxLength": 300},
                },
            },
        },
    },
}

RUNBOOK_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["slug", "title", "scenario", "steps", "escalation_path"],
    "properties": {
        "slug": {"type": "string", "pattern": r"^[a-z0-9]+(?:-[a-z0-9]+)*$", "maxLength": 80},
        "title": {"type": "string", "minLength": 1, "maxLength": 200},
        "position": {"type": "integer", "minimum": 0},
        "scenario": _TEXT,
        "steps": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["action", "command", "expected_result", "troubleshooting"],
                "properties": {
                    "action": _TEXT,
                    "command": {"type": "string"},
                    "expected_result": _TEXT,
                    "troubleshooting": _TEXT,
                },
            },
        },
        "escalation_path": _TEXT,
        "mermaid": {"type": "string"},
    },
}

_RULE = {"type": "object"}  # structure checked by controls.applicability.validate_rule

_CONTROL_FIELDS = {
    "title": {"type": "string", "minLength": 1, "maxLength": 200},
    "requirement": _TEXT,
    "rationale": _TEXT,
    "aws_services": {**_STR_LIST, "minItems": 1},
    "enforcement": _TEXT,
    "check": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "reads", "pass_condition"],
        "properties": {
            "id": {"type": "string", "pattern": r"^[a-z0-9_]+\.[a-z0-9_]+$", "maxLength": 64},
            "reads": {**_STR_LIST, "minItems": 1},
            "pass_condition": _TEXT,
        },
    },
    "evidence": _TEXT,
    "validation": _TEXT,
    "severity": {"enum": Severity.values},
    "mandatory_tiers": {
        "type": "array",
        "items": {"type": "integer", "minimum": 1, "maximum": 4},
        "uniqueItems": True,
    },
    "applicability": _RULE,
    "freshness_days": {"type": "integer", "minimum": 1, "maximum": 730},
    "guardrails": _STR_LIST,
    "runbooks": _STR_LIST,
    "mappings": {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": {**_STR_LIST, "minItems": 1},
    },
}

_DEFAULTABLE = ("aws_services", "mandatory_tiers", "applicability", "freshness_days")

CONTROLS_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["section", "controls"],
    "properties": {
        "section": {"enum": Section.values},
        "defaults": {
            "type": "object",
            "additionalProperties": False,
            "properties": {key: _CONTROL_FIELDS[key] for key in _DEFAULTABLE},
        },
        "controls": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                # Defaultable fields are required after defaults are merged (loader).
                "required": [
                    "code",
                    "title",
                    "requirement",
                    "rationale",
                    "enforcement",
                    "evidence",
                    "validation",
                    "severity",
                    "mappings",
                ],
                "properties": {
                    "code": {"type": "string", "pattern": r"^PRR-[A-Z]{2,5}-\d{3}$"},
                    **_CONTROL_FIELDS,
                },
            },
        },
    },
}

DEFAULTABLE_FIELDS = _DEFAULTABLE
