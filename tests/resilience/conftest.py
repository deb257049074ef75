"""The real parts the resilience suite breaks on purpose: Redis servers it can stop and restart,
Celery worker processes it can kill, the AWS emulator, and the test database's address so that
subprocesses (workers, gunicorn) share it.

Fault tests need PostgreSQL (a worker subprocess cannot see SQLite's in-memory test database)
and redis-server; they skip otherwise.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def database_url(**overrides) -> str:
    """The test database's URL (what pytest-django created), for subprocesses."""
    s = {**connection.settings_dict, **overrides}
    return (
        f"postgresql://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or 'localhost'}:"
        f"{s['PORT'] or 5432}/{s['NAME']}"
    )


class RedisServer:
    """A redis-server on a fixed free port that a test may stop and start again."""

    def __init__(self, tmp: Path, *, appendonly: bool = False):
        self.port = free_port()
        self.dir = tmp
        self.appendonly = appendonly  # as in production: queued messages survive a restart
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603
            [  # noqa: S607
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes" if self.appendonly else "no",
                "--appendfsync",
                "always",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=1)
        wait_until(lambda: _pings(client), 10, what="redis-server")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:  # noqa: BLE001 - not up yet
        return False


@pytest.fixture
def redis_server(tmp_path):
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server")
    server = RedisServer(tmp_path, appendonly=True)
    server.start()
    yield server
    server.stop()


class Worker:
    """``celery worker`` in its own process group, so a test can kill parts of it."""

    def __init__(self, env: dict, concurrency: int, log: Path):
        self.env = env
        self.concurrency = concurrency
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self) -> Worker:
        self.logfile = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "-l",
                "WARNING",
                "-c",
                str(self.concurrency),
                "-Q",
                "portal",
                "-I",
                "tests.resilience.worker_tasks",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def kill_main(self) -> None:
        """SIGKILL the main process only (its pool children are orphaned, as on a crash)."""
        os.kill(self.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.logfile.close()
        self.proc = None

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture
def postgres_transactional(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: worker processes must share the test database")


@pytest.fixture
def broker(redis_server, monkeypatch, settings):
    """Point this process's Celery producer at the test's own Redis (Celery reads the
    CELERY_BROKER_URL environment variable before its configuration)."""
    from portal.celery import app

    monkeypatch.setenv("CELERY_BROKER_URL", redis_server.url)
    settings.CELERY_BROKER_URL = redis_server.url

    old = (app.conf.broker_url, app.conf.task_always_eager)

    def reset_pools():
        app.close()
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.broker_url, app.conf.task_always_eager = redis_server.url, False
    reset_pools()
    yield redis_server
    app.conf.broker_url, app.conf.task_always_eager = old
    reset_pools()


@pytest.fixture
def worker_env(postgres_transactional, redis_server):
    """Environment of worker subprocesses: the test database, the test's Redis, short
    visibility timeout (tests/resilience/worker_settings.py)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.resilience.worker_settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": redis_server.url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "COLLECTION_LAMBDA_SHARED_RPS": "2000",
        "COLLECTION_LAMBDA_GET_FUNCTION_RPS": "2000",
        "COLLECTION_LAMBDA_GET_POLICY_RPS": "2000",
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def start_worker(worker_env, tmp_path):
    """``start_worker(concurrency=2, **env)`` starts a worker; all are killed at the end."""
    started: list[Worker] = []

    def _start(concurrency: int = 2, **env) -> Worker:
        from django.conf import settings

        env = {"AWS_ENDPOINT_URL": settings.AWS_ENDPOINT_URL or "", **worker_env, **env}
        worker = Worker(env, concurrency, tmp_path / f"worker{len(started)}.log")
        started.append(worker.start())
        return worker

    yield _start
    for worker in started:
        worker.stop()


@pytest.fixture(scope="session")
def chaos_emulator():
    """The AWS emulator with a few hundred compliant functions, seeded once per session."""
    from tests.collection.conftest import seeded_emulator
    from tests.resilience.collection_helpers import FUNCTIONS, PREFIX

    with seeded_emulator(functions=FUNCTIONS, prefix=PREFIX, demo=False) as url:
        yield url


@pytest.fixture
def chaos_target(service, chaos_emulator, settings):
    from collection.aws import clients
    from tests.factories import AwsTargetFactory
    from tests.resilience.collection_helpers import PREFIX

    settings.AWS_ENDPOINT_URL = chaos_emulator
    clients.clear_cache()
    yield AwsTargetFactory(
        service=service,
        account_id="123456789012",
        regions=["us-east-1"],
        role_arn="arn:aws:iam::123456789012:role/prr-collector",
        function_name_prefix=PREFIX,
    )
    clients.clear_cache()


class TcpProxy:
    """A loopback TCP proxy that a test can cut (every connection dropped, new ones refused)
    and restore, on the same port: a database that becomes unreachable and comes back."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()

    def start(self) -> TcpProxy:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(64)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()
        return self

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        if self.listener is not None:
            # shutdown wakes the thread blocked in accept(); close alone would not.
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def restore(self) -> None:
        self.start()
