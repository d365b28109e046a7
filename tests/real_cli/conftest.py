"""Fixtures of the real-CLI tests: the pinned CLIs (installed from npm on first use) and a clean
environment in which nothing of the machine's own agent set-up can reach them.

A CLI fixture skips its tests, with the reason, when Node or npm is missing, or when
OOMPA_SKIP_REAL_CLIS is set; an npm failure is a test failure (CI has Node and the registry).
"""

from __future__ import annotations

import os

import pytest

from .clis import FOREIGN_VARIABLES
from .install_clis import CannotInstall, InstalledCli, cache_root, install, node_missing


@pytest.fixture
def anyio_backend():
    return "asyncio"


USED = pytest.StashKey[dict]()   # the CLIs this run installed or found, for the summary


def installed(config: pytest.Config, name: str) -> InstalledCli:
    if os.environ.get("OOMPA_SKIP_REAL_CLIS"):
        pytest.skip(f"real {name} CLI not run: OOMPA_SKIP_REAL_CLIS is set")
    problem = node_missing()
    if problem:
        pytest.skip(f"real {name} CLI not run: {problem}")
    try:
        cli = install(name)
    except CannotInstall as exc:
        pytest.fail(f"could not install the pinned {name} CLI: {exc}", pytrace=False)
    config.stash.setdefault(USED, {})[name] = cli
    return cli


@pytest.fixture(scope="session")
def claude_cli(pytestconfig) -> InstalledCli:
    return installed(pytestconfig, "claude")


@pytest.fixture(scope="session")
def codex_cli(pytestconfig) -> InstalledCli:
    return installed(pytestconfig, "codex")


@pytest.fixture(scope="session")
def gemini_cli(pytestconfig) -> InstalledCli:
    return installed(pytestconfig, "gemini")


@pytest.fixture(scope="session")
def opencode_cli(pytestconfig) -> InstalledCli:
    return installed(pytestconfig, "opencode")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    used = config.stash.get(USED, {})
    if used:
        names = ", ".join(f"{cli.name} {cli.version}" for cli in used.values())
        terminalreporter.write_line(f"real agent CLIs: {names} (npm, cached in {cache_root()})")


@pytest.fixture(autouse=True)
def clean_agent_environment(monkeypatch):
    for name in FOREIGN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
