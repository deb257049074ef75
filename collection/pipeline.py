"""What the collection tasks do: one region's bulk calls, then batches of functions.

Idempotence: a region's batches are created once (unique region_run+index), a batch's
snapshots and results are written in the same transaction that flips the batch to ``done``
(a conditional update: a redelivered batch finds it done and stops), counters move only in
that transaction, and region/run completion are conditional updates too.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed, wait
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.context import Actor
from audit.services import audit_record
from collection import conf
from collection import facts as factslib
from collection.aws import collect
from collection.aws.clients import recording
from collection.checks import CheckContext, evaluate_all
from collection.checks.applicability import not_required_for
from collection.choices import (
    FINISHED_REGION_STATUSES,
    BatchStatus,
    CheckStatus,
    RegionStatus,
    RunMode,
    RunStatus,
)
from collection.models import (
    CheckResult,
    CollectionBatch,
    CollectionRun,
    RegionRun,
    ResourceSnapshot,
)

logger = logging.getLogger(__name__)


def _connect(run: CollectionRun, region: str) -> collect.RegionContext:
    return collect.connect(
        account_id=run.account_id,
        region=region,
        role_arn=run.role_arn,
        external_id=run.aws_target.external_id,
        session_name=run.session_name,
    )


def _selected(configs: list[dict], ctx, target) -> tuple[list[dict], dict[str, str]]:
    unavailable = {}
    chosen = configs
    if target.function_name_prefix:
        chosen = [c for c in chosen if c["FunctionName"].startswith(target.function_name_prefix)]
    if target.function_tags:
        arns = collect.tagged_function_arns(ctx, target.function_tags)
        chosen = [c for c in chosen if factslib.unqualified(c["FunctionArn"]) in arns]
    if target.cloudformation_stack:
        names = collect.stack_function_names(ctx, target.cloudformation_stack)
        chosen = [c for c in chosen if c["FunctionName"] in names]
    return chosen, unavailable


def _gather(ctx, target, functions: list[dict], all_configs: list[dict]) -> tuple[dict, dict]:
    """The region-wide answers every function of the batch needs (one call per listing)."""
    inv: dict = {}
    unavailable: dict[str, str] = {}

    def attempt(family, fn):
        try:
            return fn()
        except collect.AWS_ERRORS as exc:
            unavailable[family] = ctx.explain(exc)
            return None

    prefix = target.function_name_prefix
    inv["code_signing"] = attempt("code_signing", lambda: collect.code_signing_by_function(ctx))
    inv["esm"] = attempt("esm", lambda: collect.event_source_mappings(ctx))
    inv["alarms"] = attempt("alarms", lambda: collect.metric_alarms(ctx))
    custom_groups = {f["log_group"] for f in functions} - {
        f"/aws/lambda/{f['name']}" for f in functions
    }
    inv["log_groups"] = attempt("logs", lambda: collect.log_groups(ctx, prefix, custom_groups))
    inv["roles"] = attempt("iam", lambda: collect.iam_roles(ctx))
    role_users: dict[str, list[str]] = {}
    for c in all_configs:
        role_users.setdefault(c.get("Role", ""), []).append(c["FunctionName"])
    inv["role_users"] = role_users
    key_ids = {f["kms_key_arn"] for f in functions} | {
        g["kms_key_id"] for g in (inv["log_groups"] or {}).values() if g.get("kms_key_id")
    }
    kms = attempt("kms", lambda: collect.kms_keys(ctx, key_ids - {""}))
    inv["kms"], inv["kms_failed"] = kms if kms else ({}, {})
    subnet_ids = {s for f in functions for s in f["subnet_ids"]}
    group_ids = {g for f in functions for g in f["security_group_ids"]}
    if subnet_ids or group_ids:
        inv["subnets"] = attempt("ec2", lambda: collect.subnets(ctx, subnet_ids))
        inv["security_groups"] = attempt("ec2", lambda: collect.security_groups(ctx, group_ids))
    names = {f["name"] for f in functions}
    inv["deployment_groups"] = attempt(
        "codedeploy", lambda: collect.codedeploy_groups(ctx, prefix, function_names=names)
    )
    inv["secrets"] = attempt("secrets", lambda: collect.secrets(ctx))
    inv["config"] = attempt("config", lambda: collect.config_compliance(ctx))
    inv["securityhub"] = attempt("securityhub", lambda: collect.security_hub_findings(ctx))
    return {k: (v if v is not None else {}) for k, v in inv.items()}, unavailable


def _sqs_alarms(alarms: list[dict] | dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for a in alarms or []:
        if a["namespace"] == "AWS/SQS" and a["actions_enabled"] and a["has_actions"]:
            queue = a["dimensions"].get("QueueName")
            if queue:
                out.setdefault(queue, []).append(a["name"])
    return out


def region_collect(region_run_id: int, *, claimant: str = "") -> None:
    """Region task: assume the role, list the functions, create and enqueue the batches at
    once, then collect the region-wide (bulk) answers. While those are collected, this task
    fetches per-function answers of the last batches itself (queued batch tasks start from the
    first), so the Lambda quota is busy from the start. Safe to run twice."""
    from collection import tasks

    rr = RegionRun.objects.select_related("run__aws_target", "run__service").get(pk=region_run_id)
    run = rr.run
    if rr.status in FINISHED_REGION_STATUSES:
        return
    if not rr.batches_total:
        now = timezone.now()
        RegionRun.objects.filter(pk=rr.pk).update(status=RegionStatus.RUNNING, started_at=now)
        CollectionRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, started_at=now
        )
    with recording() as log:
        try:
            ctx = _connect(run, rr.region)
            all_configs = collect.list_functions(ctx)
            configs, unavailable = _selected(all_configs, ctx, run.aws_target)
        except collect.AWS_ERRORS as exc:
            message = collect.describe(exc, role_arn=run.role_arn, region=rr.region)
            _fail_region(rr, collect.error_code(exc), message, log.calls)
            return
        listing_calls = list(log.calls)
    claimant = claimant or f"region:{uuid.uuid4()}"
    if rr.batches_total:
        # Redelivered after the batches were created: give back the batches this task was
        # fetching when it died (their own tasks found them claimed and stood down), then make
        # sure none is forgotten.
        rr.batches.filter(status=BatchStatus.PENDING, claimed_by=claimant).update(
            claimed_by="", claimed_until=None
        )
        for batch_id in rr.batches.filter(status=BatchStatus.PENDING).values_list("pk", flat=True):
            tasks.collect_batch.delay(batch_id)
        if rr.bulk_ready:
            _evaluate_fetched(rr.pk)
            return
        batch_functions = {
            pk: [item["fn"] for item in payload.get("items", [])]
            for pk, payload in rr.batches.values_list("pk", "payload")
        }
        functions = [fn for fns in batch_functions.values() for fn in fns]
    else:
        functions = [factslib.function_summary(c) for c in configs]
        batch_functions = _create_batches(rr, run, functions)
        if batch_functions is None:
            return
    inv, bulk_unavailable, bulk_calls = _gather_while_fetching(
        ctx, rr, functions, all_configs, claimant
    )
    unavailable.update(bulk_unavailable)
    factslib.index_inventory(inv)
    sqs_alarms = _sqs_alarms(inv.get("alarms"))
    # The batches' functions are known here: their payloads (answers included by now) are not
    # read back from the database just to be sliced.
    for batch_id, fns in batch_functions.items():
        if not fns:
            continue
        slices = {fn["arn"]: factslib.bulk_slice(fn, inv) for fn in fns}
        CollectionBatch.objects.filter(pk=batch_id).update(
            bulk={"slices": slices, "sqs_alarms": sqs_alarms}
        )
    with transaction.atomic():
        RegionRun.objects.select_for_update().filter(pk=rr.pk).update(
            bulk_ready=True, bulk_operations=listing_calls + bulk_calls, unavailable=unavailable
        )
    if not functions:
        _finish_region(rr.pk)
        return
    _evaluate_fetched(rr.pk, ctx=ctx, claimant=claimant)


def _create_batches(
    rr: RegionRun, run: CollectionRun, functions: list[dict]
) -> dict[int, list[dict]] | None:
    """Split the selected functions into batches and enqueue them on commit (once). Returns
    batch id -> its functions (None: another copy of the task created them)."""
    from collection import tasks

    size = conf.batch_size()
    chunks = [functions[i : i + size] for i in range(0, len(functions), size)]
    with transaction.atomic():
        claimed = RegionRun.objects.filter(pk=rr.pk, batches_total=0).update(
            functions_discovered=len(functions), batches_total=len(chunks)
        )
        if not claimed:
            return None
        CollectionRun.objects.filter(pk=run.pk).update(
            functions_discovered=F("functions_discovered") + len(functions)
        )
        batches = CollectionBatch.objects.bulk_create(
            [
                CollectionBatch(region_run=rr, index=i, payload={"items": [{"fn": f} for f in c]})
                for i, c in enumerate(chunks)
            ]
        )
        for batch in batches:
            tasks.collect_batch.delay_on_commit(batch.pk)
    rr.batches_total = len(chunks)
    return {batch.pk: chunk for batch, chunk in zip(batches, chunks, strict=True)}


def _gather_while_fetching(ctx, rr, functions, all_configs, claimant) -> tuple[dict, dict, list]:
    """The bulk calls in a thread; meanwhile per-function calls of pending batches, last
    first (skipping those a batch task is fetching). The bulk calls touch no database; only
    this thread does."""
    done: dict = {}

    def bulk():
        with recording() as glog:
            try:
                done["inv"], done["unavailable"] = _gather(
                    ctx, rr.run.aws_target, functions, all_configs
                )
            finally:
                done["calls"] = glog.calls

    thread = threading.Thread(target=bulk, name=f"prr-bulk-{rr.pk}", daemon=True)
    thread.start()
    pending = rr.batches.filter(status=BatchStatus.PENDING).order_by("-index")
    for batch_id in pending.values_list("pk", flat=True):
        if not thread.is_alive():
            break
        batch_collect(batch_id, ctx=ctx, claimant=claimant)
    thread.join()
    if "inv" not in done:
        raise RuntimeError("the bulk phase failed")
    return done["inv"], done["unavailable"], done["calls"]


def _evaluate_fetched(region_run_id: int, *, ctx=None, claimant: str = "") -> None:
    """Evaluate and store the batches that were fetched before the bulk answers were ready.
    With a connection at hand, a pending batch streams meanwhile (its calls in flight while
    these are evaluated), so the quota does not idle while this task evaluates."""
    fetched = list(
        CollectionBatch.objects.filter(region_run_id=region_run_id, status=BatchStatus.FETCHED)
        .order_by("index")
        .values_list("pk", flat=True)
    )
    evaluated: list[bool] = []

    def evaluate() -> None:
        for batch_id in fetched:
            batch_collect(batch_id)
        evaluated.append(True)

    if fetched and ctx is not None:
        pending = CollectionBatch.objects.filter(
            region_run_id=region_run_id, status=BatchStatus.PENDING
        ).order_by("-index")
        for batch_id in pending.values_list("pk", flat=True):
            batch_collect(batch_id, ctx=ctx, claimant=claimant, side_work=evaluate)
            if evaluated:
                break
    if not evaluated:
        evaluate()
    _finish_region_if_done(region_run_id)


def _fail_region(rr: RegionRun, code: str, message: str, calls: list) -> None:
    """Mark the region failed and count it done, once: a second failure of the same region
    (two dead-lettered batches) must not count it twice and end the run early."""
    changed = (
        RegionRun.objects.filter(pk=rr.pk)
        .exclude(status__in=FINISHED_REGION_STATUSES)
        .update(
            status=RegionStatus.FAILED,
            error_code=code[:64],
            error_message=message,
            bulk_operations=calls,
            finished_at=timezone.now(),
        )
    )
    if changed:
        _count_region_done(rr.run_id)


# --- Batches ---------------------------------------------------------------------------------

_api_cache: dict[tuple, list] = {}
_api_lock = threading.Lock()


def _api_stages(ctx, run_id: int, api_ids: list[str], unavailable: dict) -> list[dict]:
    """GetStages once per REST API per run in this process (many functions share an API)."""
    out = []
    for api_id in api_ids:
        key = (run_id, ctx.region, api_id)
        with _api_lock:
            found = _api_cache.get(key)
        if found is None:
            try:
                found = collect.api_stages(ctx, api_id)
            except collect.AWS_ERRORS as exc:
                unavailable["apigw"] = ctx.explain(exc)
                continue
            with _api_lock:
                _api_cache[key] = found
        out.extend(found)
    return out


def _reusable(run: CollectionRun, items: list[dict]) -> dict[str, ResourceSnapshot]:
    """Baseline snapshots of functions whose configuration revision has not changed."""
    if run.mode != RunMode.INCREMENTAL or run.baseline_run_id is None:
        return {}
    arns = [i["fn"]["arn"] for i in items]
    out = {}
    for snap in ResourceSnapshot.objects.filter(run_id=run.baseline_run_id, resource_arn__in=arns):
        out[snap.resource_arn] = snap
    current = {i["fn"]["arn"]: i["fn"] for i in items}
    return {
        arn: snap
        for arn, snap in out.items()
        if snap.facts.get("function", {}).get("revision_id") == current[arn]["revision_id"]
        and snap.facts.get("function", {}).get("last_modified") == current[arn]["last_modified"]
        and _read_policy(snap)
    }


def _read_policy(snap: ResourceSnapshot) -> bool:
    """True when the baseline holds a resource policy read from AWS (by its own GetPolicy or
    one it reused). A baseline whose batch never reached AWS (AssumeRole refused, a crash)
    or whose GetPolicy failed has ``policy: None`` for want of an answer, not because the
    function has no policy: lending that would turn an ``error`` into a pass."""
    unavailable = snap.facts.get("unavailable") or {}
    if "policy" in unavailable or "collector" in unavailable:
        return False
    return any(op.get("operation") == "lambda:GetPolicy" for op in snap.api_operations or ())


def _fetch_one(ctx, run, fn: dict, baseline: ResourceSnapshot | None) -> dict:
    """The per-function answers of one function (plain data: it may wait in the payload)."""
    with recording() as log:
        reuse = {"policy": baseline.facts.get("policy")} if baseline is not None else None
        try:
            details = collect.function_details(ctx, fn["name"], reuse=reuse)
        except Exception as exc:  # noqa: BLE001 - one broken function must not sink the batch
            logger.warning("collecting %s failed: %s", fn["name"], type(exc).__name__)
            details = {"unavailable": {"collector": f"Unexpected error: {type(exc).__name__}."}}
        unavailable: dict[str, str] = {}
        stages = _api_stages(
            ctx, run.pk, factslib.api_ids_from_policy(details.get("policy")), unavailable
        )
    return {
        "arn": fn["arn"],
        "details": details,
        "api_stages": stages,
        "unavailable": unavailable,
        "calls": log.calls,
        "reused_from": baseline.pk if baseline is not None else None,
        "reused": ["lambda:GetPolicy"] if reuse is not None else [],
        "at": timezone.now().isoformat(),
    }


def _claim(batch_id: int, claimant: str) -> bool:
    """Claim a pending batch for fetching: free, already ours (a redelivered copy of the same
    task), or held past its lease. A row another transaction holds (a batch task streaming
    it) is skipped, not waited for."""
    now = timezone.now()
    free = Q(claimed_by="") | Q(claimed_by=claimant) | Q(claimed_until__lt=now)
    with transaction.atomic():
        found = (
            CollectionBatch.objects.select_for_update(skip_locked=True)
            .filter(free, pk=batch_id, status=BatchStatus.PENDING)
            .values_list("pk", flat=True)
        )
        if not list(found):
            return False
        CollectionBatch.objects.filter(pk=batch_id).update(
            claimed_by=claimant,
            claimed_until=now + timedelta(seconds=conf.claim_lease_seconds()),
        )
    return True


def batch_collect(batch_id: int, ctx=None, *, claimant: str = "", side_work=None) -> None:
    """Per-function calls for one batch; then, if the region's bulk answers are ready,
    snapshots and results in one transaction, else the answers wait in the batch's
    ``fetched`` column for the region task. Safe to run twice: every step is a conditional
    update, and a pending batch is claimed first, so a batch some other task is fetching is
    left to it. ``side_work`` (no
    arguments, its own transactions) runs while a streaming batch's calls are in flight; it
    does not run when the batch does not stream."""
    batch = CollectionBatch.objects.select_related(
        "region_run__run__aws_target", "region_run__run__service"
    ).get(pk=batch_id)
    if batch.status == BatchStatus.DONE:
        return
    rr = batch.region_run
    run = rr.run
    claimant = claimant or f"call:{uuid.uuid4()}"
    if batch.status == BatchStatus.PENDING and not _claim(batch.pk, claimant):
        return  # its holder finishes it, or a redelivered copy of the holder does
    if batch.status == BatchStatus.PENDING and rr.bulk_ready:
        # Batch and region were read in one statement: the region was bulk_ready, so this
        # batch's bulk slice and the region's final ``unavailable`` were committed before.
        _stream_batch(batch, run, rr, ctx, side_work)
        _finish_region_if_done(rr.pk)
        return
    fetched = None
    if batch.status == BatchStatus.PENDING:
        try:
            fetched = list(_fetch_each(batch, run, rr, ctx, ordered=True))
        except BaseException:
            # Give the batch back at once rather than after the lease; a retry of this task
            # (or, for the region task, its redelivery) enqueues it again.
            CollectionBatch.objects.filter(
                pk=batch.pk, status=BatchStatus.PENDING, claimed_by=claimant
            ).update(claimed_by="", claimed_until=None)
            raise
        CollectionRun.objects.filter(pk=run.pk).update(
            functions_collected=F("functions_collected") + len(fetched)
        )
    with transaction.atomic():
        ready = (
            RegionRun.objects.select_for_update()
            .filter(pk=rr.pk)
            .values_list("bulk_ready", flat=True)
            .get()
        )
        if not ready:
            if fetched is not None:
                CollectionBatch.objects.filter(pk=batch.pk, status=BatchStatus.PENDING).update(
                    status=BatchStatus.FETCHED, fetched=fetched
                )
            return
    if fetched is None:
        # Loaded as ``fetched``: the answers came with the status, in the same row.
        fetched = batch.fetched or []
    if not rr.bulk_ready:
        # Read before the bulk answers were in: only they (and the region's final
        # ``unavailable``) are read again. A batch done meanwhile is caught by the
        # conditional update in _write_batch.
        batch.refresh_from_db(fields=["bulk"])
        rr.refresh_from_db(fields=["unavailable"])
    evaluator = _Evaluator(batch, run, rr)
    _write_batch(batch, run, rr, [evaluator.evaluate(f) for f in fetched])
    _finish_region_if_done(rr.pk)


# Functions evaluated between two inserts while a batch streams (a few round trips per batch).
_STREAM_FLUSH = 10


def _stream_batch(batch, run, rr, ctx, side_work=None) -> None:
    """The bulk answers were ready when the batch (already claimed) started: its calls start
    (and ``side_work`` runs) first; then one transaction flips it to ``done`` with a
    conditional update (a concurrent copy of the same task finds it done and writes nothing)
    and evaluates and inserts each function as soon as its answers arrive, while the other
    functions' calls are in flight, so neither the checks nor the database leave the Lambda
    quota idle. Any failure rolls the whole batch back to ``pending``."""
    evaluator = _Evaluator(batch, run, rr)
    now = timezone.now()
    answers = _fetch_each(batch, run, rr, ctx, ordered=False, on_started=side_work)
    first = next(answers, None)
    with transaction.atomic():
        claimed = CollectionBatch.objects.filter(pk=batch.pk, status=BatchStatus.PENDING).update(
            status=BatchStatus.DONE, payload={}, bulk={}, fetched=[]
        )
        if not claimed:
            answers.close()  # waits for the calls in flight, keeps none of their answers
            return
        pending: list[tuple[ResourceSnapshot, dict]] = []
        functions = results = 0

        def flush() -> int:
            snapshots = ResourceSnapshot.objects.bulk_create([s for s, _ in pending])
            written = _insert_results(run, snapshots, [o for _, o in pending], now)
            pending.clear()
            return written

        for fetched in itertools.chain([first] if first is not None else [], answers):
            pending.append(evaluator.evaluate(fetched))
            functions += 1
            if len(pending) >= _STREAM_FLUSH:
                results += flush()
        if pending:
            results += flush()
        RegionRun.objects.filter(pk=rr.pk).update(batches_done=F("batches_done") + 1)
        CollectionRun.objects.filter(pk=run.pk).update(
            functions_collected=F("functions_collected") + functions,
            functions_evaluated=F("functions_evaluated") + functions,
            results_count=F("results_count") + results,
        )


def _fetch_each(batch, run, rr, ctx, *, ordered: bool, on_started=None):
    """Yield the per-function answers of the batch: in item order, or as they arrive.
    ``on_started`` runs once every call is submitted, before the first answer is awaited."""
    items = batch.payload["items"]
    baseline = _reusable(run, items)
    try:
        ctx = ctx or _connect(run, rr.region)
    except collect.AWS_ERRORS as exc:
        message = collect.describe(exc, role_arn=run.role_arn, region=rr.region)
        at = timezone.now().isoformat()
        if on_started is not None:
            on_started()
        for i in items:
            yield {
                "arn": i["fn"]["arn"],
                "details": {},
                "api_stages": [],
                "unavailable": {"collector": message},
                "calls": [],
                "reused_from": None,
                "reused": [],
                "at": at,
            }
        return
    pool = _fetch_pool()
    futures = [
        pool.submit(_fetch_one, ctx, run, i["fn"], baseline.get(i["fn"]["arn"])) for i in items
    ]
    try:
        if on_started is not None:
            on_started()
        for future in futures if ordered else as_completed(futures):
            yield future.result()
    finally:
        wait(futures)  # a batch ends with none of its calls in flight, however it ends


_pool_lock = threading.Lock()
_pool: tuple[int, int, ThreadPoolExecutor] | None = None


def _fetch_pool() -> ThreadPoolExecutor:
    """The process's threads for per-function calls, kept between batches: a new pool per
    batch started ``COLLECTION_THREADS`` threads every time, and their keep-alive connections
    (a TLS handshake each, against AWS) went with them. Made again after a fork or when the
    setting changes. Its threads never touch the database."""
    global _pool
    size = conf.threads_per_batch()
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid() or _pool[1] != size:
            if _pool is not None and _pool[0] == os.getpid():
                _pool[2].shutdown(wait=False)
            executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="collect")
            _pool = (os.getpid(), size, executor)
        return _pool[2]


class _Evaluator:
    """Builds one function's facts, snapshot and check outcomes from its fetched answers
    and the batch's bulk slice. ``evaluate`` is pure CPU (no database, no AWS); making one
    reads the catalog's applicability rules (one query per batch)."""

    def __init__(self, batch, run, rr):
        self.run = run
        self.region = rr.region
        self.unavailable = rr.unavailable or {}
        self.fns = {i["fn"]["arn"]: i["fn"] for i in batch.payload["items"]}
        self.slices = (batch.bulk or {}).get("slices", {})
        self.sqs_alarms = (batch.bulk or {}).get("sqs_alarms", {})
        profile = run.service.profile()
        self.context = CheckContext(
            profile=profile,
            required_tags=tuple(conf.required_tags()),
            trusted_layer_accounts=tuple(conf.trusted_layer_accounts()),
            approved_boundary_arns=tuple(conf.approved_boundary_arns()),
            not_required=not_required_for(profile, service_id=run.service_id),
        )

    def evaluate(self, f: dict) -> tuple[ResourceSnapshot, dict]:
        run = self.run
        fn = self.fns[f["arn"]]
        facts = factslib.build_facts(
            account_id=run.account_id,
            region=self.region,
            fn=fn,
            bulk=self.slices.get(f["arn"], {}),
            details=f["details"],
            api_stages=f["api_stages"],
            sqs_alarms=self.sqs_alarms if f["details"] else {},
            unavailable={**self.unavailable, **f["unavailable"]},
        )
        base = f["reused_from"]
        snapshot = ResourceSnapshot(
            run=run,
            account_id=run.account_id,
            region=self.region,
            collector_role_arn=run.role_arn,
            resource_id=fn["name"],
            resource_arn=fn["arn"],
            facts=facts,
            api_operations=f["calls"]
            + [
                {"operation": op, "reused_from_snapshot": base}
                for op in f["reused"]
                if base is not None
            ],
            reused_from_id=base,
            collected_at=datetime.fromisoformat(f["at"]),
            sha256=factslib.facts_sha256(facts),
        )
        return snapshot, evaluate_all(facts, self.context)


def _write_batch(batch, run, rr, evaluated) -> None:
    snapshots = [snapshot for snapshot, _ in evaluated]
    outcomes = [outcome for _, outcome in evaluated]
    now = timezone.now()
    with transaction.atomic():
        claimed = CollectionBatch.objects.filter(
            pk=batch.pk, status__in=[BatchStatus.PENDING, BatchStatus.FETCHED]
        ).update(status=BatchStatus.DONE, payload={}, bulk={}, fetched=[])
        if not claimed:
            return
        ResourceSnapshot.objects.bulk_create(snapshots)
        results = _insert_results(run, snapshots, outcomes, now)
        RegionRun.objects.filter(pk=rr.pk).update(batches_done=F("batches_done") + 1)
        CollectionRun.objects.filter(pk=run.pk).update(
            functions_evaluated=F("functions_evaluated") + len(snapshots),
            results_count=F("results_count") + results,
        )


def _insert_results(run, snapshots, outcomes, now) -> int:
    """Insert every result of the batch in one go: ``COPY`` on PostgreSQL, ``executemany``
    elsewhere. 53 results per function would otherwise build 53 model instances each just to
    be turned back into SQL parameters, and on PostgreSQL ``executemany`` still adapts and
    sends each row as a statement of its own: COPY streams them."""
    meta = CheckResult._meta
    fields = ["run", "snapshot", "check_id", "resource", "status", "message", "evaluated_at"]
    table = connection.ops.quote_name(meta.db_table)
    columns = ", ".join(connection.ops.quote_name(meta.get_field(f).column) for f in fields)
    copy = connection.vendor == "postgresql"
    at = now if copy else connection.ops.adapt_datetimefield_value(now)
    rows = [
        (run.pk, snap.pk, check_id, outcome.resource, outcome.status, outcome.message, at)
        for snap, by_check in zip(snapshots, outcomes, strict=True)
        for check_id, outcome in by_check.items()
    ]
    with connection.cursor() as cursor:
        if copy:
            # Table and column names come from the model; the rows are data, not SQL.
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as stream:
                for row in rows:
                    stream.write_row(row)
            return len(rows)
        sql = (
            f"INSERT INTO {table} ({columns}) "  # noqa: S608 - names from the model
            f"VALUES ({', '.join(['%s'] * len(fields))})"
        )
        for i in range(0, len(rows), 1000):
            cursor.executemany(sql, rows[i : i + 1000])
    return len(rows)


# --- Completion ------------------------------------------------------------------------------


def _finish_region_if_done(region_run_id: int) -> None:
    rr = RegionRun.objects.get(pk=region_run_id)
    if rr.batches_done >= rr.batches_total:
        _finish_region(region_run_id)


def _finish_region(region_run_id: int) -> None:
    rr = RegionRun.objects.get(pk=region_run_id)
    errors = CheckResult.objects.filter(
        run_id=rr.run_id, snapshot__region=rr.region, status=CheckStatus.ERROR
    ).exists()
    status = RegionStatus.PARTIAL if (rr.unavailable or errors) else RegionStatus.SUCCEEDED
    message = rr.error_message
    if rr.unavailable and not message:
        message = " ".join(sorted(set(rr.unavailable.values())))
    done = (
        RegionRun.objects.filter(pk=rr.pk)
        .exclude(status__in=FINISHED_REGION_STATUSES)
        .update(status=status, finished_at=timezone.now(), error_message=message)
    )
    if done:
        _count_region_done(rr.run_id)


def _count_region_done(run_id: int) -> None:
    CollectionRun.objects.filter(pk=run_id).update(regions_done=F("regions_done") + 1)
    run = CollectionRun.objects.get(pk=run_id)
    if run.regions_done < len(run.regions):
        return
    regions = list(run.region_runs.all())
    statuses = {r.status for r in regions}
    if statuses == {RegionStatus.FAILED}:
        status = RunStatus.FAILED
    elif statuses - {RegionStatus.SUCCEEDED}:
        status = RunStatus.PARTIAL
    else:
        status = RunStatus.SUCCEEDED
    summary = " ".join(f"{r.region}: {r.error_message}" for r in regions if r.error_message)
    with transaction.atomic():
        snapshots = ResourceSnapshot.objects.filter(run_id=run_id).count()
        finished = CollectionRun.objects.filter(
            pk=run_id, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
        ).update(
            status=status,
            finished_at=timezone.now(),
            error_summary=summary[:4000],
            functions_collected=snapshots,
            functions_evaluated=snapshots,
            results_count=CheckResult.objects.filter(run_id=run_id).count(),
        )
        if not finished:
            return
        run.refresh_from_db()
        audit_record(
            actor=Actor.system("collector"),
            action="collection.run_finish",
            obj=run,
            after={
                "status": run.status,
                "functions": snapshots,
                "results": run.results_count,
                "errors": summary[:1000],
            },
            service_slug=run.service.slug,
        )
        transaction.on_commit(lambda: _announce(run_id))


def _announce(run_id: int) -> None:
    from collection.signals import run_finished

    run = CollectionRun.objects.select_related("service", "aws_target").get(pk=run_id)
    run_finished.send_robust(sender=CollectionRun, run=run)


# --- Dead letters (portal.deadletter) ----------------------------------------------------------


def region_dead_lettered(region_run_id: int, deliveries: int) -> None:
    """The bulk phase of a region killed its worker every time: the region fails, saying so."""
    rr = RegionRun.objects.get(pk=region_run_id)
    message = f"Collecting {rr.region} crashed the collector {deliveries} times and was set aside."
    _fail_region(rr, "dead_lettered", message, rr.bulk_operations)


def batch_dead_lettered(batch_id: int, deliveries: int) -> None:
    """A batch killed its worker every time: its region fails with a message saying so; the
    results of the region's other batches are kept."""
    batch = CollectionBatch.objects.select_related("region_run").get(pk=batch_id)
    if batch.status == BatchStatus.DONE:
        return
    rr = batch.region_run
    functions = len(batch.payload.get("items", []))
    message = (
        f"A batch of {functions} functions in {rr.region} crashed the collector {deliveries} "
        "times and was set aside; the other functions' results were kept."
    )
    _fail_region(rr, "dead_lettered", message, rr.bulk_operations)
