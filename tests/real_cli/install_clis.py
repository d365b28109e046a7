"""Install the pinned agent CLIs from npm into a cache folder outside the repository.

    python tests/real_cli/install_clis.py [claude codex gemini opencode]

Each CLI gets its own folder `<cache>/<name>-<version>/` (so a test of claude never waits for
gemini's download), installed with `npm install --prefix` into a temporary folder that is
renamed into place only once the binary answers `--version` with the pinned release. A lock
file keeps two test runs from installing the same thing at once. The cache is
`$OOMPA_AGENT_CLI_CACHE`, else `${XDG_CACHE_HOME:-~/.cache}/oompa-agent-clis`.

The pins are `oompa_lsp.adapters.harnesses.verified.VERIFIED_CLIS`: the releases the adapters
were verified with, which `oompa check` compares against.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from oompa_lsp.adapters.harnesses.verified import VERIFIED_CLIS, version_in

NPM_TIMEOUT_S = 600


class CannotInstall(Exception):
    """Node or npm is missing, or npm failed: the reason says which."""


@dataclass(frozen=True)
class InstalledCli:
    name: str
    version: str
    binary: Path     # the executable to configure as the harness's `command`


def cache_root() -> Path:
    explicit = os.environ.get("OOMPA_AGENT_CLI_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "oompa-agent-clis"


def node_missing() -> str | None:
    """Why the CLIs cannot be installed here, or None."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    return f"{' and '.join(missing)} not found on PATH (the agent CLIs are npm packages)" if missing else None


def install(name: str) -> InstalledCli:
    """The pinned release of one CLI, installed now unless the cache already has it."""
    pin = VERIFIED_CLIS[name]
    problem = node_missing()
    if problem:
        raise CannotInstall(problem)
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    home = root / f"{name}-{pin.version}"
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _answers(home, name) != pin.version:
            _install_fresh(name, home)
    return InstalledCli(name, pin.version, _binary(home, name))


def _binary(home: Path, name: str) -> Path:
    return home / "node_modules" / ".bin" / VERIFIED_CLIS[name].binary


def _answers(home: Path, name: str) -> str | None:
    """The version the installed binary reports, None when it is missing or broken."""
    binary = _binary(home, name)
    if not binary.exists():
        return None
    try:
        ran = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return version_in(ran.stdout) if ran.returncode == 0 else None


def _install_fresh(name: str, home: Path) -> None:
    pin = VERIFIED_CLIS[name]
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=home.parent))
    try:
        argv = ["npm", "install", "--prefix", str(staging), "--no-audit", "--no-fund", "--no-save",
                "--loglevel", "error", f"{pin.package}@{pin.version}"]
        try:
            ran = subprocess.run(argv, capture_output=True, text=True, timeout=NPM_TIMEOUT_S,
                                 stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise CannotInstall(f"`{' '.join(argv)}` took more than {NPM_TIMEOUT_S}s") from exc
        if ran.returncode != 0:
            raise CannotInstall(f"`{' '.join(argv)}` failed ({ran.returncode}): {ran.stderr.strip()[-800:]}")
        found = _answers(staging, name)
        if found != pin.version:
            raise CannotInstall(f"{pin.package}@{pin.version} installed, but its binary reports {found!r}")
        shutil.rmtree(home, ignore_errors=True)
        staging.rename(home)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main(names: list[str]) -> int:
    code = 0
    for name in names or list(VERIFIED_CLIS):
        if name not in VERIFIED_CLIS:
            print(f"{name}: unknown (pinned: {', '.join(VERIFIED_CLIS)})", file=sys.stderr)
            code = 2
            continue
        try:
            cli = install(name)
        except CannotInstall as exc:
            print(f"{name}: cannot install: {exc}", file=sys.stderr)
            code = 1
            continue
        print(f"{cli.name} {cli.version} {cli.binary}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
