"""The AWS emulator: moto in server mode plus what moto lacks, and an optional quota.

Run ``python -m collection.emulator_server -p PORT [--lambda-rps 150]``. It serves moto's
WSGI app behind a middleware that

* implements the Lambda, CodeDeploy and Config APIs moto does not (provisioned concurrency
  configs, code-signing configs and their function listings, BatchGetDeploymentGroups with
  alarm configuration, DescribeComplianceByResource) and adds the fields moto drops from
  function listings (DeadLetterConfig, LoggingConfig, the signature of code deployed under an
  enforcing code-signing config);
* optionally enforces the Lambda control-plane quota per region, with the AWS buckets
  (shared 15/s, GetFunction 100/s, GetPolicy 15/s, scaled together by ``--lambda-rps``),
  answering 429 ThrottlingException beyond it, and counts calls per bucket at
  ``GET /_prr/stats`` (``POST /_prr/reset`` zeroes the counters).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import threading
import time
import uuid
from urllib.parse import parse_qs, unquote

ACCOUNT = "123456789012"
_CRED = re.compile(r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/")
_FN = r"/(?:2015-03-31|2016-08-19|2017-10-31|2019-09-25|2019-09-30|2020-06-30)/functions/([^/]+)"


class Bucket:
    def __init__(self, rate: float):
        self.rate = rate
        self.capacity = rate
        self.tokens = rate
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


def lambda_bucket(method: str, path: str) -> str | None:
    if re.fullmatch(_FN + r"/invocations", path) or path.endswith("/invoke-async/"):
        return None
    if method == "GET" and re.fullmatch(_FN + "/?", path):
        return "get_function"
    if method == "GET" and re.fullmatch(_FN + "/policy/?", path):
        return "get_policy"
    return "shared"


class EmulatorMiddleware:
    def __init__(self, app, lambda_rps: float | None = None):
        self.app = app
        self.lambda_rps = lambda_rps
        self.buckets: dict[tuple, Bucket] = {}
        self.lock = threading.Lock()
        self.stats: dict = {}
        self.extras: dict[tuple, dict] = {}  # (region, function) -> fields moto drops
        self.provisioned: dict[tuple, dict] = {}  # (region, function, qualifier) -> config
        # (region, function, qualifier) -> async invoke config: moto keeps one per function
        # and ignores the qualifier, which AWS does not.
        self.invoke_configs: dict[tuple, dict] = {}
        self.csc: dict[tuple, dict] = {}  # (region, arn) -> code-signing config
        self.csc_of: dict[tuple, str] = {}  # (region, function) -> csc arn
        self.compliance: dict[tuple, str] = {}  # (region, function) -> compliance type

    # --- plumbing --------------------------------------------------------------------------
    def _count(self, key: str) -> None:
        with self.lock:
            self.stats[key] = self.stats.get(key, 0) + 1

    def _throttled(self, region: str, bucket: str) -> bool:
        if not self.lambda_rps:
            return False
        scale = {"shared": 1.0, "get_function": 100 / 15, "get_policy": 1.0}[bucket]
        key = (region, bucket)
        with self.lock:
            found = self.buckets.get(key)
            if found is None:
                found = self.buckets[key] = Bucket(self.lambda_rps * scale)
        return not found.take()

    @staticmethod
    def _json(start_response, status: str, body, headers=None):
        data = json.dumps(body, default=str).encode()
        start_response(
            status,
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(data))),
                ("x-amzn-RequestId", str(uuid.uuid4())),
            ]
            + (headers or []),
        )
        return [data]

    @staticmethod
    def _body(environ) -> bytes:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        data = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(data)
        return data

    def _passthrough(self, environ):
        captured = {}

        def start(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers

        body = b"".join(self.app(environ, start))
        return captured["status"], captured["headers"], body

    # --- dispatch --------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/moto-api/reset":
            self.extras.clear()
            self.provisioned.clear()
            self.invoke_configs.clear()
            self.csc.clear()
            self.csc_of.clear()
            self.compliance.clear()
        if path.startswith("/_prr/"):
            return self._private(environ, start_response, path, method)
        match = _CRED.search(environ.get("HTTP_AUTHORIZATION", ""))
        region, service = (match.group(1), match.group(2)) if match else ("us-east-1", "")
        self._count(f"{service}:requests")
        if service == "lambda":
            bucket = lambda_bucket(method, path)
            if bucket:
                self._count(f"lambda:{bucket}")
                if self._throttled(region, bucket):
                    self._count("lambda:throttled")
                    return self._json(
                        start_response,
                        "429 Too Many Requests",
                        {"message": "Rate exceeded", "Type": "User"},
                        [("x-amzn-ErrorType", "ThrottlingException")],
                    )
            handled = self._lambda(environ, start_response, region, method, path)
            if handled is not None:
                return handled
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.endswith(".BatchGetDeploymentGroups"):
            return self._batch_get_groups(environ, start_response, region)
        if target.endswith(".DescribeComplianceByResource"):
            items = [
                {
                    "ResourceType": "AWS::Lambda::Function",
                    "ResourceId": fn,
                    "Compliance": {"ComplianceType": kind},
                }
                for (r, fn), kind in sorted(self.compliance.items())
                if r == region
            ]
            return self._json(start_response, "200 OK", {"ComplianceByResources": items})
        return self.app(environ, start_response)

    def _private(self, environ, start_response, path, method):
        if path == "/_prr/stats":
            with self.lock:
                return self._json(start_response, "200 OK", dict(self.stats))
        if path == "/_prr/reset" and method == "POST":
            with self.lock:
                self.stats.clear()
                self.buckets.clear()
            return self._json(start_response, "200 OK", {})
        if path == "/_prr/compliance" and method == "POST":
            data = json.loads(self._body(environ) or b"{}")
            for fn, kind in data.get("functions", {}).items():
                self.compliance[(data.get("region", "us-east-1"), fn)] = kind
            return self._json(start_response, "200 OK", {})
        return self._json(start_response, "404 Not Found", {"message": "unknown"})

    # --- Lambda additions ----------------------------------------------------------------
    def _lambda(self, environ, start_response, region, method, path):
        query = parse_qs(environ.get("QUERY_STRING", ""))
        m = re.fullmatch(_FN + r"/provisioned-concurrency/?", path)
        if m:
            name = unquote(m.group(1))
            if method == "PUT":
                body = json.loads(self._body(environ) or b"{}")
                qualifier = query.get("Qualifier", [""])[0]
                requested = body.get("ProvisionedConcurrentExecutions", 0)
                cfg = {
                    "FunctionArn": f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}:{qualifier}",
                    "RequestedProvisionedConcurrentExecutions": requested,
                    "AvailableProvisionedConcurrentExecutions": requested,
                    "AllocatedProvisionedConcurrentExecutions": requested,
                    "Status": "READY",
                    "LastModified": time.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
                }
                self.provisioned[(region, name, qualifier)] = cfg
                return self._json(start_response, "202 Accepted", cfg)
            configs = [c for (r, n, _), c in self.provisioned.items() if (r, n) == (region, name)]
            return self._json(start_response, "200 OK", {"ProvisionedConcurrencyConfigs": configs})
        m = re.fullmatch(_FN + r"/event-invoke-config(/list)?/?", path)
        if m:
            return self._invoke_config(start_response, region, method, query, m, environ)
        if re.fullmatch(r"/2020-04-22/code-signing-configs/?", path):
            if method == "POST":
                body = json.loads(self._body(environ) or b"{}")
                csc_id = f"csc-{uuid.uuid4().hex[:17]}"
                arn = f"arn:aws:lambda:{region}:{ACCOUNT}:code-signing-config:{csc_id}"
                cfg = {
                    "CodeSigningConfigId": arn.rsplit(":", 1)[-1],
                    "CodeSigningConfigArn": arn,
                    "Description": body.get("Description", ""),
                    "AllowedPublishers": body.get("AllowedPublishers", {}),
                    "CodeSigningPolicies": body.get(
                        "CodeSigningPolicies", {"UntrustedArtifactOnDeployment": "Warn"}
                    ),
                    "LastModified": time.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
                }
                self.csc[(region, arn)] = cfg
                return self._json(start_response, "201 Created", {"CodeSigningConfig": cfg})
            configs = [c for (r, _), c in self.csc.items() if r == region]
            return self._json(start_response, "200 OK", {"CodeSigningConfigs": configs})
        m = re.fullmatch(r"/2020-04-22/code-signing-configs/(.+)/functions/?", path)
        if m:
            arn = unquote(m.group(1))
            names = [n for (r, n), a in self.csc_of.items() if r == region and a == arn]
            arns = [f"arn:aws:lambda:{region}:{ACCOUNT}:function:{n}" for n in sorted(names)]
            return self._json(start_response, "200 OK", {"FunctionArns": arns})
        m = re.fullmatch(_FN + r"/code-signing-config/?", path)
        if m and method == "PUT":
            name = unquote(m.group(1))
            body = json.loads(self._body(environ) or b"{}")
            self.csc_of[(region, name)] = body["CodeSigningConfigArn"]
            return self._json(
                start_response,
                "200 OK",
                {"CodeSigningConfigArn": body["CodeSigningConfigArn"], "FunctionName": name},
            )
        if method == "POST" and re.fullmatch(r"/2015-03-31/functions/?", path):
            body = json.loads(self._body(environ) or b"{}")
            extra = {k: body[k] for k in ("DeadLetterConfig", "LoggingConfig") if k in body}
            # moto only accepts layers of the function's own account: keep them here.
            if body.get("Layers"):
                extra["Layers"] = [{"Arn": arn, "CodeSize": 1024} for arn in body.pop("Layers")]
                data = json.dumps(body).encode()
                environ["wsgi.input"] = io.BytesIO(data)
                environ["CONTENT_LENGTH"] = str(len(data))
            self.extras[(region, body.get("FunctionName", ""))] = extra
        if method == "GET" and (
            re.fullmatch(r"/2015-03-31/functions/?", path) or re.fullmatch(_FN + "/?", path)
        ):
            status, headers, body = self._passthrough(environ)
            if status.startswith("200"):
                data = json.loads(body)
                for cfg in data.get("Functions", []) + [data.get("Configuration") or {}]:
                    self._decorate(region, cfg)
                body = json.dumps(data).encode()
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                headers.append(("Content-Length", str(len(body))))
            start_response(status, headers)
            return [body]
        return None

    def _invoke_config(self, start_response, region, method, query, match, environ):
        """Put, get and list async invoke configs per qualifier, as AWS keeps them."""
        name = unquote(match.group(1))
        qualifier = query.get("Qualifier", [""])[0]
        arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"
        if match.group(2):  # list: every qualifier's config
            configs = [
                c for (r, n, _), c in self.invoke_configs.items() if (r, n) == (region, name)
            ]
            return self._json(start_response, "200 OK", {"FunctionEventInvokeConfigs": configs})
        key = (region, name, qualifier)
        if method in ("PUT", "POST"):
            body = json.loads(self._body(environ) or b"{}")
            cfg = {
                "FunctionArn": f"{arn}:{qualifier or '$LATEST'}",
                "LastModified": time.time(),
                **{
                    k: body[k]
                    for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds")
                    if k in body
                },
                "DestinationConfig": body.get("DestinationConfig", {}),
            }
            self.invoke_configs[key] = cfg
            return self._json(start_response, "200 OK", cfg)
        if method == "DELETE":
            self.invoke_configs.pop(key, None)
            return self._json(start_response, "204 No Content", {})
        if key not in self.invoke_configs:
            return self._json(
                start_response,
                "404 Not Found",
                {
                    "Type": "User",
                    "Message": f"The function {arn} doesn't have an EventInvokeConfig",
                },
                [("x-amzn-ErrorType", "ResourceNotFoundException")],
            )
        return self._json(start_response, "200 OK", self.invoke_configs[key])

    def _decorate(self, region: str, cfg: dict) -> None:
        name = cfg.get("FunctionName")
        if not name:
            return
        cfg.update(self.extras.get((region, name), {}))
        csc = self.csc.get((region, self.csc_of.get((region, name), "")))
        if csc and csc["CodeSigningPolicies"].get("UntrustedArtifactOnDeployment") == "Enforce":
            profiles = csc["AllowedPublishers"].get("SigningProfileVersionArns", [""])
            job = hashlib.sha256(f"{name}{cfg.get('CodeSha256')}".encode()).hexdigest()[:32]
            cfg["SigningProfileVersionArn"] = profiles[0]
            cfg["SigningJobArn"] = f"arn:aws:signer:{region}:{ACCOUNT}:/signing-jobs/{job}"

    # --- CodeDeploy ----------------------------------------------------------------------
    def _batch_get_groups(self, environ, start_response, region):
        from moto.codedeploy.models import codedeploy_backends
        from moto.codedeploy.responses import _deployment_group_info

        body = json.loads(self._body(environ) or b"{}")
        backend = codedeploy_backends[ACCOUNT][region]
        infos, errors = [], []
        for group_name in body.get("deploymentGroupNames", []):
            try:
                group = backend.get_deployment_group(body["applicationName"], group_name)
            except Exception:  # noqa: BLE001 - reported like AWS does
                errors.append(group_name)
                continue
            info = _deployment_group_info(group)
            alarms = group.alarm_configuration
            if alarms is not None and not isinstance(alarms, dict):
                alarms = {
                    "enabled": bool(alarms.enabled),
                    "ignorePollAlarmFailure": bool(alarms.ignore_poll_alarm_failure),
                    "alarms": alarms.alarms,
                }
            info["alarmConfiguration"] = alarms or {}
            infos.append(info)
        payload = {"deploymentGroupsInfo": infos}
        if errors:
            payload["errorMessage"] = f"Deployment groups not found: {', '.join(errors)}"
        return self._json(start_response, "200 OK", payload)


def make_app(lambda_rps: float | None = None):
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return EmulatorMiddleware(DomainDispatcherApplication(create_backend_app), lambda_rps)


def _serve_gunicorn(host: str, port: int, lambda_rps: float | None, threads: int) -> None:
    """One gunicorn worker process (moto's state lives in it) with a thread pool and HTTP
    keep-alive, like AWS endpoints: werkzeug's server closes every connection, so each
    request would pay a TCP connect on both sides."""
    from gunicorn.app.base import BaseApplication

    class Emulator(BaseApplication):
        def load_config(self):
            settings = {
                "bind": f"{host}:{port}",
                "workers": 1,
                "worker_class": "gthread",
                "threads": threads,
                "keepalive": 30,
                "timeout": 300,
                "graceful_timeout": 2,
                "loglevel": "warning",
                "accesslog": None,
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):
            return make_app(lambda_rps)

    print(f"emulator listening on http://{host}:{port}", flush=True)
    Emulator().run()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    parser.add_argument("--lambda-rps", type=float, default=None, help="shared-bucket quota")
    parser.add_argument(
        "--werkzeug",
        action="store_true",
        help="serve with werkzeug (closes every connection) instead of gunicorn (keep-alive)",
    )
    parser.add_argument("--threads", type=int, default=64, help="gunicorn threads")
    args = parser.parse_args(argv)
    if not args.werkzeug:
        _serve_gunicorn(args.host, args.port, args.lambda_rps, args.threads)
        return
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    server = make_server(
        args.host,
        args.port,
        make_app(args.lambda_rps),
        threaded=True,
        request_handler=MotoRequestHandler,
    )
    print(f"emulator listening on http://{args.host}:{server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
