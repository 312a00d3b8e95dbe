"""Import time: what ``import carekit`` adds on top of its four dependencies.

Each case runs in a fresh interpreter (best of 9 runs, after one that writes
the bytecode caches, as an installed package has them): the dependencies are
imported first and timed as the peer, then carekit: ``import carekit``, and
the subpackages a host adds (campaigns, KPIs, the SQLite store). Target:
``import carekit`` adds at most 30 ms.

Usage: ``python benchmarks/import_time.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys

from _table import table

DEPS = "import attrs, transitions, pendulum, babel"
CASES = {
    "import carekit": "import carekit",
    "+ campaigns, kpis, sqlite": (
        "import carekit, carekit.campaigns, carekit.kpis, carekit.stores.sqlite"
    ),
}
PROBE = """
import time
t0 = time.perf_counter()
{deps}
t1 = time.perf_counter()
{case}
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(case: str, runs: int = 9) -> tuple[float, float]:
    best_deps = best_case = float("inf")
    for run in range(runs + 1):
        out = subprocess.run(
            [sys.executable, "-c", PROBE.format(deps=DEPS, case=case)],
            capture_output=True,
            text=True,
            check=True,
            env=ENV,
        ).stdout.split()
        if run == 0:
            continue  # this run wrote the bytecode caches
        best_deps = min(best_deps, float(out[0]))
        best_case = min(best_case, float(out[1]))
    return best_deps * 1000, best_case * 1000


def main() -> None:
    rows = []
    for name, case in CASES.items():
        deps, added = measure(case)
        rows.append([name, f"{deps:.1f}", f"{added:.1f}", f"{added / deps:.2f}"])
    print(
        table(
            ["carekit", "dependencies ms", "carekit adds ms", "added / dependencies"],
            rows,
        )
    )
    print("\n(target: 'import carekit' adds at most 30 ms on top of its dependencies)")


if __name__ == "__main__":
    main()
