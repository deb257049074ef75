"""Which async invoke config a function's checks judge, from ListFunctionEventInvokeConfigs
(every qualifier's config in one call)."""

import pytest

from collection.aws.collect import _applicable_invoke_config

FN = "arn:aws:lambda:us-east-1:123456789012:function:orders"
LIVE = {"Name": "live", "FunctionVersion": "7"}
BLUE = {"Name": "blue", "FunctionVersion": "6"}


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
        # No config on the alias: the version it points to.
        ([config("7", 1), config("$LATEST", 2)], [LIVE], ("7", 1)),
        # No alias "live": the first alias, as the release checks choose it.
        ([config("blue", 1), config("$LATEST", 2)], [BLUE], ("blue", 1)),
        # No alias config: the unqualified function's, bare or $LATEST-qualified.
        ([config("$LATEST", 2)], [LIVE], ("$LATEST", 2)),
        ([config(None, 2)], [], ("$LATEST", 2)),
        # A config on another alias only does not apply to the live one.
        ([config("blue", 1)], [LIVE, BLUE], (None, None)),
        ([], [LIVE], (None, None)),
        (None, None, (None, None)),
    ],
)
def test_the_live_aliases_config_applies(configs, aliases, expected):
    chosen, qualifier = _applicable_invoke_config(configs, aliases)
    got = (qualifier or None, chosen["MaximumRetryAttempts"] if chosen else None)
    assert got == expected
