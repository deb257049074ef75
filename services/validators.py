"""Validators for AWS and repository identifiers, with messages a user can act on."""

import re

from django.core.exceptions import ValidationError

ACCOUNT_ID = re.compile(r"^\d{12}$")
ROLE_ARN = re.compile(
    r"^arn:(?P<partition>aws|aws-us-gov|aws-cn):iam::(?P<account>\d{12}):role/"
    r"(?P<path>(?:[\w+=,.@-]+/)*)(?P<name>[\w+=,.@-]{1,64})$"
)
REGION = re.compile(r"^[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")
REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
ENVIRONMENT = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
FUNCTION_PREFIX = re.compile(r"^[A-Za-z0-9_-]{0,64}$")
STACK_NAME = re.compile(r"^(?:[A-Za-z][A-Za-z0-9-]{0,127})?$")
TAG_KEY = re.compile(r"^[\w.:/=+\-@ ]{1,128}$")


def validate_account_id(value: str) -> None:
    if not ACCOUNT_ID.match(value or ""):
        raise ValidationError(
            "%(value)s is not an AWS account id: it must be exactly 12 digits.",
            code="invalid_account_id",
            params={"value": value},
        )


def validate_role_arn(value: str) -> None:
    if not ROLE_ARN.match(value or ""):
        raise ValidationError(
            "%(value)s is not an IAM role ARN (expected arn:aws:iam::<12-digit account>:role/"
            "<name>).",
            code="invalid_role_arn",
            params={"value": value},
        )


def validate_regions(value) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("List at least one AWS region.", code="regions_required")
    bad = [r for r in value if not isinstance(r, str) or not REGION.match(r)]
    if bad:
        raise ValidationError(
            "Not AWS region names: %(bad)s (expected e.g. eu-west-1).",
            code="invalid_region",
            params={"bad": ", ".join(map(str, bad))},
        )
    if len(set(value)) != len(value):
        raise ValidationError("A region is listed twice.", code="duplicate_region")


def validate_repository(value: str) -> None:
    if value and not REPOSITORY.match(value):
        raise ValidationError(
            "%(value)s is not a GitHub repository; use owner/name, e.g. acme/payments-api.",
            code="invalid_repository",
            params={"value": value},
        )


def validate_environments(value) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("List at least one environment.", code="environments_required")
    bad = [e for e in value if not isinstance(e, str) or not ENVIRONMENT.match(e)]
    if bad:
        raise ValidationError(
            "Invalid environment names: %(bad)s (lowercase letters, digits, hyphens).",
            code="invalid_environment",
            params={"bad": ", ".join(map(str, bad))},
        )
    if len(set(value)) != len(value):
        raise ValidationError("An environment is listed twice.", code="duplicate_environment")


def validate_function_prefix(value: str) -> None:
    if not FUNCTION_PREFIX.match(value or ""):
        raise ValidationError(
            "A function name prefix may hold only letters, digits, hyphens and underscores.",
            code="invalid_prefix",
        )


def validate_stack_name(value: str) -> None:
    if not STACK_NAME.match(value or ""):
        raise ValidationError(
            "%(value)s is not a CloudFormation stack name.",
            code="invalid_stack",
            params={"value": value},
        )


def validate_function_tags(value) -> None:
    if not isinstance(value, dict):
        raise ValidationError("Tags must be key/value pairs.", code="invalid_tags")
    for key, val in value.items():
        if not TAG_KEY.match(str(key)) or not isinstance(val, str) or len(val) > 256:
            raise ValidationError(
                "Invalid tag %(key)s: keys up to 128 and values up to 256 characters.",
                code="invalid_tags",
                params={"key": key},
            )
