"""`make demo`: the portal on its embedded defaults, with every moving part it needs.

Migrates SQLite, loads the control catalog, creates demo users, starts the AWS emulator (moto in
server mode) seeded with sample Lambda functions, a Celery worker with beat on a filesystem
broker, and the web server. Ctrl-C stops every process it started. Running it again reuses the
database and users.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
WEB_HOST = os.environ.get("DEMO_HOST", "127.0.0.1")
WEB_PORT = int(os.environ.get("DEMO_PORT", "8000"))
AWS_PORT = int(os.environ.get("DEMO_AWS_PORT", "5000"))

DEMO_ENV = {
    "DEBUG": "true",
    "PORTAL_HTTPS": "false",
    "AWS_ENDPOINT_URL": f"http://127.0.0.1:{AWS_PORT}",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # the emulator accepts any credentials
    "AWS_DEFAULT_REGION": "us-east-1",
    "PYTHONUNBUFFERED": "1",
}


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_for_port(port: int, proc: subprocess.Popen, name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with code {proc.returncode} while starting.")
        if _port_in_use(port):
            return
        time.sleep(0.2)
    raise SystemExit(f"{name} did not open port {port} within {timeout:.0f}s.")


def _manage(*args: str, env: dict, optional: bool = False) -> bool:
    """Run a management command; an optional one that does not exist yet is skipped."""
    if optional:
        probe = subprocess.run(  # noqa: S603
            [PY, "manage.py", "help", args[0]], cwd=ROOT, env=env, capture_output=True
        )
        if probe.returncode != 0:
            return False
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)  # noqa: S603
    return True


def _interrupt(*_args) -> None:
    raise KeyboardInterrupt


def main() -> int:
    env = {**os.environ, **{k: v for k, v in DEMO_ENV.items() if k not in os.environ}}
    for port, what in ((WEB_PORT, "the portal"), (AWS_PORT, "the AWS emulator")):
        if _port_in_use(port):
            print(
                f"Port {port} is taken, so {what} cannot start. Stop whatever uses it, or set "
                f"{'DEMO_PORT' if port == WEB_PORT else 'DEMO_AWS_PORT'}.",
                file=sys.stderr,
            )
            return 1
    (ROOT / "var").mkdir(exist_ok=True)
    _manage("migrate", "--noinput", "-v", "0", env=env)
    _manage("load_catalog", env=env, optional=True)
    _manage("seed_demo", env=env)

    procs: list[tuple[str, subprocess.Popen]] = []

    def start(name: str, cmd: list[str]) -> subprocess.Popen:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603
        procs.append((name, proc))
        return proc

    def stop_all(*_args) -> None:
        for _name, proc in reversed(procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for _name, proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        moto = start(
            "aws-emulator",
            [PY, "-m", "collection.emulator_server", "-H", "127.0.0.1", "-p", str(AWS_PORT)],
        )
        _wait_for_port(AWS_PORT, moto, "The AWS emulator")
        _manage("seed_emulator", "--endpoint", env["AWS_ENDPOINT_URL"], env=env)
        start(
            "celery",
            [
                PY,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "--beat",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--schedule",
                str(ROOT / "var" / "celerybeat-schedule"),
            ],
        )
        web = start("web", [PY, "manage.py", "runserver", f"{WEB_HOST}:{WEB_PORT}", "--noreload"])
        _wait_for_port(WEB_PORT, web, "The web server")
        _manage("demo_banner", f"http://{WEB_HOST}:{WEB_PORT}", env=env)
        while True:
            for name, proc in procs:
                if proc.poll() is not None:
                    print(
                        f"{name} stopped (exit code {proc.returncode}); stopping the demo.",
                        file=sys.stderr,
                    )
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nStopping the demo ...")
        return 0
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
