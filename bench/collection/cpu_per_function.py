"""Collector CPU per function (portal worker process only, not the emulator), with every
check evaluated and results stored, next to Cloud Custodian on the same emulated account.

    .venv/bin/python bench/collection/cpu_per_function.py --functions 500 [--rounds 3]

The portal run executes in this process (Celery eager mode: same code as a worker);
RUSAGE_SELF covers its threads. Cloud Custodian 0.9.53 (10 Lambda policies,
custodian_lambda.yml) is installed into .venv-bench from PyPI on first use and measured
with RUSAGE_CHILDREN. Both talk to the same emulator via AWS_ENDPOINT_URL. Rounds alternate
a portal run and a Custodian run, so both see the same machine noise; each round's ratio and
the median are printed.
"""

import argparse
import os
import resource
import statistics
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


def portal_round(target, n: int) -> tuple[float, float, int]:
    """One full run in this process: (CPU seconds, wall seconds, AWS calls)."""
    before, t0 = cpu(resource.RUSAGE_SELF), time.time()
    run = run_once(target)
    portal_cpu, portal_wall = cpu(resource.RUSAGE_SELF) - before, time.time() - t0
    assert run.functions_evaluated == n, run.error_summary
    return portal_cpu, portal_wall, sum(call_counts(run).values())


def custodian_round(
    custodian: Path, url: str, index, region: str = "us-east-1"
) -> tuple[float, float]:
    """One Cloud Custodian run of the 10 policies: (CPU seconds, wall seconds)."""
    env = {**os.environ, "AWS_ENDPOINT_URL": url, "AWS_DEFAULT_REGION": region}
    before, t0 = cpu(resource.RUSAGE_CHILDREN), time.time()
    subprocess.run(
        [
            str(custodian),
            "run",
            "-s",
            str(TMP / f"custodian-{index}"),
            # A cache of its own per round: the default (~/.cache, 15 minutes) would serve an
            # earlier run's listings (same account, region and function names) and skip the
            # calls. Within one run its policies share it, as usual.
            "--cache",
            str(TMP / f"custodian-{index}.cache"),
            str(POLICIES),
            "--region",
            region,
        ],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return cpu(resource.RUSAGE_CHILDREN) - before, time.time() - t0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--functions", type=int, default=500)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="portal and custodian runs, interleaved (this machine's noise is +-10%%)",
    )
    parser.add_argument(
        "--skip-custodian", action="store_true", help="measure the portal only (profiling)"
    )
    args = parser.parse_args()
    n = args.functions
    custodian = None if args.skip_custodian else ensure_custodian()
    setup_django()
    from collection.checks import REGISTRY
    from collection.emulator import seed

    checks = len(REGISTRY)
    proc, url = start_emulator()
    rounds = []
    try:
        seed(url, functions=n, prefix="cpu-", demo=False)
        target = make_target(prefix="cpu-")
        run_once(target)  # warm-up: imports, botocore models, SQLite pages
        print(f"N={n} functions, {checks} checks vs 10 Custodian policies")
        for i in range(args.rounds):
            portal_cpu, portal_wall, calls = portal_round(target, n)
            line = (
                f"  round {i + 1}: portal {portal_cpu * 1000 / n:5.2f} ms CPU/function "
                f"({n * checks} results stored, {calls} AWS calls, wall {portal_wall:.1f} s)"
            )
            if custodian is None:
                print(line)
                continue
            c7n_cpu, c7n_wall = custodian_round(custodian, url, i)
            rounds.append((portal_cpu, c7n_cpu))
            print(
                f"{line}; custodian {c7n_cpu * 1000 / n:5.2f} ms (process start included, "
                f"wall {c7n_wall:.1f} s); ratio {portal_cpu / c7n_cpu:.2f}"
            )
    finally:
        proc.terminate()
        proc.wait(10)
    if not rounds:
        return
    ratios = [p / c for p, c in rounds]
    # Custodian's fixed cost per run (process start, imports, policy loading): the same
    # policies on a region with no functions. The portal's worker is long-lived: its start is
    # not in its figure, so the per-function difference beyond that fixed cost is shown too.
    proc, url = start_emulator()
    try:
        fixed = statistics.median(
            custodian_round(custodian, url, f"empty-{i}", region="us-west-2")[0] for i in range(3)
        )
    finally:
        proc.terminate()
        proc.wait(10)
    marginal = [(c - fixed) * 1000 / n for _, c in rounds]
    times = [p * 1000 / n / m for (p, _), m in zip(rounds, marginal, strict=True)]
    below = sum(r < 1 for r in ratios)
    print(
        f"  median: portal {statistics.median(p for p, _ in rounds) * 1000 / n:.2f} ms, "
        f"custodian {statistics.median(c for _, c in rounds) * 1000 / n:.2f} ms per function; "
        f"the portal evaluates {checks / 10:.1f}x the checks at {statistics.median(ratios):.2f}x "
        f"the CPU (median ratio; below Custodian in {below} of {len(ratios)} rounds)"
    )
    print(
        f"  Custodian's fixed cost per run (no functions): {fixed:.2f} s CPU; beyond it, "
        f"{statistics.median(marginal):.2f} ms per function: the portal's "
        f"{statistics.median(p for p, _ in rounds) * 1000 / n:.2f} ms is "
        f"{statistics.median(times):.2f}x that"
    )


if __name__ == "__main__":
    main()
