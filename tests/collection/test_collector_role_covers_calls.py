"""The collector role the banks deploy (guardrails/iam/collector-role.yaml) allows every AWS call
the collector makes: a call it lacks would turn checks into ``error`` on every real account
while the emulator (which checks no permission) stays green."""

import fnmatch
import re
from pathlib import Path

import pytest
import yaml

from audit.context import Actor
from collection.aws import clients, collect
from collection.models import RegionRun
from collection.services import collection_run_start

pytestmark = pytest.mark.django_db
ROLE = Path(__file__).resolve().parents[2] / "guardrails" / "iam" / "collector-role.yaml"
# Signing names (what the provenance records) -> IAM action prefixes, where they differ.
IAM_PREFIX = {"monitoring": "cloudwatch"}
# Client names (clients.COLLECTOR_SERVICES) -> IAM action prefixes, where they differ.
IAM_PREFIX_BY_CLIENT = {"resourcegroupstaggingapi": "tag"}


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads !Ref, !Sub and the like as plain values (only the actions matter here)."""


_CloudFormationLoader.add_multi_constructor(
    "!",
    lambda loader, suffix, node: (
        loader.construct_scalar(node)
        if isinstance(node, yaml.ScalarNode)
        else loader.construct_sequence(node)
        if isinstance(node, yaml.SequenceNode)
        else loader.construct_mapping(node)
    ),
)


def role_statements():
    template = yaml.load(ROLE.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 - safe
    role = template["Resources"]["CollectorRole"]["Properties"]
    out = []
    for policy in role.get("Policies", []):
        out += policy["PolicyDocument"]["Statement"]
    return out


def allowed(action: str, statements) -> bool:
    def matches(st):
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        return any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions)

    denied = any(st["Effect"] == "Deny" and matches(st) for st in statements)
    return not denied and any(st["Effect"] == "Allow" and matches(st) for st in statements)


def iam_action(operation: str) -> str:
    service, name = operation.split(":", 1)
    if service == "apigateway":  # API Gateway authorizes by HTTP method: reads are GET
        return "apigateway:GET"
    return f"{IAM_PREFIX.get(service, service)}:{name}"


def test_the_role_template_is_read_the_way_this_test_expects():
    statements = role_statements()
    assert allowed("lambda:GetFunction", statements)
    assert not allowed("lambda:InvokeFunction", statements)
    assert not allowed("secretsmanager:GetSecretValue", statements)


def test_every_call_of_a_full_run_is_allowed_by_the_collector_role(
    emulator, owner, payments_target, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = collection_run_start(actor=Actor.for_user(owner), aws_target=payments_target)
    operations = {
        call["operation"]
        for region in RegionRun.objects.filter(run=run)
        for call in region.bulk_operations
    }
    for ops in run.snapshots.values_list("api_operations", flat=True):
        operations |= {call["operation"] for call in ops}
    operations.discard("sts:AssumeRole")  # made by the portal's own role, not this one
    assert {"lambda:GetPolicy", "iam:GetAccountAuthorizationDetails"} <= operations

    statements = role_statements()
    missing = sorted(op for op in operations if not allowed(iam_action(op), statements))
    assert not missing, f"the collector role does not allow {missing}"


def test_every_operation_the_collector_code_names_is_allowed():
    """Calls the seeded account does not reach (GetDeploymentConfig, BatchGetDeployments,
    IAM GetPolicy, ...) are checked from the code: each botocore method the collector names
    on a client, mapped to its API operation."""
    import botocore.session

    source = Path(collect.__file__).read_text()
    session = botocore.session.get_session()
    statements = role_statements()
    missing = []
    seen = 0
    # Every service the collector makes clients for; sts:AssumeRole is the portal's own role.
    for service in set(clients.COLLECTOR_SERVICES) - {"sts"}:
        prefix = IAM_PREFIX_BY_CLIENT.get(service, service)
        model = session.get_service_model(service)
        methods = {botocore.xform_name(op): op for op in model.operation_names}
        for method, op in methods.items():
            if re.search(rf"\b{method}\b", source) and f"{prefix}:{op}" != "lambda:Invoke":
                seen += 1
                if not allowed(iam_action(f"{prefix}:{op}"), statements):
                    missing.append(f"{prefix}:{op}")
    assert seen > 30
    assert not missing, f"the collector role does not allow {sorted(missing)}"
