"""`oompa/report`: any client gets a run's report from the language server, and the server
starts without loading the plotting library."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from lsp_helpers import start_client
from pygls.exceptions import JsonRpcException

from oompa_lsp.demo import make_demo_repo


@pytest.fixture(scope="module")
def demo_repo(tmp_path_factory) -> Path:
    repo = make_demo_repo(tmp_path_factory.mktemp("demo"))
    done = subprocess.run([sys.executable, "-m", "oompa_lsp.cli", "-C", str(repo), "swarm", "--quiet"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return repo


async def test_the_report_of_the_last_run_through_the_server(demo_repo, clients):
    client = await start_client(demo_repo)
    clients.append(client)
    result = await client.request("oompa/report", None)
    run_id = result["run_id"]
    assert (demo_repo / ".oompa" / "runs" / run_id).is_dir()
    assert Path(result["path"]).read_text(encoding="utf-8") == result["html"]
    assert re.findall(r'<g id="lane-([\w-]+?)">', result["html"]) == ["w1", "w2", "w3", "merge-queue"]
    assert len(re.findall(r'<g id="landing-', result["html"])) == 4
    by_prefix = await client.request("oompa/report", {"run_id": run_id[:15]})
    assert by_prefix["run_id"] == run_id

    with pytest.raises(JsonRpcException, match="no run match 'nope'"):
        await client.request("oompa/report", {"run_id": "nope"})


async def test_no_run_yet_is_said(tmp_path, clients):
    repo = make_demo_repo(tmp_path)
    client = await start_client(repo)
    clients.append(client)
    with pytest.raises(JsonRpcException, match="no swarm has run in this repository yet"):
        await client.request("oompa/report", {})


def test_the_server_starts_without_matplotlib():
    probe = ("import sys; from oompa_lsp.lsp.server import build_server; build_server(); "
             "print('matplotlib' in sys.modules, 'oompa_lsp.report' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["False", "False"]
