"""Loading `oompa.json` from disk and resolving the prompt files it names.

Prompt paths resolve relative to the repository first, then to the bundled `prompts/`.
Everything here raises `ConfigError` with the file, the place and what to do.

May import: oompa_lsp.core. Must not import: engine, lsp, cli.
"""

from __future__ import annotations

from pathlib import Path

from msgspec import Struct

from ..core.config import (Config, ConfigWarning, ReviewerModel, WorkerConfig, decode_config_with_warnings, infer_role,
                           prompt_paths, worker_reviewers)
from ..core.errors import ConfigError

CONFIG_NAME = "oompa.json"


def bundled_prompts_dir() -> Path:
    """`prompts/` of the source tree (editable install) or of the installed wheel."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_prompts", package.parent / "prompts"):
        if candidate.is_dir():
            return candidate
    raise ConfigError(str(package), "", "the bundled prompts are missing", "reinstall oompa-lsp")


class LoadedReviewer(Struct, frozen=True):
    model: str
    prompts: list[str]  # absolute prompt file paths, all of them used, in order


class LoadedConfig(Struct):
    config: Config
    path: str
    worker_prompts: list[list[str]]             # per workers[] entry: absolute prompt file paths
    worker_reviewers: list[list[LoadedReviewer]]  # per workers[] entry: its reviewers, tried in order
    planner_prompts: list[str] = []             # the top-level planner's, when there is one
    warnings: list[ConfigWarning] = []

    @property
    def reviewers(self) -> list[LoadedReviewer]:
        """Every distinct reviewer of the run (for checks and views)."""
        out: list[LoadedReviewer] = []
        for reviewers in self.worker_reviewers:
            out += [r for r in reviewers if r not in out]
        return out


def load_config(repo_root: Path) -> LoadedConfig:
    path = repo_root / CONFIG_NAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(str(path), "", "no oompa.json here",
                          "create one with `oompa init` (see docs/config.md)") from None
    config, warnings = decode_config_with_warnings(data, str(path))
    source = str(path)
    workers = [_worker_prompts(w, i, repo_root, source) for i, w in enumerate(config.workers)]
    reviewers = [[_reviewer(r, repo_root, source) for r in worker_reviewers(config, w)] for w in config.workers]
    planner = config.planner
    planner_prompts = _prompt_files(_names(planner.prompt) or ["planner.md"], repo_root, source, ["planner", "prompt"]) \
        if planner else []
    return LoadedConfig(config, source, workers, reviewers, planner_prompts, warnings)


def _names(prompt: str | list[str] | None) -> list[str]:
    if prompt is None:
        return []
    return [prompt] if isinstance(prompt, str) else list(prompt)


def _reviewer(reviewer: ReviewerModel, root: Path, source: str) -> LoadedReviewer:
    names = _names(reviewer.prompt) or ["reviewer.md"]
    return LoadedReviewer(reviewer.model, _prompt_files(names, root, source, ["reviewer", "prompt"]))


def _prompt_files(names: list[str], root: Path, source: str, key: list[str | int]) -> list[str]:
    return [_resolve(name, root, source, key) for name in names]


def _worker_prompts(worker: WorkerConfig, index: int, root: Path, source: str) -> list[str]:
    names = prompt_paths(worker) or [f"{infer_role(worker)}.md"]
    return [_resolve(name, root, source, ["workers", index, "prompt"]) for name in names]


def _resolve(name: str, root: Path, source: str, key: list[str | int]) -> str:
    for base in (root, bundled_prompts_dir()):
        candidate = (base / name).resolve()
        if candidate.is_file():
            return str(candidate)
    dotted = ".".join(str(k) for k in key)
    raise ConfigError(source, dotted, f"prompt file {name!r} not found in the repository or the bundled prompts",
                      "fix the path (relative to the repository root) or remove the key to use the default")
