"""The one place boto3 sessions and clients are made.

* ``AWS_ENDPOINT_URL`` (settings) points every client at the emulator in the demo and tests.
* botocore ``standard`` retry mode is the only layer that retries AWS faults (throttling
  included); Celery tasks do not retry on top of it.
* Every Lambda request attempt first takes a token from the shared rate limiter of its quota
  bucket (account x region x bucket), so the fleet of workers stays under the quota.
* Every answer is recorded (operation, request id, attempts) for the snapshot's provenance,
  and Lambda answers are redacted before anyone reads them.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from dataclasses import dataclass, field

import botocore.session
from botocore.config import Config
from botocore.retries import standard
from botocore.utils import parse_timestamp
from django.conf import settings

from collection import conf
from collection.aws import ratelimit
from collection.aws.redaction import redact_after_call

# Response bodies are logged by these loggers at DEBUG: they would carry environment values.
for _name in ("botocore.parsers", "botocore.endpoint", "botocore.hooks", "urllib3"):
    logging.getLogger(_name).setLevel(logging.WARNING)

_local = threading.local()


@dataclass
class CallLog:
    """The AWS calls made while it is active (per thread)."""

    calls: list[dict] = field(default_factory=list)

    def add(self, service: str, operation: str, request_id: str, attempts: int) -> None:
        entry = {"operation": f"{service}:{operation}", "request_id": request_id}
        if attempts > 1:
            entry["attempts"] = attempts
        self.calls.append(entry)


class recording:  # noqa: N801 - used as a context manager, reads like a statement
    """``with recording() as log:`` collects the calls made by this thread inside the block."""

    def __enter__(self) -> CallLog:
        self.previous = getattr(_local, "log", None)
        _local.log = CallLog()
        return _local.log

    def __exit__(self, *exc):
        _local.log = self.previous
        return False


def record_call(service: str, operation: str, meta: dict, attempts: int) -> None:
    """Add one finished call to this thread's call log, if one is recording."""
    log = getattr(_local, "log", None)
    if log is not None:
        log.add(service, operation, meta.get("RequestId", ""), attempts)


def _record_after_call(http_response=None, parsed=None, model=None, **kwargs):
    if model is None:
        return
    meta = (parsed or {}).get("ResponseMetadata", {})
    record_call(
        model.service_model.endpoint_prefix,
        model.name,
        meta,
        int(meta.get("RetryAttempts", 0)) + 1,
    )


def _rate_limit_handler(account_id: str, region: str):
    def before_send(event_name: str = "", **kwargs):
        limiter = ratelimit.for_operation(account_id, region, event_name.rsplit(".", 1)[-1])
        if limiter is not None:
            limiter.acquire()

    return before_send


def client_config() -> Config:
    return Config(
        # total_max_attempts counts the first request; botocore's max_attempts would not.
        retries={"mode": "standard", "total_max_attempts": conf.max_attempts()},
        max_pool_connections=max(10, conf.threads_per_batch() * 2),
        connect_timeout=10,
        read_timeout=60,
        user_agent_extra="prr-portal-collector",
        # The collector builds every request itself from AWS's own answers: validating each
        # against the model again costs CPU on every call and catches nothing.
        parameter_validation=False,
    )


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expires_at: float

    def __repr__(self):  # never print secrets
        return f"Credentials(expires_at={self.expires_at})"


_cache: dict[tuple, object] = {}
_expiry: dict[str, float] = {}  # access key id -> when its credentials expire
_cache_lock = threading.Lock()
_session: botocore.session.Session | None = None


def _endpoint() -> str | None:
    return settings.AWS_ENDPOINT_URL or None


def _shared_session() -> botocore.session.Session:
    """One botocore session per process: service models, endpoint rules and paginators are
    parsed once (they are megabytes of JSON) instead of once per client. Credentials are given
    per client, and event handlers go on each client's own copy of the event emitter, so
    clients of different accounts stay apart. Call with ``_cache_lock`` held (botocore session
    methods are not thread-safe)."""
    global _session
    if _session is None:
        _session = botocore.session.get_session()
        _session.get_component("response_parser_factory").set_parser_defaults(
            timestamp_parser=timestamp
        )
    return _session


def timestamp(value) -> datetime.datetime:
    """AWS timestamps as aware datetimes, in UTC. botocore's default parser gives the same
    instant in the local zone through dateutil, and costs ten times as much: with three
    timestamps per alarm, DescribeAlarms spent most of its CPU there."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.datetime.fromtimestamp(value, datetime.UTC)
        except (OverflowError, OSError, ValueError):
            return parse_timestamp(value)
    if isinstance(value, str):
        try:
            parsed = datetime.datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    return parse_timestamp(value)


class _NoRetryQuota:
    """Every retryable fault is retried up to ``max_attempts``. botocore's standard mode also
    keeps a retry quota per client (500 units; a throttled retry costs 5, a 5xx retry 14, only
    successes give some back) and stops retrying once it is spent. Our clients live as long as
    the worker and every thread of every batch shares them, so sustained throttling (half of
    all calls) drained it within one run of 35 functions and later throttles surfaced as
    ``error`` results (tests/resilience/test_aws_faults.py). The rate limiter already paces
    every Lambda attempt and ``max_attempts`` bounds each call: the quota adds nothing."""

    def acquire_retry_quota(self, context) -> bool:
        return True


def _retry_without_quota(client) -> None:
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.unregister(f"needs-retry.{service}", unique_id=f"retry-config-{service}")
    handler = standard.register_retry_handler(client, max_attempts=conf.max_attempts())
    handler._retry_quota = _NoRetryQuota()  # noqa: SLF001 - no public way to size the quota


def _make_client(service: str, region: str, **credentials):
    with _cache_lock:
        made = _shared_session().create_client(
            service,
            region_name=region,
            endpoint_url=_endpoint(),
            config=client_config(),
            **credentials,
        )
    _retry_without_quota(made)
    return made


def assume_role(*, role_arn: str, external_id: str, session_name: str, region: str) -> Credentials:
    """STS AssumeRole with the target's external id, cached per process until near expiry."""
    key = ("creds", role_arn, external_id, session_name)
    with _cache_lock:
        found = _cache.get(key)
        if isinstance(found, Credentials) and found.expires_at - time.time() > 300:
            return found
    sts_key = ("sts", region, _endpoint())
    with _cache_lock:
        sts = _cache.get(sts_key)
    if sts is None:
        sts = _make_client("sts", region)
        with _cache_lock:
            sts = _cache.setdefault(sts_key, sts)
    answer = sts.assume_role(
        RoleArn=role_arn,
        RoleSessionName=session_name[:64],
        ExternalId=external_id,
        DurationSeconds=3600,
    )
    log = getattr(_local, "log", None)
    if log is not None:
        meta = answer["ResponseMetadata"]
        log.add(
            "sts", "AssumeRole", meta.get("RequestId", ""), int(meta.get("RetryAttempts", 0)) + 1
        )
    raw = answer["Credentials"]
    creds = Credentials(
        access_key_id=raw["AccessKeyId"],
        secret_access_key=raw["SecretAccessKey"],
        session_token=raw["SessionToken"],
        expires_at=raw["Expiration"].timestamp(),
    )
    with _cache_lock:
        _cache[key] = creds
    return creds


def client(service: str, *, region: str, account_id: str, credentials: Credentials):
    """A cached, instrumented client for one service in one account and region."""
    key = ("client", service, region, account_id, credentials.access_key_id)
    with _cache_lock:
        found = _cache.get(key)
    if found is not None:
        return found
    with _cache_lock:
        _expiry[credentials.access_key_id] = credentials.expires_at
        retired = _forget_expired(time.time())
    for gone in retired:
        gone.close()
    made = _make_client(
        service,
        region,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=credentials.session_token,
    )
    events = made.meta.events
    events.register("after-call", _record_after_call)
    if service == "lambda":
        # Registered first so it runs before the recorder and before anyone reads the answer.
        events.register_first("after-call.lambda", redact_after_call)
        events.register("before-send.lambda", _rate_limit_handler(account_id, region))
    with _cache_lock:
        _cache.setdefault(key, made)
        return _cache[key]


# Every service the collector calls (collection/aws/collect.py).
COLLECTOR_SERVICES = (
    "sts",
    "lambda",
    "cloudwatch",
    "logs",
    "iam",
    "kms",
    "ec2",
    "codedeploy",
    "apigateway",
    "secretsmanager",
    "config",
    "securityhub",
    "resourcegroupstaggingapi",
    "cloudformation",
)


def preload() -> None:
    """Parse the collector's service models and endpoint rules now (a worker's start) instead
    of during its first run. No request is made and the clients are thrown away."""
    with _cache_lock:
        session = _shared_session()
        for service in COLLECTOR_SERVICES:
            session.create_client(
                service,
                region_name="us-east-1",
                aws_access_key_id="preload",
                aws_secret_access_key="preload",
                config=client_config(),
            )


def lambda_reads(*, region: str, account_id: str, credentials: Credentials):
    """What to make the per-function Lambda reads with: the lean reader (collection/aws/lean.py)
    when ``COLLECTION_LEAN_READS`` is on and the endpoint allows it, else the botocore client.
    Both answer ``get_function(FunctionName=...)`` and the like with the same results. The
    choice is made once per client (it is asked for once per function)."""
    key = ("reads", region, account_id, credentials.access_key_id, conf.lean_reads())
    with _cache_lock:
        found = _cache.get(key)
    if found is not None:
        return found
    from collection.aws import lean

    made = lam = client("lambda", region=region, account_id=account_id, credentials=credentials)
    if conf.lean_reads() and lean.eligible(lam):
        made = lean.LeanReads(
            lam,
            credentials=credentials,
            account_id=account_id,
            region=region,
            max_attempts=conf.max_attempts(),
        )
    with _cache_lock:
        return _cache.setdefault(key, made)


# Which element of a cache key is the access key id its credentials go by.
_KEY_POSITION = {"client": 4, "reads": 3}


def _forget_expired(now: float) -> list:
    """Drop the credentials, clients and lean readers of credentials that have expired, and
    return the clients and readers to close. Every run assumes the role afresh (its session
    name names the run), so a long-lived worker would otherwise keep every run's clients and
    their connections. Call with ``_cache_lock`` held."""
    expired = {key_id for key_id, at in _expiry.items() if at <= now}
    retired = []
    for key in list(_cache):
        value = _cache[key]
        if key[0] == "creds" and isinstance(value, Credentials) and value.expires_at <= now:
            del _cache[key]
        elif key[0] in _KEY_POSITION and key[_KEY_POSITION[key[0]]] in expired:
            retired.append(_cache.pop(key))
    for key_id in expired:
        del _expiry[key_id]
    return list({id(obj): obj for obj in retired}.values())  # a reader may be the client


def clear_cache() -> None:
    """Forget cached credentials and clients (tests, or after an endpoint change)."""
    with _cache_lock:
        _cache.clear()
        _expiry.clear()
    # The shared session keeps only parsed models and endpoint data: nothing to forget.
