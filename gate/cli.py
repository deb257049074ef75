"""Reference CI step: ask the PRR Portal's deployment gate, print why, fail closed.

Standard library only, so a pipeline can run it from a checkout of the portal
(``python -m gate.cli``) or as a single copied file (``python prr_gate.py``).

    python -m gate.cli check --portal https://prr.example.com --service payments-api \\
        --environment prod --commit "$GITHUB_SHA" [--artifact-sha256 HEX] [--output gate.json]
    python -m gate.cli upload --portal ... --service payments-api --format sarif \\
        --file results.sarif --commit "$GITHUB_SHA"

Credentials, in this order: ``--token``/``PRR_PORTAL_TOKEN`` (a portal API token), else a
GitHub Actions OIDC token requested for audience ``--audience`` (default: the portal URL); the
job needs ``permissions: id-token: write``. A fresh OIDC token is requested for every call (the
portal refuses a token it has seen).

Exit status: 0 allow (or upload stored), 1 deny, 2 the portal could not be reached or refused
the request. Anything but 0 fails the job: no answer is never an allow.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

EXIT_ALLOW, EXIT_DENY, EXIT_ERROR = 0, 1, 2
RETRYABLE = {429, 502, 503, 504}


class GateError(Exception):
    """The portal could not give an answer."""


def _request(url: str, *, method="GET", headers=None, body: bytes | None = None, timeout=20):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return response.status, response.read()


def github_oidc_token(audience: str) -> str:
    """A GitHub Actions OIDC token for ``audience`` (needs ``id-token: write``)."""
    url = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
    bearer = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if not url or not bearer:
        raise GateError(
            "No credential: set PRR_PORTAL_TOKEN, or run in GitHub Actions with "
            "`permissions: id-token: write` so an OIDC token can be requested."
        )
    separator = "&" if "?" in url else "?"
    full = f"{url}{separator}audience={urllib.parse.quote(audience, safe='')}"
    try:
        _, body = _request(full, headers={"Authorization": f"bearer {bearer}"})
        return json.loads(body)["value"]
    except (OSError, ValueError, KeyError) as exc:
        raise GateError(f"Could not get a GitHub OIDC token: {exc}") from None


def _credential(args) -> str:
    token = args.token or os.environ.get("PRR_PORTAL_TOKEN", "")
    return token or github_oidc_token(args.audience or args.portal.rstrip("/"))


def call(args, path: str, body: bytes, content_type: str) -> dict:
    """POST to the portal, retrying transient failures; raise GateError when no answer."""
    url = args.portal.rstrip("/") + path
    last = ""
    for attempt in range(args.retries + 1):
        if attempt:
            time.sleep(min(2**attempt, 10))
        headers = {
            "Authorization": f"Bearer {_credential(args)}",  # fresh per attempt (jti)
            "Content-Type": content_type,
            "Accept": "application/json",
            "User-Agent": "prr-gate-cli/1",
        }
        try:
            _, payload = _request(
                url, method="POST", headers=headers, body=body, timeout=args.timeout
            )
            return json.loads(payload)
        except urllib.error.HTTPError as exc:
            detail = _error_message(exc)
            if exc.code not in RETRYABLE:
                raise GateError(f"The portal refused the request ({exc.code}): {detail}") from None
            last = f"{exc.code}: {detail}"
        except (OSError, ValueError) as exc:
            last = str(exc)
    raise GateError(f"The portal at {args.portal} could not be reached: {last}")


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        error = json.loads(exc.read())["error"]
        return error["message"]
    except Exception:  # noqa: BLE001 - any unreadable body: say so
        return exc.reason or "no detail"


def check(args) -> int:
    body = {
        "service": args.service,
        "environment": args.environment,
        "commit_sha": args.commit.lower(),
    }
    if args.artifact_sha256:
        body["artifact_sha256"] = _hex_sha256(args.artifact_sha256)
    answer = call(args, "/api/v1/gate", json.dumps(body).encode(), "application/json")
    decision = answer.get("decision")
    print(
        f"PRR gate: {decision.upper() if decision else 'NO ANSWER'} for {args.service} "
        f"to {args.environment} at {args.commit[:12]} (decision {answer.get('decision_id')})"
    )
    for reason in answer.get("reasons", []):
        control = f"[{reason['control']}] " if reason.get("control") else ""
        print(f"  - {reason['code']}: {control}{reason['message']}")
    if answer.get("expires_at"):
        print(f"  valid until {answer['expires_at']}")
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            json.dump(answer, handle, indent=2)
    _github_output(answer)
    if decision == "allow":
        return EXIT_ALLOW
    if decision == "deny":
        return EXIT_DENY
    raise GateError("The portal's answer has no decision.")


def _hex_sha256(value: str) -> str:
    """Lambda reports CodeSha256 in base64; the gate takes hex. Accept either."""
    value = value.strip()
    if len(value) == 64 and all(c in "0123456789abcdefABCDEF" for c in value):
        return value.lower()
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        raise GateError(f"--artifact-sha256 {value!r} is neither hex nor base64.") from None
    if len(raw) != 32:
        raise GateError("--artifact-sha256 is not a SHA-256.")
    return raw.hex()


def _github_output(answer: dict) -> None:
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"decision={answer.get('decision', '')}\n")
        handle.write(f"decision_id={answer.get('decision_id', '')}\n")
        handle.write(f"signature={answer.get('signature', '')}\n")


def upload(args) -> int:
    with open(args.file, "rb") as handle:
        content = handle.read()
    boundary = uuid.uuid4().hex
    fields = {"format": args.format, "commit_sha": args.commit.lower()}
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    name = os.path.basename(args.file)
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    answer = call(
        args,
        f"/api/v1/services/{args.service}/ci-evidence",
        body,
        f"multipart/form-data; boundary={boundary}",
    )
    print(
        f"PRR evidence: {args.format} stored as evidence {answer['evidence']} "
        f"({answer['outcome']}: {answer['summary']}) for control {answer['control'] or '-'}"
    )
    return EXIT_ALLOW


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="prr-gate", description=__doc__.split("\n\n")[0])
    main.add_argument(
        "--portal",
        default=os.environ.get("PRR_PORTAL_URL", ""),
        help="Portal base URL (or PRR_PORTAL_URL).",
    )
    main.add_argument("--token", default="", help="Portal API token (or PRR_PORTAL_TOKEN).")
    main.add_argument(
        "--audience",
        default=os.environ.get("PRR_PORTAL_AUDIENCE", ""),
        help="OIDC audience the portal expects (default: the portal URL).",
    )
    main.add_argument("--timeout", type=float, default=20)
    main.add_argument("--retries", type=int, default=2)
    sub = main.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("check", help="Ask the gate; exit 0 on allow, 1 on deny, 2 on error.")
    ask.add_argument("--service", required=True)
    ask.add_argument("--environment", required=True)
    ask.add_argument("--commit", required=True, help="Full 40-character commit SHA.")
    ask.add_argument("--artifact-sha256", default="", help="Lambda CodeSha256 (hex or base64).")
    ask.add_argument("--output", default="", help="Write the signed answer to this file.")
    ask.set_defaults(run=check)
    send = sub.add_parser("upload", help="Upload a CI report as evidence.")
    send.add_argument("--service", required=True)
    send.add_argument(
        "--format",
        required=True,
        choices=["sarif", "checkov", "junit", "cyclonedx", "signer", "deployment"],
    )
    send.add_argument("--file", required=True)
    send.add_argument("--commit", required=True)
    send.set_defaults(run=upload)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.portal:
        print("prr-gate: --portal (or PRR_PORTAL_URL) is required.", file=sys.stderr)
        return EXIT_ERROR
    try:
        return args.run(args)
    except GateError as exc:
        print(f"PRR gate: FAILED CLOSED: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        print(f"PRR gate: FAILED CLOSED: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
