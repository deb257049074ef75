"""AWS faults in plain words a service owner can act on."""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
)
from botocore.parsers import ResponseParserError

THROTTLE_CODES = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
}
DENIED_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "AuthorizationErrorException",
}


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "ClientError")
    return type(exc).__name__


def _operation(exc: BaseException) -> str:
    return getattr(exc, "operation_name", "") or "the call"


def describe(exc: BaseException, *, role_arn: str = "", region: str = "") -> str:
    """One sentence saying what went wrong and what to do. Never includes response bodies."""
    code = error_code(exc)
    op = _operation(exc)
    if isinstance(exc, ClientError) and op == "AssumeRole":
        if code in DENIED_CODES:
            return (
                f"The portal cannot assume role {role_arn}: check its trust policy and external id."
            )
        return f"The portal cannot assume role {role_arn} ({code})."
    if code in {"ExpiredToken", "InvalidClientTokenId", "UnrecognizedClientException"}:
        return "The portal's own AWS credentials are invalid or expired."
    if code in DENIED_CODES:
        return (
            f"The collector role {role_arn} is not allowed to call {op}"
            f"{' in ' + region if region else ''}: add it to the role's read-only policy."
        )
    if code in THROTTLE_CODES:
        return (
            f"AWS kept throttling {op} after retries{' in ' + region if region else ''}: "
            "run again later or lower the collection rate."
        )
    if code == "OptInRequired" or code == "InvalidAccessException":
        return f"{op} is not available: the AWS service is not enabled in this region."
    if isinstance(exc, EndpointConnectionError):
        return f"Cannot reach the AWS endpoint{' for ' + region if region else ''}."
    if isinstance(exc, NoCredentialsError):
        return "The portal has no AWS credentials to assume the collector role with."
    if isinstance(exc, ResponseParserError):
        return f"AWS sent an answer to {op} that could not be read."
    if isinstance(exc, ClientError):
        return f"{op} failed with {code}."
    if isinstance(exc, BotoCoreError):
        return f"AWS call failed: {type(exc).__name__}."
    return f"Unexpected error: {type(exc).__name__}."


def is_missing(exc: BaseException) -> bool:
    """The resource does not exist (a policy, an invoke config): an answer, not a failure."""
    return error_code(exc) in {"ResourceNotFoundException", "NoSuchEntity", "NotFoundException"}
