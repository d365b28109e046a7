import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeCommand, resolveServerCommand, startFailureAdvice } from "../../src/serverCommand";
import { StderrSorter, failureLine } from "../../src/serverLog";

describe("choosing the server command", () => {
  const none = (): boolean => false;

  it("uses the setting when it is set", () => {
    const command = resolveServerCommand(["/opt/venv/bin/oompa-lsp", "--tcp"], "/ws", () => true);
    assert.deepEqual(command, { command: "/opt/venv/bin/oompa-lsp", args: ["--tcp"], source: "setting" });
  });

  it("splits a setting given as one string", () => {
    assert.deepEqual(resolveServerCommand("python3.12  -m oompa_lsp", "/ws", none).args, ["-m", "oompa_lsp"]);
  });

  it("prefers the workspace's .venv when it has oompa-lsp", () => {
    const command = resolveServerCommand([], "/ws", (file) => file === "/ws/.venv/bin/oompa-lsp");
    assert.deepEqual(command, { command: "/ws/.venv/bin/oompa-lsp", args: [], source: "workspace .venv" });
  });

  it("falls back to python3 -m oompa_lsp", () => {
    assert.deepEqual(resolveServerCommand(undefined, "/ws", none), { command: "python3", args: ["-m", "oompa_lsp"], source: "default" });
    assert.deepEqual(resolveServerCommand([""], undefined, none).source, "default");
    assert.deepEqual(resolveServerCommand(42, "/ws", none).source, "default");
  });

  it("says how to fix a failed start according to where the command came from", () => {
    assert.match(startFailureAdvice(resolveServerCommand(["x"], "/ws", none)), /oompa\.server\.command/);
    assert.match(startFailureAdvice(resolveServerCommand([], "/ws", none)), /pip install oompa-lsp/);
    assert.equal(describeCommand({ command: "/a b/oompa-lsp", args: ["-v"], source: "setting" }), '"/a b/oompa-lsp" -v');
  });
});

describe("sorting the server's stderr", () => {
  it("keeps each logging record at its own level, continuation lines included", () => {
    const sorter = new StderrSorter();
    const lines = [
      ...sorter.push("INFO:pygls.protocol:Sending data\nWARNING:oompa_lsp.lsp:merge pa"),
      ...sorter.push("used\nERROR:oompa_lsp.engine:boom\nTraceback (most recent call last):\n  File \"x.py\"\n"),
    ];
    assert.deepEqual(lines.map((l) => l.level), ["info", "warn", "error", "error", "error"]);
    assert.equal(lines[1]?.text, "WARNING:oompa_lsp.lsp:merge paused");
  });

  it("keeps the last lines and picks the telling one for an error message", () => {
    const sorter = new StderrSorter(3);
    sorter.push("a\nb\n/usr/bin/python3: No module named oompa_lsp\nc\n");
    assert.deepEqual(sorter.lastLines(), ["b", "/usr/bin/python3: No module named oompa_lsp", "c"]);
    assert.equal(failureLine(sorter.lastLines()), "/usr/bin/python3: No module named oompa_lsp");
    assert.deepEqual(sorter.flush(), []);
    sorter.push("no newline at the end");
    assert.equal(sorter.flush()[0]?.text, "no newline at the end");
  });
});
