"""Which secrets an execution role reads, for the rotation check."""

import pytest

from collection.policy import secrets_readable_by

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:"
SECRETS = [{"arn": ARN + name} for name in ("payments/db-AbC", "payments/api-XyZ", "ledger-QwE")]


def role(resource, action="secretsmanager:GetSecretValue"):
    doc = {"Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}
    return {"inline_policies": [{"name": "p", "document": doc}], "attached_policies": []}


@pytest.mark.parametrize("by_arn", [None, {s["arn"]: i for i, s in enumerate(SECRETS)}])
@pytest.mark.parametrize(
    "resource, expected",
    [
        (ARN + "payments/db-AbC", ["payments/db-AbC"]),
        (ARN + "payments/*", ["payments/db-AbC", "payments/api-XyZ"]),
        # A grant on every resource reads every secret (it used to read none: N/A).
        ("*", ["payments/db-AbC", "payments/api-XyZ", "ledger-QwE"]),
        ([ARN + "ledger-QwE", "*"], ["payments/db-AbC", "payments/api-XyZ", "ledger-QwE"]),
    ],
)
def test_secrets_readable_by(resource, expected, by_arn):
    got = secrets_readable_by(role(resource), SECRETS, by_arn=by_arn)
    assert [s["arn"].removeprefix(ARN) for s in got] == expected


def test_other_actions_read_nothing():
    assert secrets_readable_by(role("*", action="secretsmanager:ListSecrets"), SECRETS) == []
    assert secrets_readable_by(None, SECRETS) == []
