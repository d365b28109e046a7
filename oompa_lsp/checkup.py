"""`oompa check` and `oompa cleanup`: what the swarm needs, and what it may safely remove.

A view: reads config, repository and harness facts and prints them; `oompa check
--show-prompt ROLE` prints the prompt a role would get, built by the engine's pure prompt
functions from a sample task, without starting any agent. May import: core, adapters,
console, engine.prompting. Must not import: other engine internals, lsp.
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio

from . import console
from .adapters.config_file import LoadedConfig, load_config
from .adapters.git import Repo, Worktree, default_worktree_root
from .adapters.harnesses import probe_harness
from .adapters.run_log import SwarmLock
from .adapters.task_store import TaskStore
from .core.config import Config, infer_role, parse_model_ref, reviewer_models
from .core.errors import ConfigError, RepositoryError
from .core.events import CheckResult
from .core.tasks import Task
from .engine import prompting

PROMPT_ROLES = ("worker", "executor", "planner", "reviewer", "resolver")


def run_checkup(path: Path) -> int:
    problems = 0
    try:
        repo = Repo.discover(path)
        _ok(f"repository {repo.root} (branch {repo.current_branch() or 'detached HEAD'})")
    except RepositoryError as exc:
        _bad(str(exc))
        return 1
    try:
        loaded = load_config(Path(repo.root), strict=False)
        config = loaded.config
        _ok(f"oompa.json: {sum(w.count for w in config.workers)} workers, review {config.review.mode}")
    except ConfigError as exc:
        _bad(str(exc))
        return 1
    problems += _report_config_findings(loaded)
    problems += _check_target(repo, config)
    problems += anyio.run(_check_harnesses, config)
    holder = SwarmLock(Path(repo.root) / ".oompa").holder()
    if holder is not None:
        print(f"  note  a swarm is running here: {holder.describe() if hasattr(holder, 'describe') else holder}")
    print("ready to run" if not problems else f"{problems} problem(s): the swarm could not run")
    return 0 if not problems else 1


def _report_config_findings(loaded: LoadedConfig) -> int:
    """Config warnings, and each prompt placeholder no turn could fill (file:line), as problems."""
    for warning in loaded.warnings:
        print(f"  warn  {warning}")
    for error in loaded.prompt_errors:
        _bad(str(error))
    if not loaded.prompt_errors:
        _ok(f"prompts: {len(loaded.templates)} file(s), every placeholder filled")
    return len(loaded.prompt_errors)


def _check_target(repo: Repo, config: Config) -> int:
    target = config.target_branch or repo.current_branch()
    if not target:
        _bad('no target branch: check out a branch or set "target_branch"')
        return 1
    if not repo.branch_exists(target):
        _bad(f"target branch {target!r} does not exist")
        return 1
    _ok(f"target branch {target}")
    return 0


async def _check_harnesses(config: Config) -> int:
    names = {parse_model_ref(w.model).harness for w in config.workers}
    names |= {parse_model_ref(r.model).harness for r in reviewer_models(config)}
    problems = 0
    for name in sorted(names):
        probe = await probe_harness(name, config.harnesses.get(name))
        if probe.found:
            note = f"  ({probe.warning})" if getattr(probe, "warning", None) else ""
            _ok(f"harness {name}: {probe.path} {probe.version or ''}{note}".rstrip())
        else:
            _bad(f"harness {name}: {probe.error}")
            problems += 1
    return problems


def _ok(text: str) -> None:
    print(f"  ok    {text}")


def _bad(text: str) -> None:
    print(f"  FAIL  {text}")


def run_cleanup(path: Path) -> int:
    repo = Repo.discover(path)
    root = Path(repo.root)
    holder = SwarmLock(root / ".oompa").holder()
    if holder is not None:
        print(f"a swarm is running in this repository (pid {holder.pid}); stop it first (`oompa stop`)")
        return 1
    config = load_config(root).config
    target = config.target_branch or repo.current_branch() or "HEAD"
    removable, kept = _classify_worktrees(repo, config, target)
    report = repo.remove_worktrees(removable)
    repo.prune_worktrees()
    branches = [b for b, c in repo.list_branches("oompa/").items() if repo.delete_branch_if_merged(b, target)]
    for worktree in report.removed:
        print(f"removed worktree {worktree}")
    for branch in branches:
        print(f"deleted merged branch {branch}")
    for worktree, why in [*kept, *report.skipped]:
        print(f"kept {worktree}: {why}")
    parked = repo.list_parked()
    if parked:
        print(f"{len(parked)} parked ref(s) kept under refs/oompa/parked/ (drop one with `git update-ref -d <ref>`)")
    print(f"freed {console.human_bytes(report.bytes_freed)}")
    return 0


def _classify_worktrees(repo: Repo, config: Config, target: str) -> tuple[list[Path], list[tuple[Path, str]]]:
    root = _worktree_root(Path(repo.root), config)
    removable, kept = [], []
    for worktree in repo.list_worktrees():
        if worktree.is_main or root not in Path(worktree.path).parents:
            continue
        if repo.has_changes(worktree.path):
            kept.append((worktree.path, "has uncommitted changes"))
        elif worktree.head and not _scratch_check(worktree, repo, target) and not repo.is_merged(worktree.head, target):
            kept.append((worktree.path, f"holds work not merged into {target}"))
        else:
            removable.append(worktree.path)
    return removable, kept


def _scratch_check(worktree: Worktree, repo: Repo, target: str) -> bool:
    """A merge train's check worktree (detached, `check-<n>`) whose head is only the queue's
    merges of work that branches and parked refs still hold: nothing is lost with it."""
    named = Path(worktree.path).name.startswith("check-")
    return named and worktree.branch is None and repo.only_merges_beyond(worktree.head or "HEAD", target)


# -- oompa check --show-prompt ----------------------------------------------------------------


def show_prompt(path: Path, role: str, entry: int | None = None) -> int:
    """Print the prompt `role` would get (from workers[entry], or the first entry of that role)."""
    repo = Repo.discover(path)
    root = Path(repo.root)
    loaded = load_config(root, strict=False)
    for error in loaded.prompt_errors:
        print(f"oompa: {error}", file=sys.stderr)
    templates = _role_templates(loaded, role, entry)
    facts = _sample_facts(repo, loaded, role)
    for number, template in enumerate(templates, 1):
        if len(templates) > 1:
            print(f"===== reviewer {number} of {len(templates)} =====")
        print(prompting.build_prompt(template, facts), end="")
    return 1 if loaded.prompt_errors else 0


def _role_templates(loaded: LoadedConfig, role: str, entry: int | None) -> list[str]:
    """The templates of the role (each reviewer's, for reviewers), as the engine would join them."""
    if role == "resolver":
        return [loaded.template(loaded.resolver_prompts)]
    if role == "planner" and entry is None and loaded.planner_prompts:
        return [loaded.template(loaded.planner_prompts)]
    index = _entry_for(loaded, role, entry)
    if role == "reviewer":
        reviewers = loaded.worker_reviewers[index]
        if not reviewers:
            raise ConfigError(loaded.path, f"workers.{index}", "this worker has no reviewer: nothing reviews its work")
        return [loaded.template(r.prompts) for r in reviewers]
    return [loaded.template(loaded.worker_prompts[index])]


def _entry_for(loaded: LoadedConfig, role: str, entry: int | None) -> int:
    workers = loaded.config.workers
    if entry is not None:
        if not 0 <= entry < len(workers):
            raise ConfigError(loaded.path, "workers", f"there is no workers[{entry}] (entries 0 to {len(workers) - 1})")
        return entry
    if role == "reviewer":
        return next((i for i, reviewers in enumerate(loaded.worker_reviewers) if reviewers), 0)
    matching = [i for i, worker in enumerate(workers) if infer_role(worker) == role]
    if not matching:
        roles = ", ".join(sorted({infer_role(w) for w in workers}))
        raise ConfigError(
            loaded.path,
            "workers",
            f"no workers[] entry is a {role} (there are: {roles})",
            "pick one with --worker N to see its prompt as that role",
        )
    return matching[0]


def _sample_facts(repo: Repo, loaded: LoadedConfig, role: str) -> prompting.PromptFacts:
    """A turn as the swarm would start it now: the first pending task, or an example one."""
    config, root = loaded.config, Path(repo.root)
    tasks_dir = root / config.tasks_dir
    tasks = TaskStore(tasks_dir).scan().tasks if tasks_dir.is_dir() else {}
    task = None if role == "planner" else (tasks.get("pending") or [_example_task()])[0]
    worktree = _worktree_root(root, config) / "w1"
    checks = [CheckResult(argv=argv, exit_code=0) for argv in config.merge.checks] if role == "reviewer" else None
    return prompting.PromptFacts(
        role=role,
        tasks_dir=str(tasks_dir),
        worktree=str(worktree),
        target=config.target_branch or repo.current_branch() or "main",
        spec_path=str(root / config.spec),
        task=task,
        tasks=tasks,
        checks=checks,
        diff=_SAMPLE_DIFF if role == "reviewer" else "",
        conflict_files=("(the files git reports as conflicted)",),
    )


def _example_task() -> Task:
    return Task(
        id="example-task",
        summary="(an example task: the first pending task is shown when there is one)",
        description="What the task asks, as its file's `description` says.",
        acceptance=["each acceptance criterion of the task file"],
        files=["path/it/names.py"],
    )


_SAMPLE_DIFF = """diff --git a/path/it/names.py b/path/it/names.py
--- a/path/it/names.py
+++ b/path/it/names.py
@@ -1 +1 @@
-(the full diff of the change from its merge base goes here)
+(every line the worker changed, as `git diff` shows it)"""


def _worktree_root(root: Path, config: Config) -> Path:
    folder = Path(config.worktree.dir).expanduser() if config.worktree.dir else default_worktree_root(root)
    return folder if folder.is_absolute() else root / folder
