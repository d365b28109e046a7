"""`python -m bench [--quick] [--only NAME ...]`: the swarm's cost beyond its agents.

Runs the suite of issue 6 (points 2-5), prints one table and writes every raw figure, the
settings and the machine to `bench/results/<time>.json` (git-ignored). Each figure is a
median over several runs with its min–max; each comparison is a ratio taken run by run
against a baseline measured side by side in the same run. The agent and the reviewer are
`bench/instant_agent.sh`, so what is measured is the orchestration, not a model.

--quick is sized for CI (a minute or two on 2 cores); the default is what the README reports.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import conflicts, machine, merge_cost, next_cycle, overhead, scale, train
from .stats import Figure, table

RESULTS = Path(__file__).resolve().parent / "results"
SUITES = ("overhead", "merge", "cycle", "scale", "conflicts", "train")

FULL = {
    "overhead": {"tasks": 100, "workers": 8, "runs": 5},
    "merge": {"sizes": [1_000, 10_000, 50_000], "merges": 9},
    "cycle": {"size": 50_000, "rounds": 5},
    "scale": {"workers": 64, "tasks": 1_000, "runs": 3, "windows": 5, "window_s": 3.0},
    "conflicts": {"tasks": 8, "workers": 8, "runs": 3, "sleep_s": 1.0},
    "train": {"tasks": 16, "workers": 8, "check_s": 2.0, "runs": 3},
}
QUICK = {
    "overhead": {"tasks": 30, "workers": 8, "runs": 3},
    "merge": {"sizes": [1_000, 5_000], "merges": 6},
    "cycle": {"size": 2_000, "rounds": 3},
    "scale": {"workers": 16, "tasks": 100, "runs": 1, "windows": 3, "window_s": 1.0},
    "conflicts": {"tasks": 8, "workers": 8, "runs": 1, "sleep_s": 0.3},
    "train": {"tasks": 6, "workers": 3, "check_s": 0.5, "runs": 1},
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = QUICK if args.quick else FULL
    chosen = args.only or list(SUITES)
    workdir = Path(tempfile.mkdtemp(prefix="oompa-bench-", dir=args.workdir))
    info = machine.describe()
    print(f"machine: {machine.one_line(info)}", flush=True)
    figures: list[Figure] = []
    started = time.perf_counter()
    try:
        for name in chosen:
            figures += _run_suite(name, workdir, settings[name])
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.perf_counter() - started
    print()
    print(table(figures))
    path = _write_results(args, settings, chosen, info, figures, elapsed)
    print(f"\n{len(figures)} figures in {elapsed:.0f} s; raw values in {path}")
    missed = [f.name for f in figures if f.met is False]
    if missed:
        print("missed targets: " + "; ".join(missed))
    return 0


def _run_suite(name: str, workdir: Path, settings: dict) -> list[Figure]:
    def log(message: str) -> None:
        print(f"  {message}", flush=True)

    print(f"{name}: {settings}", flush=True)
    module = {"overhead": overhead, "merge": merge_cost, "cycle": next_cycle, "scale": scale,
              "conflicts": conflicts, "train": train}[name]
    return module.measure(workdir, log=log, **settings)


def _write_results(args, settings: dict, chosen: list[str], info: dict, figures: list[Figure],
                   elapsed: float) -> Path:
    results = Path(args.results) if args.results else RESULTS
    results.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = results / f"{stamp}{'-quick' if args.quick else ''}.json"
    document = {"mode": "quick" if args.quick else "full", "suites": chosen,
                "settings": {name: settings[name] for name in chosen}, "machine": info,
                "elapsed_s": elapsed, "figures": [f.to_json() for f in figures]}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI (a minute or two)")
    parser.add_argument("--only", nargs="+", choices=SUITES, help="run only these suites")
    parser.add_argument("--workdir", help="where the throwaway repositories go (default: the temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway repositories")
    parser.add_argument("--results", help="where the JSON file goes (default: bench/results/)")
    return parser


if __name__ == "__main__":
    sys.exit(main())
