"""Which async invoke config a function's checks judge, from ListFunctionEventInvokeConfigs
(every qualifier's config in one call)."""

import pytest

from audit.context import Actor
from collection.aws.collect import _applicable_invoke_config
from collection.choices import CheckStatus
from collection.models import CheckResult
from collection.services import collection_run_start

pytestmark = pytest.mark.django_db

FN = "arn:aws:lambda:us-east-1:123456789012:function:orders"
LIVE = {"name": "live", "version": "7"}
BLUE = {"name": "blue", "version": "6"}


def config(qualifier, retries):
    arn = FN if qualifier is None else f"{FN}:{qualifier}"
    return {"FunctionArn": arn, "MaximumRetryAttempts": retries}


@pytest.mark.parametrize(
    "configs, aliases, expected",
    [
        # SAM with AutoPublishAlias: the config lives on the alias.
        ([config("live", 0)], [BLUE, LIVE], ("live", 0)),
        # The alias named "live" wins over the unqualified function's config.
        ([config("$LATEST", 2), config("live", 0)], [LIVE], ("live", 0)),
        # A config applies to its own qualifier only: none on the alias is none at all.
        ([config("7", 1), config("$LATEST", 2)], [LIVE], ("live", None)),
        # No alias "live": the first alias, as the release checks choose it.
        ([config("blue", 1), config("$LATEST", 2)], [BLUE], ("blue", 1)),
        # No alias: the unqualified function's, bare or $LATEST-qualified.
        ([config("$LATEST", 2)], [], ("$LATEST", 2)),
        ([config(None, 2)], [], ("$LATEST", 2)),
        ([config("$LATEST", 2)], [LIVE], ("live", None)),
        # A config on another alias only does not apply to the live one.
        ([config("blue", 1)], [LIVE, BLUE], ("live", None)),
        ([], [LIVE], ("live", None)),
        (None, None, ("$LATEST", None)),
    ],
)
def test_the_live_aliases_config_applies(configs, aliases, expected):
    chosen, qualifier = _applicable_invoke_config(configs, aliases)
    got = (qualifier or None, chosen["MaximumRetryAttempts"] if chosen else None)
    assert got == expected


def test_the_alias_config_reaches_the_checks_end_to_end(
    emulator, owner, service, payments_target, django_capture_on_commit_callbacks
):
    """The emulator keeps configs per qualifier as AWS does; the seeded compliant function has
    its config on alias "live" only (as SAM's AutoPublishAlias puts it)."""
    service.uses_async_invocation = True
    service.save()
    with django_capture_on_commit_callbacks(execute=True):
        run = collection_run_start(actor=Actor.for_user(owner), aws_target=payments_target)
    snap = run.snapshots.get(resource_id="payments-api")
    assert snap.facts["invoke_config"]["qualifier"] == "live"
    results = dict(
        CheckResult.objects.filter(run=run, snapshot=snap).values_list("check_id", "status")
    )
    assert results["lambda.dlq_or_destination"] == CheckStatus.PASS
    assert results["lambda.async_retry_configured"] == CheckStatus.PASS
    legacy = run.snapshots.get(resource_id="payments-legacy")
    assert legacy.facts["invoke_config"] is None
