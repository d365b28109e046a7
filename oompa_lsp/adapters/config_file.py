"""Loading `oompa.json` from disk, and reading the prompt files it names.

Prompt paths resolve relative to the repository first, then to the bundled `prompts/`; a
path of the original oompa's own install (`config/prompts/executor.md`) that is in neither
falls back to our bundled prompt of that base name, with a warning. Every prompt file is read
here, its include directives expanded (core.prompt_text), and checked for what the engine
cannot fill, so `oompa check` and a swarm's start both fail before any agent runs.
Everything here raises `ConfigError` with the file, the place and what to do.

May import: oompa_lsp.core. Must not import: engine, lsp, cli.
"""

from __future__ import annotations

from pathlib import Path

from msgspec import Struct

from ..core.config import Config, ConfigWarning, ReviewerModel, WorkerConfig, infer_role, prompt_paths, worker_reviewers
from ..core.config_checks import decode_config_with_warnings
from ..core.errors import ConfigError
from ..core.prompt_text import PromptProblem, SourceLine, expand_includes, template_problems

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
    worker_prompts: list[list[str]]  # per workers[] entry: absolute prompt file paths
    worker_reviewers: list[list[LoadedReviewer]]  # per workers[] entry: its reviewers, tried in order
    planner_prompts: list[str] = []  # the top-level planner's, when there is one
    warnings: list[ConfigWarning] = []
    resolver_prompts: list[str] = []  # the bundled resolver's
    templates: dict[str, str] = {}  # prompt file -> its text, include directives expanded
    prompt_errors: list[ConfigError] = []  # placeholders no turn can fill (file:line each)

    def template(self, paths: list[str]) -> str:
        """The prompt files of one role joined with a blank line, as the engine fills them."""
        return "\n\n".join(self.templates[p] for p in paths)

    @property
    def reviewers(self) -> list[LoadedReviewer]:
        """Every distinct reviewer of the run (for checks and views)."""
        out: list[LoadedReviewer] = []
        for reviewers in self.worker_reviewers:
            out += [r for r in reviewers if r not in out]
        return out


def load_config(repo_root: Path, strict: bool = True) -> LoadedConfig:
    """The checked config and its prompt files; `strict`: raise the first prompt error (a
    swarm must not start with one), else leave them all in `prompt_errors` (`oompa check`)."""
    loaded = _load(repo_root)
    if strict and loaded.prompt_errors:
        raise loaded.prompt_errors[0]
    return loaded


def _load(repo_root: Path) -> LoadedConfig:
    path = repo_root / CONFIG_NAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            str(path), "", "no oompa.json here", "create one with `oompa init` (see docs/config.md)"
        ) from None
    config, warnings = decode_config_with_warnings(data, str(path))
    source = str(path)
    found = _Resolver(repo_root, source, warnings)
    workers = [_worker_prompts(w, i, found) for i, w in enumerate(config.workers)]
    reviewers = [[_reviewer(r, found) for r in worker_reviewers(config, w)] for w in config.workers]
    planner = config.planner
    planner_prompts = found.files(_names(planner.prompt) or ["planner.md"], ["planner", "prompt"]) if planner else []
    resolver_prompts = [str(bundled_prompts_dir() / "resolver.md")]
    uses: list[tuple[list[str], str]] = [
        (paths, infer_role(w)) for paths, w in zip(workers, config.workers, strict=True)
    ]
    uses += [(r.prompts, "reviewer") for rs in reviewers for r in rs]
    uses += [(planner_prompts, "planner"), (resolver_prompts, "resolver")]
    templates, errors = _read_templates(uses, repo_root, warnings)
    return LoadedConfig(
        config, source, workers, reviewers, planner_prompts, warnings, resolver_prompts, templates, errors
    )


def _names(prompt: str | list[str] | None) -> list[str]:
    if prompt is None:
        return []
    return [prompt] if isinstance(prompt, str) else list(prompt)


def _reviewer(reviewer: ReviewerModel, found: _Resolver) -> LoadedReviewer:
    names = _names(reviewer.prompt) or ["reviewer.md"]
    return LoadedReviewer(reviewer.model, found.files(names, ["reviewer", "prompt"]))


def _worker_prompts(worker: WorkerConfig, index: int, found: _Resolver) -> list[str]:
    names = prompt_paths(worker) or [f"{infer_role(worker)}.md"]
    return found.files(names, ["workers", index, "prompt"])


# The bundled prompts a path of the original's own install may stand for.
_BUNDLED_STAND_INS = ("executor.md", "planner.md", "reviewer.md", "worker.md")


class _Resolver:
    """Finds the prompt files a config names, noting the stand-ins it had to use."""

    def __init__(self, root: Path, source: str, warnings: list[ConfigWarning]) -> None:
        self.root, self.source, self.warnings = root, source, warnings

    def files(self, names: list[str], key: list[str | int]) -> list[str]:
        return [self.one(name, key) for name in names]

    def one(self, name: str, key: list[str | int]) -> str:
        dotted = ".".join(str(k) for k in key)
        for base in (self.root, bundled_prompts_dir()):
            candidate = (base / name).resolve()
            if candidate.is_file():
                return str(candidate)
        stand_in = bundled_prompts_dir() / Path(name).name
        if Path(name).name in _BUNDLED_STAND_INS:
            self.warnings.append(
                ConfigWarning(
                    dotted,
                    f"prompt file {name!r} is not in the repository (a file of "
                    f"the original oompa's install?): using the bundled {stand_in.name}",
                )
            )
            return str(stand_in)
        raise ConfigError(
            self.source,
            dotted,
            f"prompt file {name!r} not found in the repository or the bundled prompts",
            "fix the path (relative to the repository root) or remove the key to use the default",
        )


def _read_templates(
    uses: list[tuple[list[str], str]], root: Path, warnings: list[ConfigWarning]
) -> tuple[dict[str, str], list[ConfigError]]:
    """Each prompt file expanded once, and what it holds that its roles cannot fill (a file
    used by several roles is checked for each; a problem it has in all of them is said once)."""
    expanded: dict[str, list[SourceLine]] = {}
    problems: dict[tuple[str, int, str], PromptProblem] = {}
    for paths, role in uses:
        for path in paths:
            if path not in expanded:
                expanded[path] = expand_includes(path, _read_prompt, lambda name, at: _locate(name, at, root))
            problems.update(((p.path, p.line, p.message), p) for p in template_problems(expanded[path], role))
    errors = [
        ConfigError(p.path, str(p.line), p.message, 'see docs/config.md, "Prompts"')
        for p in problems.values()
        if p.fatal
    ]
    warnings += [ConfigWarning(f"{p.path}:{p.line}", p.message) for p in problems.values() if not p.fatal]
    return {path: "\n".join(line.text for line in lines) for path, lines in expanded.items()}, errors


def _read_prompt(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "", f"cannot read this prompt file: {exc}", "it must be a UTF-8 text file") from None


def _locate(name: str, including: str, root: Path) -> str | None:
    """An included file: relative to the repository, then to the including file, then bundled."""
    for base in (root, Path(including).parent, bundled_prompts_dir()):
        candidate = (base / name).resolve()
        if candidate.is_file():
            return str(candidate)
    return None
