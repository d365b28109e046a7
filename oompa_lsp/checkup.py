"""`oompa check` and `oompa cleanup`: what the swarm needs, and what it may safely remove.

A view: reads config, repository and harness facts and prints them. May import: core,
adapters, console. Must not import: engine internals, lsp.
"""

from __future__ import annotations

from pathlib import Path

import anyio

from . import console
from .adapters.config_file import load_config
from .adapters.git import Repo, default_worktree_root
from .adapters.harnesses import probe_harness
from .adapters.run_log import SwarmLock
from .core.config import Config, parse_model_ref, reviewer_models
from .core.errors import ConfigError, RepositoryError


def run_checkup(path: Path) -> int:
    problems = 0
    try:
        repo = Repo.discover(path)
        _ok(f"repository {repo.root} (branch {repo.current_branch() or 'detached HEAD'})")
    except RepositoryError as exc:
        _bad(str(exc))
        return 1
    try:
        config = load_config(Path(repo.root)).config
        _ok(f"oompa.json: {sum(w.count for w in config.workers)} workers, review {config.review.mode}")
    except ConfigError as exc:
        _bad(str(exc))
        return 1
    problems += _check_target(repo, config)
    problems += anyio.run(_check_harnesses, config)
    holder = SwarmLock(Path(repo.root) / ".oompa").holder()
    if holder is not None:
        print(f"  note  a swarm is running here: {holder.describe() if hasattr(holder, 'describe') else holder}")
    print("ready to run" if not problems else f"{problems} problem(s): the swarm could not run")
    return 0 if not problems else 1


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
    root = Path(config.worktree.dir).expanduser() if config.worktree.dir else default_worktree_root(Path(repo.root))
    if not root.is_absolute():
        root = Path(repo.root) / root
    removable, kept = [], []
    for worktree in repo.list_worktrees():
        if worktree.is_main or root not in Path(worktree.path).parents:
            continue
        if repo.has_changes(worktree.path):
            kept.append((worktree.path, "has uncommitted changes"))
        elif worktree.head and not repo.is_merged(worktree.head, target):
            kept.append((worktree.path, f"holds work not merged into {target}"))
        else:
            removable.append(worktree.path)
    return removable, kept
