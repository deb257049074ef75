"""Calls per function by operation, full and incremental, for N emulated functions.

    .venv/bin/python bench/collection/calls_per_function.py --functions 100 2000

Counts come from the run's own provenance (every AWS answer is recorded), and are checked
against the requests the emulator itself received (its ``/_prr/stats`` counters, per service):
a call the provenance missed (or a retry) shows up as a difference. moto returns some
listings in one page where AWS pages (ListFunctions 50, DescribeLogGroups 50, DescribeAlarms
100, ListSecrets 100): the "AWS pages" line adds the pages AWS would need.
"""

import argparse
import json
import math
import time
import urllib.request
from collections import Counter

from _harness import call_counts, make_target, run_once, setup_django, shared_calls, start_emulator

AWS_PAGE = {  # operation -> (items per function in the seeded account, AWS page size)
    "lambda:ListFunctions": (1, 50),
    "logs:DescribeLogGroups": (1, 50),
    "monitoring:DescribeAlarms": (5, 100),
    "secretsmanager:ListSecrets": (1, 100),
    "iam:GetAccountAuthorizationDetails": (1, 1000),
}


def projected(counts, n):
    out = dict(counts)
    for op, (per_fn, size) in AWS_PAGE.items():
        out[op] = max(out.get(op, 0), math.ceil(per_fn * n / size))
    return out


def emulator_requests(url: str, *, reset: bool = False) -> Counter:
    """Requests the emulator received per service since its last reset."""
    if reset:
        urllib.request.urlopen(urllib.request.Request(f"{url}/_prr/reset", method="POST")).read()
        return Counter()
    stats = json.loads(urllib.request.urlopen(f"{url}/_prr/stats").read())
    return Counter({k.split(":")[0]: v for k, v in stats.items() if k.endswith(":requests") and v})


def cross_check(label: str, counts: dict, seen: Counter) -> None:
    recorded = Counter()
    for op, c in counts.items():
        recorded[op.split(":")[0]] += c
    diff = {svc: seen[svc] - recorded[svc] for svc in seen | recorded if seen[svc] != recorded[svc]}
    verdict = "same" if not diff else f"differs by service {diff}"
    print(
        f"  {label}: the emulator received {sum(seen.values())} requests, the provenance "
        f"records {sum(recorded.values())} calls: {verdict}"
    )


def report(label, counts, n, checks):
    total = sum(counts.values())
    shared = shared_calls(counts)
    print(
        f"  {label}: {total / n:.3f} calls/function, "
        f"Lambda shared bucket {shared / n:.3f}/function,"
        f" {checks * n / total:.1f} checks per call"
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--functions", type=int, nargs="+", default=[100, 2000])
    args = parser.parse_args()
    setup_django()
    from collection.checks import REGISTRY
    from collection.emulator import seed

    checks = len(REGISTRY)
    for n in args.functions:
        proc, url = start_emulator()
        try:
            t0 = time.time()
            seed(url, functions=n, prefix=f"bench{n}-", demo=False)
            print(f"N={n}: seeded in {time.time() - t0:.0f} s; {checks} checks per function")
            target = make_target(prefix=f"bench{n}-")
            emulator_requests(url, reset=True)
            full = run_once(target)
            full_seen = emulator_requests(url)
            assert full.functions_evaluated == n, (full.status, full.error_summary)
            counts = call_counts(full)
            for op, c in sorted(counts.items(), key=lambda kv: -kv[1]):
                print(f"    {op:48s} {c:6d}  {c / n:.3f}/function")
            report("full, measured", counts, n, checks)
            report("full, AWS pages", projected(counts, n), n, checks)
            cross_check("full, check", counts, full_seen)
            emulator_requests(url, reset=True)
            inc = run_once(target, mode="incremental")
            inc_counts = call_counts(inc)
            cross_check("incremental, check", inc_counts, emulator_requests(url))
            report("incremental (unchanged account), measured", inc_counts, n, checks)
            report("incremental, AWS pages", projected(inc_counts, n), n, checks)
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
