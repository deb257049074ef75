"""Wall time of a full run behind a rate-limited emulator, with real Celery workers.

    .venv/bin/python bench/collection/wall_time.py --functions 2000 --rps 150 --workers 1 4

The emulator enforces the Lambda quota with AWS's bucket ratios scaled by ``--rps`` (shared
``rps``, GetFunction ``rps * 100 / 15``, GetPolicy ``rps``) and answers ThrottlingException
beyond it. The portal's limiter is set to the same rates. Floor = shared-bucket calls counted
by the emulator / rps; the floor of every bucket is printed too (the true floor is their max).
Workers are separate ``celery worker -c 1`` processes sharing a throwaway redis-server (token
buckets and broker); their CPU during the run (every process of the worker, from /proc) is
printed per function. Database: BENCH_DATABASE_URL (PostgreSQL recommended), else SQLite.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from _harness import ROOT, TMP, free_port, make_target, setup_django, start_emulator, stats


def _tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its live descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return total


def _spy(procs, workers: int) -> list:
    """PRR_BENCH_PYSPY=<folder>: sample each worker (every thread, idle included) with py-spy
    into <folder>/w<workers>-<i>.txt (collapsed stacks): where does the time go, token waits,
    moto, the database or CPU? Needs ptrace rights (root, or ptrace_scope 0)."""
    folder = os.environ.get("PRR_BENCH_PYSPY")
    if not folder:
        return []
    exe = Path(sys.executable).with_name("py-spy")
    return [
        subprocess.Popen(
            [exe, "record", "--pid", str(p.pid), "--subprocesses", "--idle", "--threads"]
            + ["-r", "50", "-f", "raw", "-o", f"{folder}/w{workers}-{i}.txt"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i, p in enumerate(procs)
    ]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--functions", type=int, default=2000)
    parser.add_argument("--rps", type=float, default=150)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    rport = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(rport), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    broker = f"redis://127.0.0.1:{rport}/0"
    rates = {
        "COLLECTION_LAMBDA_SHARED_RPS": str(args.rps),
        "COLLECTION_LAMBDA_GET_FUNCTION_RPS": str(args.rps * 100 / 15),
        "COLLECTION_LAMBDA_GET_POLICY_RPS": str(args.rps),
    }
    os.environ.update(rates)
    setup_django(eager=False, broker=broker)
    from audit.context import Actor
    from collection.checks.ids import CHECK_IDS
    from collection.emulator import seed
    from collection.models import CheckResult
    from collection.services import collection_run_start

    emulator, url = start_emulator(lambda_rps=args.rps)
    procs = []
    try:
        seed(url, functions=args.functions, prefix="wall-", demo=False)
        target = make_target(prefix="wall-")
        print(f"N={args.functions}, emulated quota {args.rps:g} req/s (shared bucket)")
        for workers in args.workers:
            env = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "false"}
            procs = [
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "portal",
                        "worker",
                        "-c",
                        "1",
                        "-n",
                        f"bench{i}@%h",
                        "-Q",
                        "portal",
                        "-l",
                        "WARNING",
                        "--without-gossip",
                        "--without-mingle",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=open(TMP / f"worker{i}.log", "w"),  # noqa: SIM115
                )
                for i in range(workers)
            ]
            time.sleep(4)
            spies = _spy(procs, workers)
            stats(url, reset=True)
            cpu0 = sum(_tree_cpu(p.pid) for p in procs)
            t0 = time.time()
            run = collection_run_start(
                actor=Actor.system("bench"), aws_target=target, trigger="scheduled"
            )
            while True:
                run.refresh_from_db()
                if not run.is_active:
                    break
                time.sleep(0.2)
            wall = time.time() - t0
            worker_cpu = sum(_tree_cpu(p.pid) for p in procs) - cpu0
            s = stats(url)
            shared = s.get("lambda:shared", 0)
            floor = shared / args.rps
            # The emulator scales its buckets like AWS's defaults (15 / 100 / 15 per s):
            # GetFunction at rps * 100 / 15, GetPolicy at rps. The true floor is the slowest.
            bucket_floors = {
                "shared": floor,
                "get_function": s.get("lambda:get_function", 0) / (args.rps * 100 / 15),
                "get_policy": s.get("lambda:get_policy", 0) / args.rps,
            }
            slowest = max(bucket_floors, key=bucket_floors.get)
            errors = CheckResult.objects.filter(run=run, status="error").count()
            throttled_errors = CheckResult.objects.filter(
                run=run, status="error", message__icontains="throttl"
            ).count()
            assert run.functions_evaluated == args.functions, run.error_summary
            print(
                f"  {workers} worker(s): wall {wall:.1f} s, floor {floor:.1f} s "
                f"({shared} shared-bucket calls / {args.rps:g}), ratio {wall / floor:.3f}; "
                f"429s answered by the emulator {s.get('lambda:throttled', 0)}, "
                f"error results {errors} (throttling {throttled_errors}), "
                f"{run.results_count} results ({len(CHECK_IDS)} checks), status {run.status}; "
                f"worker CPU {worker_cpu * 1000 / args.functions:.2f} ms/function"
            )
            print(
                "    floors by bucket: "
                + ", ".join(f"{k} {v:.1f} s" for k, v in bucket_floors.items())
                + f"; max {bucket_floors[slowest]:.1f} s ({slowest}), "
                f"ratio to it {wall / bucket_floors[slowest]:.3f}"
            )
            for spy in spies:
                spy.send_signal(signal.SIGINT)
                spy.wait(60)
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(30)
            procs = []
    finally:
        for p in procs:
            p.terminate()
        emulator.terminate()
        redis.terminate()


if __name__ == "__main__":
    main()
