"""A fault-injecting HTTP proxy in front of the AWS emulator, for the AWS fault tests.

Every request is forwarded to the emulator unless the test's plan says to answer it with a
fault instead, shaped the way the real service answers it for the client's protocol
(rest-json: status + ``x-amzn-ErrorType``; json: ``__type`` in the body; CBOR; query and EC2:
XML error documents). The proxy counts what reached it per operation (``lambda:GetPolicy``)
and per *logical call*: requests with the same service, operation, path, query and body (run
ids in session names masked) are attempts of one call, so ``attempts[identity]`` is how often
one call was sent, retries included.

Fault decisions are pure functions of (identity, attempt number, seed): whatever order the
collector's threads send requests in, the same run gets the same faults and the same counts.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import threading
import uuid
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import botocore.session

_CRED = re.compile(r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/")
# What differs between two seedings of the emulator or two runs: run ids in session names,
# UUIDs (KMS keys), EC2 and code-signing ids, API Gateway ids. Masked in call identities.
_VOLATILE = re.compile(
    rb"prr-run-\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    rb"|(?:subnet|sg|vpc|csc)-[0-9a-f]{8,17}\b|(?<=/restapis/)[^/]+"
)
# Signing name -> botocore service name, where they differ.
_SERVICE_NAMES = {"monitoring": "cloudwatch", "tagging": "resourcegroupstaggingapi"}
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "host"}


@dataclass(frozen=True)
class Request:
    service: str  # signing name: lambda, sts, monitoring, ...
    operation: str  # GetPolicy
    protocol: str  # rest-json, json, cbor, query, ec2
    identity: str  # same for every attempt of one logical call
    attempt: int  # 1-based: which attempt of this logical call
    body: bytes

    @property
    def name(self) -> str:
        return f"{self.service}:{self.operation}"

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode(errors="replace")).items()}


@dataclass(frozen=True)
class Fault:
    """An answer the proxy gives instead of the emulator's."""

    kind: str  # throttle, unavailable, denied

    def render(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        code, status, message = _ERRORS[(self.kind, _family(request))]
        headers = {"x-amzn-RequestId": str(uuid.uuid4())}
        if request.protocol in {"query", "ec2"}:
            return status, {**headers, "Content-Type": "text/xml"}, _xml(request, code, message)
        if request.protocol == "cbor":
            headers |= {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}
            return status, headers, _cbor_map({"__type": code, "message": message})
        body = json.dumps({"__type": code, "message": message}).encode()
        if request.protocol == "rest-json":
            headers["x-amzn-ErrorType"] = code
        return status, {**headers, "Content-Type": "application/x-amz-json-1.1"}, body


THROTTLE = Fault("throttle")
UNAVAILABLE = Fault("unavailable")
DENIED = Fault("denied")


def _family(request: Request) -> str:
    if request.service == "lambda":
        return "lambda"
    if request.service in {"apigateway", "securityhub"}:
        return "rest"
    if request.protocol == "ec2":
        return "ec2"
    return request.protocol if request.protocol in {"query"} else "json"


# (fault, service family) -> (error code, HTTP status, message): what AWS answers.
_ERRORS = {
    # Lambda: 429 TooManyRequestsException (CallerRateLimitExceeded), 500 ServiceException.
    ("throttle", "lambda"): ("TooManyRequestsException", 429, "Rate exceeded"),
    ("unavailable", "lambda"): ("ServiceException", 500, "Internal error"),
    ("denied", "lambda"): ("AccessDeniedException", 403, "not authorized to perform"),
    # API Gateway, Security Hub: 429 TooManyRequestsException.
    ("throttle", "rest"): ("TooManyRequestsException", 429, "Too Many Requests"),
    ("unavailable", "rest"): ("ServiceUnavailableException", 503, "Service unavailable"),
    ("denied", "rest"): ("AccessDeniedException", 403, "not authorized to perform"),
    # JSON and CBOR services (Logs, KMS, Config, Secrets Manager, CloudWatch, CodeDeploy):
    # 400 ThrottlingException.
    ("throttle", "json"): ("ThrottlingException", 400, "Rate exceeded"),
    ("unavailable", "json"): ("ServiceUnavailable", 503, "Service unavailable"),
    ("denied", "json"): ("AccessDeniedException", 400, "not authorized to perform"),
    # Query services (STS, IAM, CloudFormation): 400 Throttling.
    ("throttle", "query"): ("Throttling", 400, "Rate exceeded"),
    ("unavailable", "query"): ("ServiceUnavailable", 503, "Service unavailable"),
    ("denied", "query"): ("AccessDenied", 403, "not authorized to perform sts:AssumeRole"),
    # EC2: RequestLimitExceeded comes with 503.
    ("throttle", "ec2"): ("RequestLimitExceeded", 503, "Request limit exceeded."),
    ("unavailable", "ec2"): ("Unavailable", 503, "The server is overloaded"),
    ("denied", "ec2"): ("UnauthorizedOperation", 403, "You are not authorized"),
}


def _xml(request: Request, code: str, message: str) -> bytes:
    rid = uuid.uuid4()
    if request.protocol == "ec2":
        return (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error>"
            f"</Errors><RequestID>{rid}</RequestID></Response>"
        ).encode()
    return (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
        f"<Message>{message}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>"
    ).encode()


def _cbor_text(value: str) -> bytes:
    data = value.encode()
    assert len(data) < 256  # noqa: S101 - short error strings only
    head = bytes([0x60 | len(data)]) if len(data) < 24 else bytes([0x78, len(data)])
    return head + data


def _cbor_map(items: dict[str, str]) -> bytes:
    out = bytes([0xA0 | len(items)])
    for key, value in items.items():
        out += _cbor_text(key) + _cbor_text(value)
    return out


def _canonical(body: bytes) -> bytes:
    """A JSON body with its keys and lists of names sorted: the emulator lists some names in
    the order they were created, and the seeder creates them concurrently."""
    try:
        data = json.loads(body)
    except ValueError:
        return body

    def sort(value):
        if isinstance(value, dict):
            return {k: sort(v) for k, v in value.items()}
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return sorted(value)
        if isinstance(value, list):
            return [sort(v) for v in value]
        return value

    return json.dumps(sort(data), sort_keys=True).encode()


class _Operations:
    """Operation name of a REST request, from the service model's request URIs."""

    def __init__(self):
        self.session = botocore.session.get_session()
        self.routes: dict[str, list[tuple[str, re.Pattern, str]]] = {}
        self.lock = threading.Lock()

    def _routes(self, service: str):
        with self.lock:
            if service not in self.routes:
                model = self.session.get_service_model(_SERVICE_NAMES.get(service, service))
                routes = []
                for name in model.operation_names:
                    http = model.operation_model(name).http
                    uri, _, query = http["requestUri"].partition("?")
                    uri = uri.rstrip("/") or "/"
                    pattern = re.sub(r"\\{[^}]+\\\+\\}", ".+", re.escape(uri))
                    pattern = re.sub(r"\\{[^}]+\\}", "[^/]+", pattern)
                    # A literal query (?List=ALL) tells operations on one path apart.
                    required = {k: v[0] for k, v in parse_qs(query).items()}
                    literal = (len(required), len(re.sub(r"\{[^}]+\}", "", uri)))
                    routes.append(
                        (literal, re.compile(pattern + "/?"), http["method"], required, name)
                    )
                # The most specific route first: /functions/{name}/policy before /functions/{name}.
                self.routes[service] = sorted(routes, key=lambda r: r[0], reverse=True)
            return self.routes[service]

    def rest(self, service: str, method: str, path: str, query: str) -> str:
        params = {k: v[0] for k, v in parse_qs(query).items()}
        for _, pattern, verb, required, name in self._routes(service):
            matches = verb == method and pattern.fullmatch(path)
            if matches and all(params.get(k) == v for k, v in required.items()):
                return name
        return f"{method} {path}"


_operations = _Operations()


def classify(method: str, raw_path: str, headers, body: bytes) -> tuple[str, str, str]:
    """(service, operation, protocol) of a signed AWS request."""
    match = _CRED.search(headers.get("Authorization", ""))
    service = match.group(2) if match else "unknown"
    parts = urlsplit(raw_path)
    path = unquote(parts.path)
    target = headers.get("X-Amz-Target", "")
    if target:
        return service, target.rsplit(".", 1)[-1], "json"
    cbor = re.fullmatch(r"/service/[^/]+/operation/([^/]+)", path)
    if cbor:
        return service, cbor.group(1), "cbor"
    if method == "POST" and body.startswith(b"Action="):
        action = parse_qs(body.decode(errors="replace")).get("Action", ["?"])[0]
        return service, action, "ec2" if service == "ec2" else "query"
    return service, _operations.rest(service, method, path, parts.query), "rest-json"


class FaultProxy:
    """``with FaultProxy(upstream_url, plan) as proxy:`` serves on ``proxy.url``.

    ``plan(request) -> Fault | None`` decides each request; ``calls`` counts every request by
    operation, ``faults`` the injected ones by operation and kind, ``attempts`` the requests
    per logical call."""

    def __init__(self, upstream: str, plan=None):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.plan = plan
        self.lock = threading.Lock()
        self.reset()

    def reset(self, plan=None) -> None:
        with self.lock:
            if plan is not None:
                self.plan = plan
            self.calls: Counter[str] = Counter()
            self.faults: Counter[tuple[str, str]] = Counter()
            self.attempts: Counter[str] = Counter()
            self.identities: dict[str, str] = {}  # identity -> operation name

    def snapshot(self) -> dict:
        with self.lock:
            return {
                "calls": Counter(self.calls),
                "faults": Counter(self.faults),
                "attempts": Counter(self.attempts),
                "identities": dict(self.identities),
            }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def admit(self, method: str, path: str, headers, body: bytes) -> Request:
        service, operation, protocol = classify(method, path, headers, body)
        masked = _VOLATILE.sub(b"*", b"\0".join([path.encode(), _canonical(body)]))
        identity = hashlib.sha256(
            b"\0".join([service.encode(), operation.encode(), masked])
        ).hexdigest()[:20]
        with self.lock:
            self.attempts[identity] += 1
            self.identities[identity] = f"{service}:{operation}"
            self.calls[f"{service}:{operation}"] += 1
            attempt = self.attempts[identity]
        return Request(service, operation, protocol, identity, attempt, body)

    def decide(self, request: Request) -> Fault | None:
        fault = self.plan(request) if self.plan else None
        if fault is not None:
            with self.lock:
                self.faults[(request.name, fault.kind)] += 1
        return fault


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like AWS endpoints
    owner: FaultProxy
    _local = threading.local()

    def log_message(self, *args):  # quiet
        pass

    def _upstream(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(*self.owner.upstream, timeout=60)
        return conn

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = self.owner.admit(self.command, self.path, self.headers, body)
        fault = self.owner.decide(request)
        if fault is not None:
            status, headers, data = fault.render(request)
        else:
            status, headers, data = self._forward(body)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        for attempt in range(2):  # a kept-alive upstream connection may have been closed
            conn = self._upstream()
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                break
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
        kept = {
            k: v
            for k, v in answer.getheaders()
            if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length"
        }
        return answer.status, kept, data

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


# --- Plans -----------------------------------------------------------------------------------


def _uniform(seed: int, identity: str, attempt: int) -> float:
    digest = hashlib.sha256(f"{seed}:{identity}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class Flaky:
    """Throttle ``throttle_rate`` of all answers and fail ``error_rate`` with a 5xx, drawn
    per (call, attempt) from a seeded hash; at most ``max_run`` faults in a row for one call
    (AWS throttling is bursty but never endless; botocore gives up after ``max_attempts``)."""

    def __init__(self, *, seed: int, throttle_rate: float, error_rate: float, max_run: int):
        self.seed = seed
        self.throttle_rate = throttle_rate
        self.error_rate = error_rate
        self.max_run = max_run

    def fault_for(self, identity: str, attempt: int) -> Fault | None:
        """The decision for one attempt of one call, given it is the ``attempt``-th."""
        if self.faults_before_answer(identity) < attempt:
            return None
        u = _uniform(self.seed, identity, attempt)
        return THROTTLE if u < self.throttle_rate else UNAVAILABLE

    def faults_before_answer(self, identity: str) -> int:
        """How many faults this call gets before its first real answer (deterministic)."""
        for n in range(1, self.max_run + 1):
            if _uniform(self.seed, identity, n) >= self.throttle_rate + self.error_rate:
                return n - 1
        return self.max_run

    def expected_attempts(self) -> float:
        """Mean requests per call: 1 + p + p^2 + ... + p^max_run, p = fault rate."""
        p = self.throttle_rate + self.error_rate
        return sum(p**n for n in range(self.max_run + 1))

    def __call__(self, request: Request) -> Fault | None:
        return self.fault_for(request.identity, request.attempt)


def deny(*operations: str, when=None):
    """Answer AccessDenied to every call of these operations (``sts:AssumeRole``), or only
    to those for which ``when(request)`` is true."""

    def plan(request: Request) -> Fault | None:
        if request.name in operations and (when is None or when(request)):
            return DENIED
        return None

    return plan
