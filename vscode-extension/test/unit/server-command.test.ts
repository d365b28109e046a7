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
  it("keeps each logging record at its own level, across chunk boundaries", () => {
    const sorter = new StderrSorter();
    const lines = [
      ...sorter.push("INFO:pygls.protocol:Sending data\noompa-lsp WARNING oompa_lsp.lsp: merge pa"),
      ...sorter.push("used\n  (continued)\n"),
    ];
    assert.deepEqual(lines.map((l) => l.level), ["info", "warn", "warn"]);
    assert.equal(lines[1]?.text, "oompa-lsp WARNING oompa_lsp.lsp: merge paused");
  });

  it("folds a traceback: frames at trace level, the exception at the record's level", () => {
    const sorter = new StderrSorter();
    const lines = sorter.push(
      [
        'oompa-lsp ERROR pygls.protocol.json_rpc: Exception occurred for message "14"',
        "Traceback (most recent call last):",
        '  File "server.py", line 642, in requeue',
        "    return _done(ls, await _engine(...))",
        "           ^^^^^^^^^^",
        "During handling of the above exception, another exception occurred:",
        "Traceback (most recent call last):",
        '  File "server.py", line 682, in _engine',
        "oompa_lsp.lsp.server.RequestFailed: task greeting cannot be requeued",
        "",
      ].join("\n"),
    );
    assert.deepEqual(
      lines.filter((l) => l.level !== "trace").map((l) => [l.level, l.text]),
      [
        ["error", 'oompa-lsp ERROR pygls.protocol.json_rpc: Exception occurred for message "14"'],
        ["error", "oompa_lsp.lsp.server.RequestFailed: task greeting cannot be requeued"],
      ],
    );
    assert.equal(lines.length, 9);
  });

  it("treats a traceback with no record before it as an error", () => {
    const sorter = new StderrSorter();
    const lines = sorter.push('Traceback (most recent call last):\n  File "m.py"\nModuleNotFoundError: No module named \'pygls\'\n');
    assert.deepEqual(lines.map((l) => l.level), ["trace", "trace", "error"]);
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
