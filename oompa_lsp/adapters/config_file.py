"""Loading `oompa.json` from disk and resolving the prompt files it names.

Prompt paths resolve relative to the repository first, then to the bundled `prompts/`.
Everything here raises `ConfigError` with the file, the place and what to do.

May import: oompa_lsp.core. Must not import: engine, lsp, cli.
"""

from __future__ import annotations

from pathlib import Path

from msgspec import Struct

from ..core.config import Config, WorkerConfig, decode_config, infer_role, prompt_paths, reviewer_models
from ..core.errors import ConfigError

CONFIG_NAME = "oompa.json"


def bundled_prompts_dir() -> Path:
    """`prompts/` of the source tree (editable install) or of the installed wheel."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_prompts", package.parent / "prompts"):
        if candidate.is_dir():
            return candidate
    raise ConfigError(str(package), "", "the bundled prompts are missing", "reinstall oompa-lsp")


class LoadedConfig(Struct):
    config: Config
    path: str
    worker_prompts: list[list[str]]  # per workers[] entry: absolute prompt file paths
    reviewer_prompts: list[str]      # per reviewer in order


def load_config(repo_root: Path) -> LoadedConfig:
    path = repo_root / CONFIG_NAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(str(path), "", "no oompa.json here",
                          "create one (see docs/config.md) or run `oompa demo` for an example") from None
    config = decode_config(data, str(path))
    text = data.decode("utf-8", errors="replace")
    workers = [_worker_prompts(w, i, repo_root, str(path), text) for i, w in enumerate(config.workers)]
    reviewers = [_resolve(r.prompt or "reviewer.md", repo_root, str(path), ["review_model"])
                 for r in reviewer_models(config)]
    if not reviewers:
        reviewers = [str(bundled_prompts_dir() / "reviewer.md")]
    return LoadedConfig(config, str(path), workers, reviewers)


def _worker_prompts(worker: WorkerConfig, index: int, root: Path, source: str, text: str) -> list[str]:
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
