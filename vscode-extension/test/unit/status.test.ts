import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeSnapshot, decodeSwarmState } from "../../src/protocol";
import { renderStatus, statusBarFace } from "../../src/status";

const running = decodeSwarmState({
  state: "running",
  run_id: "run-7",
  summary: "3 workers · 4 pending · 2 running · 1 in review · 5 merged",
  usage: { input_tokens: 1, output_tokens: 1, cost_usd: 1.5 },
});

describe("the status-bar item", () => {
  it("shows the swarm's summary while it runs", () => {
    const face = statusBarFace("running", running);
    assert.equal(face.text, "$(sync~spin) Oompa: 3 workers · 4 pending · 2 running · 1 in review · 5 merged");
    assert.match(face.tooltip, /Spent: \$1\.50/);
    assert.equal(face.background, undefined);
  });

  it("warns when the merge queue is paused, with the reason", () => {
    const face = statusBarFace("running", { ...running, paused_reason: "main has local changes" });
    assert.match(face.text, /^\$\(debug-pause\)/);
    assert.match(face.tooltip, /Merge queue paused: main has local changes/);
    assert.equal(face.background, "statusBarItem.warningBackground");
  });

  it("says when this window only follows a swarm another process runs", () => {
    assert.match(statusBarFace("running", { ...running, viewer: true }).text, /\(viewer\)$/);
  });

  it("says why nothing runs: untrusted workspace, failed server", () => {
    assert.match(statusBarFace("restricted", running).tooltip, /not trusted/);
    const failed = statusBarFace("failed", running, "did not start: command not found (oompa-lsp)");
    assert.equal(failed.text, "$(error) Oompa");
    assert.match(failed.tooltip, /command not found/);
    assert.equal(failed.background, "statusBarItem.errorBackground");
  });

  it("shows the swarm's state word when it does not run", () => {
    assert.equal(statusBarFace("running", decodeSwarmState({ state: "stopped" })).text, "$(debug-stop) Oompa: stopped");
  });
});

describe("the status document", () => {
  it("lists workers, tasks by state, reviews, merges and invalid files", () => {
    const snapshot = decodeSnapshot({
      state: "running",
      run_id: "run-7",
      target: "main",
      started_at: 100,
      workers: { w1: { id: "w1", model: "fake:a", role: "executor", state: "working", task_id: "t1", since: 160 } },
      tasks: {
        t1: { id: "t1", state: "current", summary: "One", worker: "w1" },
        t2: { id: "t2", state: "complete", summary: "Two", commit: "0123456789abcdef" },
      },
      reviews: { r1: { review_id: "r1", task_id: "t1", worker: "w1", branch: "b", base: "a", head: "h", mode: "human" } },
      merges: [{ task_id: "t2", commit: "0123456789abcdef", at: 150 }],
      invalid: { "tasks/pending/x.json": ["bad id"] },
    });
    const text = renderStatus(snapshot, 220);
    assert.match(text, /^# Oompa swarm: running/);
    assert.match(text, /- Running for: 2m 00s/);
    assert.match(text, /\| w1 \| executor \| working \| t1 \| fake:a \| 1m 00s \|/);
    assert.match(text, /## In progress \(1\)\n\n- \*\*t1\*\* One \(w1\)/);
    assert.match(text, /## Merged \(1\)\n\n- \*\*t2\*\* Two \(01234567\)/);
    assert.match(text, /- r1: t1 by w1, round 1 \(human\)/);
    assert.match(text, /- t2 → 01234567/);
    assert.match(text, /- tasks\/pending\/x\.json: bad id/);
  });
});
