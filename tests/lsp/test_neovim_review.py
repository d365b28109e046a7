"""Reviewing in Neovim: the model reviewer's findings arrive as diagnostics on the buffer of a
review's diff (its `oompa-git:` URI), and `oompa.reject` sent from Lua with located comments
reaches the worker's next turn. The README's Neovim section shows the same calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from lsp_helpers import agent_config, make_repo
from test_neovim import NVIM

pytestmark = pytest.mark.slow

SCRIPT = r"""
local root, out = os.getenv("OOMPA_ROOT"), os.getenv("OOMPA_OUT")
local got = {}
vim.cmd.edit(root .. "/spec.md")
local client_id = vim.lsp.start({
  name = "oompa",
  cmd = vim.json.decode(os.getenv("OOMPA_CMD")),
  root_dir = root,
  handlers = {
    ["oompa/reviewResolved"] = function(_, result) if result.approved then got.resolved = result end end,
  },
})
local client = vim.lsp.get_client_by_id(client_id)
client:request_sync("workspace/executeCommand", {command = "oompa.startSwarm", arguments = {}}, 30000)
got.waited_review = vim.wait(60000, function() return got.resolved ~= nil end, 50)
local review_id = got.resolved.review_id

-- the review's files as buffers named by their oompa-git: URIs, filled from oompa/fileContent
local diff = client:request_sync("oompa/diff", {review_id = review_id}, 30000).result
local head_uri = diff.files[1].head_uri
local buf = vim.uri_to_bufnr(head_uri)
local content = client:request_sync("oompa/fileContent", {uri = head_uri}, 30000).result.content
vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(content, "\n", {trimempty = true}))
got.waited_diagnostics = vim.wait(30000, function() return #vim.diagnostic.get(buf) > 0 end, 50)
got.diagnostics = {}
for _, d in ipairs(vim.diagnostic.get(buf)) do
  table.insert(got.diagnostics, {lnum = d.lnum, severity = d.severity, message = d.message, source = d.source})
end

local bad = client:request_sync("workspace/executeCommand", {command = "oompa.reject", arguments = {
  review_id, "", {{path = "nope.txt", side = "head", startLine = 1, endLine = 1, body = "x"}},
}}, 30000)
got.bad = bad.err and bad.err.message
-- request changes with a located comment, as the README shows
local answer = client:request_sync("workspace/executeCommand", {command = "oompa.reject", arguments = {
  review_id, "See the comment.",
  {{path = diff.files[1].path, side = "head", startLine = 1, endLine = 1, body = "Say it louder."}},
}}, 30000)
got.reject = answer.result
got.waited_fix = vim.wait(60000, function()
  local log = io.open(os.getenv("OOMPA_AGENT_LOG"))
  if not log then return false end
  local text = log:read("*a")
  log:close()
  return select(2, text:gsub('"role": "worker"', "")) >= 2
end, 100)
client:request_sync("workspace/executeCommand", {command = "oompa.stopSwarm", arguments = {}}, 30000)
local file = io.open(out, "w")
file:write(vim.json.encode(got))
file:close()
vim.cmd("qa!")
"""

REVIEW = "VERDICT: APPROVED\n1. hello.txt:1 shout it\n2. The changelog is missing\n"


def test_neovim_sees_findings_on_the_diff_buffer_and_sends_located_comments(tmp_path, marker):
    assert NVIM, "nvim is missing: install the test extra"
    write = {"write": {"hello.txt": "hello\n"}, "final": "Done.\nCOMPLETE_AND_READY_FOR_MERGE"}
    script = {"roles": {"reviewer": {"*": [{"final": REVIEW}]}, "*": {"hi": [write], "*": [{"final": "__DONE__"}]}}}
    repo = make_repo(tmp_path / "repo", spec="# Hi\n- [ ] Say hello {#hi}\n", tasks={"hi": {"summary": "Say hello"}},
                     config=agent_config(marker, tmp_path, script, review_mode="model+human"))
    lua, out, home = tmp_path / "test.lua", tmp_path / "out.json", tmp_path / "home"
    lua.write_text(SCRIPT)
    agent_log = tmp_path / "script.json.log.jsonl"
    env = {**os.environ, "OOMPA_ROOT": str(repo), "OOMPA_OUT": str(out), "OOMPA_AGENT_LOG": str(agent_log),
           "OOMPA_CMD": json.dumps([sys.executable, "-m", "oompa_lsp"]),
           **{f"XDG_{kind}_HOME": str(home / kind.lower()) for kind in ("CONFIG", "DATA", "STATE", "CACHE")}}
    subprocess.run([NVIM, "--headless", "--clean", "-u", "NONE", "-c", f"luafile {lua}"],
                   env=env, cwd=repo, timeout=180, check=True, capture_output=True, stdin=subprocess.DEVNULL)
    got = json.loads(out.read_text())
    assert got["waited_review"] and got["waited_diagnostics"] and got["waited_fix"], got
    assert got["diagnostics"] == [{"lnum": 0, "severity": 3, "message": "finding 1: hello.txt:1 shout it",
                                   "source": "oompa reviewer"}]
    assert got["reject"]["message"].endswith("with 1 line comment(s)")
    assert got["bad"] == "'nope.txt' is not a file this review changes"
    calls = [json.loads(line) for line in agent_log.read_text().splitlines()]
    fix_prompt = [c for c in calls if c["role"] == "worker"][-1]["prompt"]
    assert "- `hello.txt` line 1 (your version):\n    | hello\n  Say it louder." in fix_prompt
