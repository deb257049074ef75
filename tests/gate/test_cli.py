"""The reference CI step against a running portal: allow passes, deny and no answer fail."""

import json
import socket

import pytest

from gate import cli
from tests.gate.helpers import COMMIT, all_passing, approve, service_token

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def portal(live_server, admin_user, service, catalog):
    return live_server.url, service_token(admin_user, [service])[1]


def run(portal_url, token, *extra):
    return cli.main(["--portal", portal_url, "--token", token, "--retries", "0", *extra])


def check_args(commit=COMMIT):
    return ["check", "--service", "payments-api", "--environment", "prod", "--commit", commit]


def test_allow_exits_zero_and_writes_the_signed_answer(portal, service, catalog, tmp_path, capsys):
    version, controls = catalog
    approve(service, version, controls)
    all_passing(service)
    out = tmp_path / "gate.json"

    code = run(*portal, *check_args(), "--output", str(out))

    assert code == 0
    assert "PRR gate: ALLOW for payments-api to prod" in capsys.readouterr().out
    answer = json.loads(out.read_text())
    assert answer["decision"] == "allow" and answer["signature"].count(".") == 2


def test_deny_exits_one_and_prints_the_reasons(portal, capsys):
    code = run(*portal, *check_args())

    assert code == 1
    printed = capsys.readouterr().out
    assert "DENY" in printed
    assert "no_review" in printed
    assert "[PRR-RUN-001]" in printed


def test_a_refused_request_fails_closed(portal, capsys):
    code = run(*portal, *check_args(commit="abc"))

    assert code == 2
    assert "FAILED CLOSED" in capsys.readouterr().err


def test_an_unreachable_portal_fails_closed(capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    code = cli.main(
        [
            "--portal",
            f"http://127.0.0.1:{port}",
            "--token",
            "prr_x",
            "--retries",
            "0",
            *check_args(),
        ]
    )

    assert code == 2
    assert "could not be reached" in capsys.readouterr().err


def test_without_a_credential_outside_github_it_fails_closed(monkeypatch, capsys):
    monkeypatch.delenv("PRR_PORTAL_TOKEN", raising=False)
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_URL", raising=False)

    code = cli.main(["--portal", "http://127.0.0.1:9", *check_args()])

    assert code == 2
    assert "id-token: write" in capsys.readouterr().err


def test_upload_sends_a_report(portal, tmp_path, capsys):
    report = tmp_path / "results.sarif"
    report.write_text(
        json.dumps(
            {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "CodeQL"}}, "results": []}]}
        )
    )

    code = run(
        *portal,
        "upload",
        "--service",
        "payments-api",
        "--format",
        "sarif",
        "--file",
        str(report),
        "--commit",
        COMMIT,
    )

    assert code == 0
    assert "stored as evidence" in capsys.readouterr().out


def test_a_base64_code_sha256_is_converted_to_hex():
    import base64
    import hashlib

    digest = hashlib.sha256(b"code").digest()

    assert cli._hex_sha256(base64.b64encode(digest).decode()) == digest.hex()
