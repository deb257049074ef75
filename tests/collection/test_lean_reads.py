"""The lean Lambda reads (collection/aws/lean.py) against the emulator: the same answers and
errors as botocore's client for every operation, redaction, retries and fallbacks."""

import time

import pytest
from botocore.exceptions import ClientError

from collection.aws import clients, collect, lean
from tests.collection.conftest import seeded_emulator
from tests.resilience.aws_faults import THROTTLE, UNAVAILABLE, FaultProxy

ACCOUNT = "123456789012"
CANARY = "canary-Zq8#wL2$vN5^pR7&tY1*"


@pytest.fixture(scope="module")
def lean_emulator():
    with seeded_emulator(functions=60, prefix="lean-") as url:
        # One function holds a secret-looking value that must never come back.
        import boto3

        lam = boto3.client("lambda", endpoint_url=url, region_name="us-east-1")
        name = "lean-0000"
        lam.update_function_configuration(
            FunctionName=name, Environment={"Variables": {"DB_PASSWORD": CANARY, "MODE": "x"}}
        )
        yield url


def _credentials():
    return clients.Credentials("AKIDLEAN", "secret", "token", time.time() + 3600)


def _pair(settings, url):
    """The botocore client and the lean reader of one account, both on ``url``."""
    settings.AWS_ENDPOINT_URL = url
    settings.COLLECTION_LEAN_READS = True
    clients.clear_cache()
    creds = _credentials()
    botocore_client = clients.client(
        "lambda", region="us-east-1", account_id=ACCOUNT, credentials=creds
    )
    reads = clients.lambda_reads(region="us-east-1", account_id=ACCOUNT, credentials=creds)
    assert isinstance(reads, lean.LeanReads)
    return botocore_client, reads


def _modeled(value, shape):
    """``value`` restricted to what the model describes (botocore drops anything else). An
    ``Environment`` is already in its redacted form (not the model's) on both sides."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        out = {}
        for name, member in shape.members.items():
            if name in value:
                keep = name == "Environment"
                out[name] = value[name] if keep else _modeled(value[name], member)
        return out
    if kind == "list" and isinstance(value, list):
        return [_modeled(v, shape.member) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _modeled(v, shape.value) for k, v in value.items()}
    return value


def _answer(call, **params):
    try:
        out = call(**params)
    except ClientError as exc:
        return ("error", type(exc).__name__, exc.response["Error"]["Code"], exc.operation_name)
    out.pop("ResponseMetadata")
    return out


PER_FUNCTION = [
    ("get_function", "GetFunction", {}),
    ("list_aliases", "ListAliases", {"MaxItems": 50}),
    ("list_provisioned_concurrency_configs", "ListProvisionedConcurrencyConfigs", {}),
    ("list_function_event_invoke_configs", "ListFunctionEventInvokeConfigs", {"MaxItems": 50}),
    ("get_policy", "GetPolicy", {}),
]


def test_every_operation_answers_as_botocore_does(settings, lean_emulator):
    botocore_client, reads = _pair(settings, lean_emulator)
    model = botocore_client.meta.service_model
    names = [
        f["FunctionName"]
        for f in collect._marker_pages(botocore_client, "list_functions", "Functions")
    ]
    seen_errors = set()
    for name in names[:12] + ["lean-missing-function"]:
        for method, operation, extra in PER_FUNCTION:
            expected = _answer(getattr(botocore_client, method), FunctionName=name, **extra)
            got = _answer(getattr(reads, method), FunctionName=name, **extra)
            if isinstance(expected, tuple):
                seen_errors.add(expected[2])
                assert got == expected, (name, operation)
            else:
                shape = model.operation_model(operation).output_shape
                assert _modeled(got, shape) == expected, (name, operation)
    # Both kinds of answer were compared: found ones and "not found" errors.
    assert "ResourceNotFoundException" in seen_errors


def test_listing_follows_markers_like_botocore(settings, lean_emulator):
    botocore_client, reads = _pair(settings, lean_emulator)
    expected = collect._marker_pages(botocore_client, "list_functions", "Functions")
    got = collect._marker_pages(reads, "list_functions", "Functions")
    assert len(got) == len(expected) >= 60  # more than one page of 50
    shape = botocore_client.meta.service_model.shape_for("FunctionConfiguration")
    assert [_modeled(f, shape) for f in got] == expected


def test_environment_values_never_come_back(settings, lean_emulator):
    _, reads = _pair(settings, lean_emulator)
    got = reads.get_function(FunctionName="lean-0000")
    listed = [
        f
        for f in reads.list_functions(MaxItems=50)["Functions"]
        if f["FunctionName"] == "lean-0000"
    ]
    for config in [got["Configuration"], *listed]:
        env = config["Environment"]
        assert "Variables" not in env
        assert env["VariableNames"] == ["DB_PASSWORD", "MODE"]
        assert "DB_PASSWORD" in env["SecretLikeValues"]
    assert CANARY not in repr(got) and CANARY not in repr(listed)


def test_each_call_is_recorded_with_its_request_id(settings, lean_emulator):
    _, reads = _pair(settings, lean_emulator)
    with clients.recording() as log:
        answer = reads.get_function(FunctionName="lean-0001")
        with pytest.raises(ClientError):
            reads.get_function(FunctionName="lean-no-such-function")
    assert log.calls[0] == {
        "operation": "lambda:GetFunction",
        "request_id": answer["ResponseMetadata"]["RequestId"],
    }
    # A refusal is an answer too: recorded, with the request id AWS gave it.
    assert log.calls[1]["operation"] == "lambda:GetFunction" and log.calls[1]["request_id"]
    assert answer["ResponseMetadata"]["RequestId"]


def test_throttles_and_5xx_are_retried_within_max_attempts(settings, lean_emulator):
    settings.COLLECTION_MAX_ATTEMPTS = 4
    faults = {1: THROTTLE, 2: UNAVAILABLE}

    def plan(request):
        return faults.get(request.attempt) if request.operation == "GetFunction" else None

    with FaultProxy(lean_emulator, plan) as proxy:
        _, reads = _pair(settings, proxy.url)
        with clients.recording() as log:
            answer = reads.get_function(FunctionName="lean-0002")
        seen = proxy.snapshot()
    assert answer["Configuration"]["FunctionName"] == "lean-0002"
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert seen["calls"]["lambda:GetFunction"] == 3
    assert log.calls[0]["attempts"] == 3


def test_a_call_throttled_every_time_stops_at_max_attempts(settings, lean_emulator):
    settings.COLLECTION_MAX_ATTEMPTS = 3
    with FaultProxy(lean_emulator, lambda r: THROTTLE) as proxy:
        _, reads = _pair(settings, proxy.url)
        reads._retry._retry_backoff._random = lambda: 0  # noqa: SLF001 - no sleeping here
        with pytest.raises(ClientError) as caught:
            reads.get_policy(FunctionName="lean-0003")
        seen = proxy.snapshot()
    assert caught.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert seen["calls"]["lambda:GetPolicy"] == 3


def test_without_lean_reads_or_behind_a_proxy_the_botocore_client_is_used(
    settings, lean_emulator, monkeypatch
):
    settings.AWS_ENDPOINT_URL = lean_emulator
    creds = _credentials()

    def reads():
        clients.clear_cache()
        return clients.lambda_reads(region="us-east-1", account_id=ACCOUNT, credentials=creds)

    settings.COLLECTION_LEAN_READS = True
    assert isinstance(reads(), lean.LeanReads)
    settings.COLLECTION_LEAN_READS = False
    assert not isinstance(reads(), lean.LeanReads)
    settings.COLLECTION_LEAN_READS = True
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert not isinstance(reads(), lean.LeanReads)


def test_operations_with_header_or_blob_answers_are_refused():
    import botocore.session

    model = botocore.session.get_session().get_service_model("lambda")
    for name in lean.OPERATIONS:
        lean._timestamp_paths(model.operation_model(name).output_shape)  # plain JSON: no error
    with pytest.raises(ValueError, match="HTTP"):
        lean._timestamp_paths(model.operation_model("Invoke").output_shape)
    # The one timestamp among them is converted like botocore converts it.
    paths = lean._timestamp_paths(
        model.operation_model("ListFunctionEventInvokeConfigs").output_shape
    )
    assert paths == [("FunctionEventInvokeConfigs", "*", "LastModified")]


@pytest.mark.parametrize(
    "value",
    [
        1764366000,
        1764366000.25,
        "2025-11-28T21:40:00Z",
        "2025-11-28T21:40:00.123+00:00",
        "2025-11-28T22:40:00+01:00",
        "Fri, 28 Nov 2025 21:40:00 GMT",
    ],
)
def test_timestamps_are_the_instant_botocore_reads(value):
    from botocore.utils import parse_timestamp

    got = clients.timestamp(value)
    assert got.tzinfo is not None
    assert got == parse_timestamp(value)


def test_per_function_calls_reuse_one_thread_pool(settings):
    from collection import pipeline

    settings.COLLECTION_THREADS = 3
    first = pipeline._fetch_pool()
    assert pipeline._fetch_pool() is first  # kept between batches
    settings.COLLECTION_THREADS = 4
    second = pipeline._fetch_pool()
    assert second is not first and second._max_workers == 4


def test_the_signature_is_botocores_with_the_day_key_kept(monkeypatch):
    import datetime

    import botocore.auth
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import ReadOnlyCredentials

    creds = ReadOnlyCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "tok")
    ours, theirs = (
        lean._SigV4(creds, "lambda", "eu-west-1"),
        SigV4Auth(creds, "lambda", "eu-west-1"),
    )

    def signed(signer, when):
        monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: when)
        request = AWSRequest(
            method="GET",
            url="https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/f%3A1?MaxItems=50",
            headers={"User-Agent": "x"},
        )
        signer.add_auth(request)
        return request.headers["Authorization"]

    day = datetime.datetime(2026, 11, 28, 12, 0, 0)
    for when in [day, day.replace(hour=23, minute=59), day + datetime.timedelta(days=1)]:
        assert signed(ours, when) == signed(theirs, when)
    assert ours._day_key[0] == "20261129"  # noqa: SLF001 - the key follows the date
    assert signed(ours, day) != signed(ours, day + datetime.timedelta(days=1))


def test_clients_of_expired_credentials_are_forgotten_and_closed(settings, monkeypatch):
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"  # nothing is sent: clients are only made
    settings.COLLECTION_LEAN_READS = True
    clients.clear_cache()
    now = time.time()
    old = clients.Credentials("AKIDOLD", "s", "t", now + 600)
    reads = clients.lambda_reads(region="us-east-1", account_id=ACCOUNT, credentials=old)
    old_kms = clients.client("kms", region="us-east-1", account_id=ACCOUNT, credentials=old)
    closed = []
    monkeypatch.setattr(reads, "close", lambda: closed.append("reads"))
    monkeypatch.setattr(old_kms, "close", lambda: closed.append("kms"), raising=False)

    # Later, after the old credentials expired, a new run makes its clients.
    monkeypatch.setattr(clients.time, "time", lambda: now + 601)
    new = clients.Credentials("AKIDNEW", "s", "t", now + 4200)
    clients.client("kms", region="us-east-1", account_id=ACCOUNT, credentials=new)

    assert sorted(closed) == ["kms", "reads"]
    keys = list(clients._cache)  # noqa: SLF001
    assert not [k for k in keys if "AKIDOLD" in k]
    assert [k for k in keys if "AKIDNEW" in k]
    clients.clear_cache()
