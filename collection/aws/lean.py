"""Lean Lambda reads: the calls made once per function, at a third of botocore's CPU.

A botocore call costs about 0.6 ms of CPU (measured in a loop against the emulator with no
portal code in it), most of it in its event hooks, its urllib3 layer and the model-driven
walk over the answer. The collector makes five Lambda calls per function (GetFunction,
ListAliases, ListProvisionedConcurrencyConfigs, ListFunctionEventInvokeConfigs, GetPolicy), so
botocore alone cost more CPU per function than a whole Cloud Custodian run does.

For the read-only GET operations in ``OPERATIONS``, whose answers live entirely in a JSON body,
:class:`LeanReads` keeps botocore for everything that must match AWS exactly and drops the rest:

* the request is built by botocore's own ``rest-json`` serializer from botocore's model;
* it is signed by botocore's SigV4 signer with the assumed role's credentials (the day's
  signing key kept, see ``_SigV4``);
* it goes over a keep-alive ``http.client`` connection (a small pool per reader);
* a 2xx body is decoded with ``json.loads`` (timestamps converted where the model has one);
* any other answer is parsed by botocore's parser and raised as the same ``ClientError``;
* botocore's standard retry conditions and backoff decide what is retried, and
  ``COLLECTION_MAX_ATTEMPTS`` bounds the attempts, as for every other client;
* each attempt first takes a token from the shared rate limiter of its quota bucket;
* the call is recorded for the snapshot's provenance and the answer is redacted before it is
  returned, as the botocore client's hooks do.

The botocore client is used instead (``clients.lambda_reads`` returns it) when
``COLLECTION_LEAN_READS`` is off, or when the endpoint needs what this path does not do: a
proxy, FIPS or dual-stack endpoints. tests/collection/test_lean_reads.py checks that both
paths give the same answers and errors for every operation, and the AWS fault tests run
through this path.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
import urllib.parse

from botocore.auth import SigV4Auth
from botocore.awsrequest import (
    AWSResponse,
    HeadersDict,
    create_request_object,
    prepare_request_dict,
)
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError
from botocore.parsers import ResponseParserError, create_parser
from botocore.retries import standard
from botocore.serialize import create_serializer
from botocore.utils import get_environ_proxies

from collection.aws import clients, ratelimit
from collection.aws.redaction import redact_lambda_payload

OPERATIONS = frozenset(
    {
        "GetFunction",
        "ListAliases",
        "ListProvisionedConcurrencyConfigs",
        "ListFunctionEventInvokeConfigs",
        "GetPolicy",
        "ListFunctions",
    }
)
USER_AGENT = "prr-portal-collector (lean reads)"
_DISCONNECTS = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


def _timestamp_paths(shape, path=(), depth=0) -> list[tuple]:
    """Where the answer holds timestamps ('*' = every element), or ValueError when the answer
    has anything a plain JSON body cannot carry (header or status members, blobs, streams)."""
    if depth > 20:
        return []
    if shape.serialization.get("eventstream") or shape.serialization.get("jsonvalue"):
        raise ValueError(f"{shape.name} is not plain JSON")
    kind = shape.type_name
    if kind == "timestamp":
        return [path]
    if kind == "blob":
        raise ValueError(f"{shape.name} is a blob")
    out: list[tuple] = []
    if kind == "structure":
        for name, member in shape.members.items():
            if member.serialization.get("location"):
                raise ValueError(f"{name} is bound to the HTTP {member.serialization['location']}")
            key = member.serialization.get("name", name)
            out += _timestamp_paths(member, (*path, key), depth + 1)
    elif kind == "list":
        out += _timestamp_paths(shape.member, (*path, "*"), depth + 1)
    elif kind == "map":
        out += _timestamp_paths(shape.value, (*path, "*"), depth + 1)
    return out


def _convert(node, path: tuple) -> None:
    if not path or node is None:
        return
    head, rest = path[0], path[1:]
    if head == "*":
        items = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
        if not rest:
            return  # a list of bare timestamps: not in any lean operation's model
        for item in items:
            _convert(item, rest)
    elif isinstance(node, dict) and head in node:
        if rest:
            _convert(node[head], rest)
        elif node[head] is not None:
            node[head] = clients.timestamp(node[head])


def eligible(client) -> bool:
    """True when this client's requests can go the lean way unchanged."""
    config = client.meta.config
    if getattr(config, "use_fips_endpoint", False) or getattr(
        config, "use_dualstack_endpoint", False
    ):
        return False
    if getattr(config, "proxies", None):
        return False
    return not get_environ_proxies(client.meta.endpoint_url)


class _SigV4(SigV4Auth):
    """botocore's SigV4 signer, with the signing key derived once per day instead of on every
    request: it depends only on the secret key, the date, the region and the service (four
    HMACs saved per call; what ``signature`` computes is otherwise botocore's own)."""

    _day_key: tuple[str, bytes] | None = None

    def signature(self, string_to_sign, request):
        day = request.context["timestamp"][0:8]
        cached = self._day_key
        if cached is None or cached[0] != day:
            key = self._sign(f"AWS4{self.credentials.secret_key}".encode(), day)
            for part in (self._region_name, self._service_name, "aws4_request"):
                key = self._sign(key, part)
            self._day_key = cached = (day, key)
        return self._sign(cached[1], string_to_sign, hex=True)


class LeanReads:
    """Lean versions of the Lambda read calls, with the botocore client's method names
    (``get_function(FunctionName=...)``); anything else is looked up on the client itself."""

    def __init__(self, client, *, credentials, account_id: str, region: str, max_attempts: int):
        self._client = client
        model = client.meta.service_model
        self._operations = {}
        for name in OPERATIONS:
            operation = model.operation_model(name)
            self._operations[name] = (operation, _timestamp_paths(operation.output_shape))
        self._names = {
            py: api for py, api in client.meta.method_to_api_mapping.items() if api in OPERATIONS
        }
        self._serializer = create_serializer(model.protocol, include_validation=False)
        self._parser = create_parser(model.protocol)
        self._signer = _SigV4(
            ReadOnlyCredentials(
                credentials.access_key_id, credentials.secret_access_key, credentials.session_token
            ),
            model.signing_name,
            client.meta.region_name,
        )
        self._endpoint = client.meta.endpoint_url
        parts = urllib.parse.urlsplit(self._endpoint)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._timeout = float(client.meta.config.read_timeout or 60)
        self._account_id = account_id
        self._region = region
        detector = standard.ThrottlingErrorDetector(standard.RetryEventAdapter())
        self._retry = standard.RetryPolicy(
            retry_checker=standard.StandardRetryConditions(max_attempts=max_attempts),
            retry_backoff=standard.ExponentialBackoff(
                service_name=model.service_id.hyphenize(), throttling_detector=detector
            ),
        )
        self._idle: list[http.client.HTTPConnection] = []  # keep-alive connections, LIFO
        self._idle_lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None
        self._limiters = {
            name: ratelimit.for_operation(account_id, region, name) for name in OPERATIONS
        }

    def __getattr__(self, name):
        """``get_function`` and the like (made once, then found as attributes)."""
        api = self.__dict__.get("_names", {}).get(name)
        if api is None:
            return getattr(self._client, name)

        def call(**params):
            return self.call(api, params)

        setattr(self, name, call)
        return call

    def close(self) -> None:
        """Close the idle keep-alive connections (the reader's credentials have expired)."""
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # --- one call ---------------------------------------------------------------------------

    def call(self, name: str, params: dict) -> dict:
        operation, timestamps = self._operations[name]
        limiter = self._limiters[name]
        attempt = 0
        while True:
            attempt += 1
            if limiter is not None:
                limiter.acquire()
            parsed, status, headers, caught = self._attempt(operation, params)
            if caught is None and 200 <= status < 300:
                # botocore leaves out null members (``"KMSKeyArn": null`` reads as absent)
                # and callers rely on that; Environment values are redacted in the same walk.
                redact_lambda_payload(parsed, drop_nulls=True)
                for path in timestamps:
                    _convert(parsed, path)
                _answered(name, parsed, status, headers, attempt)
                return parsed
            context = standard.RetryContext(
                attempt_number=attempt,
                operation_model=operation,
                parsed_response=parsed,
                http_response=None
                if caught
                else AWSResponse(self._endpoint, status, headers, None),
                caught_exception=caught,
            )
            if not self._retry.should_retry(context):
                if caught is not None:
                    raise caught
                _answered(name, parsed, status, headers, attempt)
                code = parsed.get("Error", {}).get("Code", "")
                raise self._client.exceptions.from_code(code)(parsed, name)
            time.sleep(self._retry.compute_retry_delay(context))

    def _attempt(self, operation, params):
        """One request: (parsed answer, status, headers, None) or (None, 0, {}, exception)."""
        request_dict = self._serializer.serialize_to_request(params, operation)
        prepare_request_dict(request_dict, endpoint_url=self._endpoint, user_agent=USER_AGENT)
        request = create_request_object(request_dict)
        self._signer.add_auth(request)
        target = request.url[len(self._origin) :]  # path and query, as signed
        try:
            status, headers, body = self._send(request.method, target, request.headers)
        except (OSError, http.client.HTTPException) as exc:
            error = (
                ConnectionClosedError(endpoint_url=self._endpoint)
                if isinstance(exc, _DISCONNECTS)
                else EndpointConnectionError(endpoint_url=self._endpoint, error=exc)
            )
            return None, 0, {}, error
        if 200 <= status < 300:
            try:
                return (json.loads(body) if body.strip() else {}), status, headers, None
            except ValueError:
                error = ResponseParserError(
                    f"{operation.name} answered with a body that is not JSON"
                )
                return None, status, headers, error
        headers = HeadersDict(headers.items())
        answer = {"status_code": status, "headers": headers, "body": body}
        return self._parser.parse(answer, operation.output_shape), status, headers, None

    # --- the connection ---------------------------------------------------------------------

    def _new_connection(self) -> http.client.HTTPConnection:
        if not self._https:
            return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        if self._tls is None:
            from botocore.httpsession import get_cert_path

            self._tls = ssl.create_default_context(cafile=get_cert_path(True))
        return http.client.HTTPSConnection(
            self._host, self._port, timeout=self._timeout, context=self._tls
        )

    def _send(
        self, method: str, target: str, headers
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One exchange on an idle keep-alive connection (or a new one), given back after."""
        with self._idle_lock:
            conn = self._idle.pop() if self._idle else None
        if conn is not None:
            try:
                answer = _exchange(conn, method, target, headers)
            except _DISCONNECTS:
                # The server closed it while it sat idle: the request never reached the
                # server. Send it once more on a new connection (not an attempt of its own).
                conn = None
        if conn is None:
            conn = self._new_connection()
            answer = _exchange(conn, method, target, headers)
        if conn.sock is not None:
            with self._idle_lock:
                self._idle.append(conn)
        return answer


def _exchange(conn, method, target, headers) -> tuple[int, http.client.HTTPMessage, bytes]:
    try:
        conn.request(method, target, headers=headers)
        response = conn.getresponse()
        body = response.read()
    except BaseException:
        conn.close()
        raise
    if response.will_close:
        conn.close()
    return response.status, response.msg, body  # headers: case-insensitive .get()


def _answered(name: str, parsed: dict, status: int, headers, attempt: int) -> None:
    """Give the answer (or error) botocore's ``ResponseMetadata`` and record the call."""
    meta = parsed.get("ResponseMetadata") or {}
    parsed["ResponseMetadata"] = {
        "RequestId": meta.get("RequestId") or headers.get("x-amzn-requestid", ""),
        "HTTPStatusCode": status,
        "RetryAttempts": attempt - 1,
    }
    clients.record_call("lambda", name, parsed["ResponseMetadata"], attempt)
