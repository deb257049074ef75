"""Collector CPU per function (portal worker process only, not the emulator), with every
check evaluated and results stored, next to Cloud Custodian on the same emulated account.

    .venv/bin/python bench/collection/cpu_per_function.py --functions 500

The portal run executes in this process (Celery eager mode: same code as a worker);
RUSAGE_SELF covers its threads. Cloud Custodian 0.9.53 (10 Lambda policies,
custodian_lambda.yml) is installed into .venv-bench from PyPI on first use and measured
with RUSAGE_CHILDREN. Both talk to the same emulator via AWS_ENDPOINT_URL.
"""

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from _harness import ROOT, TMP, call_counts, make_target, run_once, setup_django, start_emulator

VENV = ROOT / ".venv-bench"
POLICIES = Path(__file__).with_name("custodian_lambda.yml")


def ensure_custodian() -> Path:
    exe = VENV / "bin" / "custodian"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "c7n==0.9.53"], check=True)
    return exe


def cpu(kind) -> float:
    usage = resource.getrusage(kind)
    return usage.ru_utime + usage.ru_stime


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--functions", type=int, default=500)
    parser.add_argument(
        "--skip-custodian", action="store_true", help="measure the portal only (profiling)"
    )
    args = parser.parse_args()
    n = args.functions
    custodian = None if args.skip_custodian else ensure_custodian()
    setup_django()
    from collection.checks import REGISTRY
    from collection.emulator import seed

    proc, url = start_emulator()
    try:
        seed(url, functions=n, prefix="cpu-", demo=False)
        target = make_target(prefix="cpu-")
        run_once(target)  # warm-up: imports, botocore models, SQLite pages
        target.collection_runs.update()  # keep history; next run is a new run
        before, t0 = cpu(resource.RUSAGE_SELF), time.time()
        run = run_once(target)
        portal_cpu, portal_wall = cpu(resource.RUSAGE_SELF) - before, time.time() - t0
        assert run.functions_evaluated == n, run.error_summary
        calls = sum(call_counts(run).values())
        if custodian is None:
            per_fn = portal_cpu * 1000 / n
            print(f"N={n}: portal {per_fn:.2f} ms CPU/function, wall {portal_wall:.1f} s")
            return
        env = {**os.environ, "AWS_ENDPOINT_URL": url, "AWS_DEFAULT_REGION": "us-east-1"}
        before, t0 = cpu(resource.RUSAGE_CHILDREN), time.time()
        subprocess.run(
            [
                str(custodian),
                "run",
                "-s",
                str(TMP / "custodian"),
                str(POLICIES),
                "--region",
                "us-east-1",
            ],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        c7n_cpu, c7n_wall = cpu(resource.RUSAGE_CHILDREN) - before, time.time() - t0
    finally:
        proc.terminate()
        proc.wait(10)
    checks = len(REGISTRY)
    print(f"N={n} functions")
    print(
        f"  portal:    {portal_cpu * 1000 / n:7.2f} ms CPU/function, {checks} checks, "
        f"{n * checks} results stored, {calls} AWS calls, wall {portal_wall:.1f} s"
    )
    print(
        f"  custodian: {c7n_cpu * 1000 / n:7.2f} ms CPU/function, 10 policies "
        f"(process start included), wall {c7n_wall:.1f} s"
    )
    print(
        f"  portal evaluates {checks / 10:.1f}x the checks at {portal_cpu / c7n_cpu:.2f}x the CPU"
    )


if __name__ == "__main__":
    main()
