"""`oompa check` with the real CLIs: each found with its version, and a warning for a release
the adapters were not verified with."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine.swarm_fixtures import make_project
from oompa_lsp.adapters.harnesses import probe_harness
from oompa_lsp.adapters.harnesses.verified import VERIFIED_CLIS
from oompa_lsp.core.config import HarnessConfig

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("name", list(VERIFIED_CLIS))
async def test_the_pinned_cli_reports_the_verified_version(request, name):
    cli = request.getfixturevalue(f"{name}_cli")
    probe = await probe_harness(name, HarnessConfig(command=[str(cli.binary)]))
    assert probe.found and probe.path == str(cli.binary)
    assert VERIFIED_CLIS[name].version in probe.version
    assert probe.warning is None


def test_oompa_check_names_each_cli_and_warns_about_an_unverified_release(tmp_path, claude_cli):
    project = make_project(tmp_path)
    older = tmp_path / "codex"
    older.write_text("#!/bin/sh\necho 'codex-cli 0.150.2'\n", encoding="utf-8")
    older.chmod(0o755)
    config = {"workers": [{"model": "claude:scripted", "count": 1}], "review_model": "codex:scripted",
              "harnesses": {"claude": {"command": [str(claude_cli.binary)]}, "codex": {"command": [str(older)]}}}
    (project.root / "oompa.json").write_text(json.dumps(config), encoding="utf-8")

    ran = subprocess.run([sys.executable, "-m", "oompa_lsp.cli", "-C", str(project.root), "check"],
                         capture_output=True, text=True, timeout=60)

    lines = ran.stdout.splitlines()
    claude_line = next(line for line in lines if "harness claude" in line)
    codex_line = next(line for line in lines if "harness codex" in line)
    assert f"{claude_cli.binary} {claude_cli.version}" in claude_line and "verified" not in claude_line
    assert "codex-cli 0.150.2" in codex_line
    assert f"version 0.150.2, but the codex adapter was verified with {VERIFIED_CLIS['codex'].version}" in codex_line
    assert ran.returncode == 0, ran.stdout + ran.stderr   # a warning, not a problem: the swarm could run
