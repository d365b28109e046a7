"""The workers a run's config asks for: one `WorkerSpec` each, the top-level planner first.

A pure translation of oompa.json (its `planner` and `workers` entries, each `count` times) and
the prompts and reviewers the config loader resolved for them. Workers are numbered w1, w2, ...
across entries; the planner is `PLANNER_ID`.

May import: core, adapters. Must not import: lsp, cli.
"""

from __future__ import annotations

from ..adapters.config_file import LoadedConfig
from ..core.config import infer_role, parse_model_ref, worker_iterations
from .worker import WorkerSpec

PLANNER_ID = "planner"  # the top-level planner's worker id (workers are w1, w2, ...)


def planner_spec(loaded: LoadedConfig) -> list[WorkerSpec]:
    planner = loaded.config.planner
    if planner is None:
        return []
    return [
        WorkerSpec(
            id=PLANNER_ID,
            role="planner",
            model=parse_model_ref(planner.model),
            iterations=1,
            prompts=loaded.planner_prompts,
            timeout_s=planner.timeout_s,
            max_working_resumes=0,
        )
    ]


def worker_specs(loaded: LoadedConfig) -> list[WorkerSpec]:
    specs, number = planner_spec(loaded), 0
    for index, entry in enumerate(loaded.config.workers):
        for _ in range(entry.count):
            number += 1
            specs.append(
                WorkerSpec(
                    id=f"w{number}",
                    role=infer_role(entry),
                    model=parse_model_ref(entry.model),
                    iterations=worker_iterations(entry),
                    prompts=loaded.worker_prompts[index],
                    timeout_s=entry.timeout_s,
                    max_working_resumes=entry.max_working_resumes,
                    max_runs=entry.max_resumes,
                    can_plan=entry.can_plan,
                    max_wait_for_tasks=entry.max_wait_for_tasks,
                    wait_between=entry.wait_between or 0.0,
                    reviewers=loaded.worker_reviewers[index],
                )
            )
    return specs
