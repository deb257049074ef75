"""AWS faults between the collector and AWS (issue 10): a run of 35 functions through a proxy in
front of the emulator (tests/resilience/aws_faults.py) that throttles, fails and denies calls
deterministically and counts every request that reached the emulator.

* Throttling on half of all calls plus 5xx on a tenth: the same result per check and function
  as a fault-free run of the same account, no ``error`` result, and every call sent exactly
  (faults injected on it + 1) times: retries happen in botocore only, once.
* AccessDenied on AssumeRole (trust policy, wrong external id): one AssumeRole request, the
  region fails in plain words, no result at all (never ``pass``).
* AccessDenied on one data call: one request per function, the checks that need its answer
  are ``error``, every other check as in the fault-free run.

Collection runs in process with eager Celery tasks (as tests/collection does), on SQLite and
PostgreSQL; the throttling case runs once more through a real Celery worker (PostgreSQL and
Redis only). ``-s`` prints the call counts the closing note of issue 10 quotes.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter

import pytest
from botocore.retries.standard import ExponentialBackoff

from audit.context import Actor
from collection import conf
from collection.aws import clients
from collection.checks import REGISTRY
from collection.choices import CheckStatus, RegionStatus, RunStatus
from collection.models import CheckResult, CollectionRun, ResourceSnapshot
from collection.services import collection_run_start
from tests.factories import AwsTargetFactory
from tests.resilience.aws_faults import FaultProxy, Flaky, deny

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

BULK = 32  # compliant functions, besides the demo's three payments-* ones
FUNCTIONS = BULK + 3
ROLE = "arn:aws:iam::123456789012:role/prr-collector"
EXTERNAL_ID = "prr-external-id"


@pytest.fixture(scope="module")
def fault_emulator():
    """An emulator of its own (faults must not reach other tests' emulators), seeded once."""
    from tests.collection.conftest import seeded_emulator

    with seeded_emulator(functions=BULK, prefix="payments-bulk-") as url:
        yield url


@pytest.fixture
def proxy(fault_emulator, settings):
    # The portal's own token buckets are not under test here: they must not pace the run.
    settings.COLLECTION_LAMBDA_SHARED_RPS = 1000
    settings.COLLECTION_LAMBDA_GET_FUNCTION_RPS = 1000
    settings.COLLECTION_LAMBDA_GET_POLICY_RPS = 1000
    with FaultProxy(fault_emulator) as p:
        settings.AWS_ENDPOINT_URL = p.url
        clients.clear_cache()
        yield p
    clients.clear_cache()


@pytest.fixture
def fast_backoff(monkeypatch):
    """botocore waits rand(0, 1) x 2^n seconds before retrying a throttled call (50 ms scale
    for other faults): the same retries, 20 times shorter waits, so the test stays short."""
    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 0.05)


@pytest.fixture
def target(service):
    return AwsTargetFactory(
        service=service,
        account_id="123456789012",
        regions=["us-east-1"],
        role_arn=ROLE,
        external_id=EXTERNAL_ID,
        function_name_prefix="payments-",
    )


def run_once(owner, target, capture) -> CollectionRun:
    clients.clear_cache()  # each run assumes the role again and starts with new clients
    with capture(execute=True):
        run = collection_run_start(actor=Actor.for_user(owner), aws_target=target)
    run.refresh_from_db()
    return run


def statuses(run) -> dict[tuple[str, str], str]:
    rows = CheckResult.objects.filter(run=run).values_list(
        "snapshot__resource_id", "check_id", "status"
    )
    return {(fn, check): status for fn, check, status in rows}


def retries_recorded(run) -> int:
    """Retries the portal itself recorded (botocore's RetryAttempts of each answer)."""
    calls = [c for s in run.snapshots.all() for c in s.api_operations]
    calls += run.region_runs.get().bulk_operations
    return sum(c.get("attempts", 1) - 1 for c in calls)


def by_operation(counts: Counter) -> str:
    return ", ".join(f"{op} {n}" for op, n in sorted(counts.items()))


# --- 1. Throttling and 5xx ------------------------------------------------------------------

# Half of all answers throttled, a tenth a 500/503, drawn per (call, attempt); at most 3 faults
# in a row for one call. With p = 0.6 the mean requests per call are
#   1 + p + p^2 + p^3 = 1 + 0.6 + 0.36 + 0.216 = 2.176
# and a call is sent at most 4 times. Over ~200 calls the mean's standard deviation is
# sqrt(1.377 / 200) = 0.083, so 2.176 + 3 x 0.083 = 2.43 = 2.176 x 1.12 bounds it: the cap is
# fault-free calls x 2.176 x 1.12. A second retry layer (a Celery retry of a batch, a retry
# loop around botocore) would send calls again on top of botocore's retries: with one batch of
# 35 functions a single batch retry alone adds about 1.1 requests per call and breaks the cap.
FLAKY = {"seed": 10, "throttle_rate": 0.5, "error_rate": 0.1, "max_run": 3}
CAP_SLACK = 1.12


def test_throttling_half_the_calls_and_5xx_change_no_result_and_each_call_is_retried_once(
    proxy, fast_backoff, owner, target, django_capture_on_commit_callbacks
):
    baseline = run_once(owner, target, django_capture_on_commit_callbacks)
    clean = proxy.snapshot()
    plan = Flaky(**FLAKY)
    proxy.reset(plan)
    started = time.monotonic()
    run = run_once(owner, target, django_capture_on_commit_callbacks)
    took = time.monotonic() - started
    faulty = proxy.snapshot()

    # Same outcome as the fault-free run: every status of every check of every function.
    assert baseline.status == RunStatus.SUCCEEDED, baseline.error_summary
    assert run.status == RunStatus.SUCCEEDED, run.error_summary
    assert run.snapshots.count() == FUNCTIONS
    assert statuses(run) == statuses(baseline)
    assert not CheckResult.objects.filter(run=run, status=CheckStatus.ERROR).exists()
    assert run.region_runs.get().unavailable == {}
    assert not [s.resource_id for s in run.snapshots.all() if s.facts.get("unavailable")]

    # The faults really were there: about half the requests throttled, some 5xx.
    requests = sum(faulty["calls"].values())
    throttled = sum(n for (_, kind), n in faulty["faults"].items() if kind == "throttle")
    failed = sum(n for (_, kind), n in faulty["faults"].items() if kind == "unavailable")
    assert 0.4 < throttled / requests < 0.6
    assert failed > 0

    # One retry layer: each call reached the emulator exactly (its injected faults + 1) times.
    expected = Counter({i: n + plan.faults_before_answer(i) for i, n in clean["attempts"].items()})
    assert faulty["attempts"] == expected
    assert max(faulty["attempts"].values()) <= min(FLAKY["max_run"] + 1, conf.max_attempts())
    # The portal's provenance records the same retries (RetryAttempts of every answer).
    assert retries_recorded(run) == throttled + failed
    # The cap stated above.
    fault_free = sum(clean["calls"].values())
    cap = math.ceil(fault_free * plan.expected_attempts() * CAP_SLACK)
    assert requests <= cap
    print(
        f"\n[throttling] fault-free {fault_free} requests, with faults {requests} "
        f"(x{requests / fault_free:.2f}; cap {cap} = {fault_free} x "
        f"{plan.expected_attempts():.3f} x {CAP_SLACK}); throttled {throttled}, 5xx {failed}; "
        f"retries recorded by the portal {retries_recorded(run)}; run {took:.1f}s"
        f"\n  fault-free: {by_operation(clean['calls'])}"
        f"\n  with faults: {by_operation(faulty['calls'])}"
    )


# --- 2. AssumeRole denied -------------------------------------------------------------------


def _wrong_external_id(request) -> bool:
    return request.form().get("ExternalId") != EXTERNAL_ID


@pytest.mark.parametrize(
    ("external_id", "plan"),
    [
        pytest.param(EXTERNAL_ID, deny("sts:AssumeRole"), id="trust-policy-denies"),
        pytest.param(
            "not-the-agreed-id",
            deny("sts:AssumeRole", when=_wrong_external_id),
            id="wrong-external-id",
        ),
    ],
)
def test_assume_role_denied_is_sent_once_and_fails_the_region_in_plain_words(
    proxy, owner, target, django_capture_on_commit_callbacks, external_id, plan
):
    target.external_id = external_id
    target.save(update_fields=["external_id"])
    proxy.reset(plan)

    run = run_once(owner, target, django_capture_on_commit_callbacks)

    calls = proxy.snapshot()["calls"]
    assert calls == Counter({"sts:AssumeRole": 1}), calls  # not retried, nothing else called
    assert run.status == RunStatus.FAILED
    region = run.region_runs.get()
    assert region.status == RegionStatus.FAILED
    assert region.error_code == "AccessDenied"
    message = f"The portal cannot assume role {ROLE}: check its trust policy and external id."
    assert region.error_message == message
    assert message in run.error_summary
    assert not CheckResult.objects.filter(run=run).exists()  # nothing passes, nothing at all


# --- 3. One data call denied ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "family"),
    [("GetPolicy", "policy"), ("ListAliases", "aliases")],
)
def test_access_denied_on_one_data_call_is_sent_once_and_only_its_checks_error(
    proxy, owner, target, django_capture_on_commit_callbacks, operation, family
):
    baseline = statuses(run_once(owner, target, django_capture_on_commit_callbacks))
    proxy.reset(deny(f"lambda:{operation}"))

    run = run_once(owner, target, django_capture_on_commit_callbacks)

    snap = proxy.snapshot()
    assert snap["calls"][f"lambda:{operation}"] == FUNCTIONS  # once per function
    assert snap["faults"] == Counter({(f"lambda:{operation}", "denied"): FUNCTIONS})
    affected = {check_id for check_id, fn in REGISTRY.items() if family in fn.needs}
    assert affected
    results = statuses(run)
    assert len(results) == len(baseline) == FUNCTIONS * len(REGISTRY)
    for (fn, check_id), status in results.items():
        if check_id in affected:
            assert status == CheckStatus.ERROR, (fn, check_id, status)
        else:
            assert status == baseline[(fn, check_id)], (fn, check_id, status)
    words = f"The collector role {ROLE} is not allowed to call {operation} in us-east-1"
    messages = CheckResult.objects.filter(run=run, check_id__in=affected).values_list(
        "message", flat=True
    )
    assert all(words in m for m in messages), messages[0]
    assert run.status == RunStatus.PARTIAL
    unavailable = {
        s.facts["unavailable"].get(family) for s in ResourceSnapshot.objects.filter(run=run)
    }
    assert len(unavailable) == 1 and words in unavailable.pop()
    print(
        f"\n[{operation} denied] {snap['calls'][f'lambda:{operation}']} requests for "
        f"{FUNCTIONS} functions; {len(affected)} checks error per function: {sorted(affected)}"
    )


# --- 1b. The same faults with real workers --------------------------------------------------

# Imported by every worker process (PYTHONPATH): the same shorter botocore waits as
# ``fast_backoff`` gives this process.
_SITECUSTOMIZE = """
from botocore.retries.standard import ExponentialBackoff

ExponentialBackoff._DEFAULT_BACKOFF_CONFIG["throttling_base_scale"] = 0.05
"""


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_throttling_through_a_real_worker_changes_no_result_and_adds_no_retry_layer(
    proxy, broker, start_worker, owner, target, tmp_path
):
    """A worker with two pool processes, four batch tasks per run, the token buckets in Redis:
    the Celery layer adds no retry on top of botocore's, and the region task (which fetches
    the last batches itself during the bulk phase) and the batch tasks running next to it
    never fetch the same batch twice (batches are claimed first: before that, half of the
    fault-free runs sent 50 extra requests), so the count per call stays exact."""
    from tests.resilience.collection_helpers import wait_finished

    (tmp_path / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    path = os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH", "")) if p)
    worker = start_worker(concurrency=2, COLLECTION_BATCH_SIZE="10", PYTHONPATH=path)

    def collect() -> CollectionRun:
        run = collection_run_start(actor=Actor.for_user(owner), aws_target=target)
        return wait_finished(run, timeout=90)

    baseline = collect()
    clean = proxy.snapshot()
    plan = Flaky(**FLAKY)
    proxy.reset(plan)
    started = time.monotonic()
    run = collect()
    took = time.monotonic() - started
    faulty = proxy.snapshot()

    assert baseline.status == RunStatus.SUCCEEDED, (baseline.error_summary, worker.output())
    assert run.status == RunStatus.SUCCEEDED, (run.error_summary, worker.output())
    assert statuses(run) == statuses(baseline)
    assert len(statuses(run)) == FUNCTIONS * len(REGISTRY)
    assert not CheckResult.objects.filter(run=run, status=CheckStatus.ERROR).exists()
    expected = Counter({i: n + plan.faults_before_answer(i) for i, n in clean["attempts"].items()})
    assert faulty["attempts"] == expected
    requests = sum(faulty["calls"].values())
    faults = sum(faulty["faults"].values())
    assert retries_recorded(run) == faults
    fault_free = sum(clean["calls"].values())
    cap = math.ceil(fault_free * plan.expected_attempts() * CAP_SLACK)
    assert requests <= cap
    print(
        f"\n[throttling, real worker] fault-free {fault_free} requests, with faults {requests} "
        f"(x{requests / fault_free:.2f}; cap {cap}); faults {faults}; run {took:.1f}s"
    )
