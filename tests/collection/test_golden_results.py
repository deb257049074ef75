"""Every check result on the seeded emulator stays what it was before the pipeline was tuned.

The expected outcomes (tests/collection/golden_results.json) were recorded from the pipeline as
it was before the call-count and CPU work; ids the emulator makes up (key ids, subnet and
security group ids, API ids, request ids) are masked. Set PRR_WRITE_GOLDEN=1 to re-record after
an intended change of a check (and review the diff). Checks see the day it was recorded
(``golden_day`` in conftest.py).
"""

import json
import os
import re
import time
from pathlib import Path

import pytest

from audit.context import Actor
from collection import pipeline
from collection.choices import BatchStatus
from collection.models import CheckResult, CollectionBatch
from collection.services import collection_run_start

pytestmark = pytest.mark.django_db
GOLDEN = Path(__file__).with_name("golden_results.json")
_VOLATILE = [
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
    (re.compile(r"\b(subnet|sg|vpc|csc)-[0-9a-z]+\b"), r"\1-<id>"),
    (re.compile(r"restapis/[0-9a-z]+"), "restapis/<id>"),
    (re.compile(r"execute-api:([\w-]+):(\d+):[0-9a-z]+"), r"execute-api:\1:\2:<id>"),
    (re.compile(r"\bAPI (?=[a-z]*\d)[0-9a-z]{10}\b"), "API <id>"),
]


def _mask(text: str) -> str:
    for pattern, repl in _VOLATILE:
        text = pattern.sub(repl, text)
    return text


def outcomes(run) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    rows = CheckResult.objects.filter(run=run).values_list(
        "snapshot__resource_id", "check_id", "status", "message"
    )
    for resource, check_id, status, message in rows:
        out.setdefault(resource, {})[check_id] = [status, _mask(message)]
    return dict(sorted((k, dict(sorted(v.items()))) for k, v in out.items()))


@pytest.mark.parametrize("mode", ["full", "incremental", "slow_bulk"])
def test_every_result_on_the_seeded_account_is_unchanged(
    emulator,
    owner,
    payments_target,
    django_capture_on_commit_callbacks,
    mode,
    monkeypatch,
    settings,
    golden_day,
):
    if mode == "slow_bulk":
        # The region task fetches batches itself while the bulk calls run; batches of two.
        settings.COLLECTION_BATCH_SIZE = 2
        slow = pipeline._gather

        def gather(*args, **kwargs):
            time.sleep(1.5)
            return slow(*args, **kwargs)

        monkeypatch.setattr(pipeline, "_gather", gather)
    with django_capture_on_commit_callbacks(execute=True):
        run = collection_run_start(actor=Actor.for_user(owner), aws_target=payments_target)
    if mode == "incremental":
        with django_capture_on_commit_callbacks(execute=True):
            run = collection_run_start(
                actor=Actor.for_user(owner), aws_target=payments_target, mode=mode
            )
        assert run.baseline_run_id is not None
    got = outcomes(run)
    assert set(
        CollectionBatch.objects.filter(region_run__run=run).values_list("status", flat=True)
    ) == {BatchStatus.DONE}
    if os.environ.get("PRR_WRITE_GOLDEN") and mode == "full":
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    assert got == json.loads(GOLDEN.read_text())
