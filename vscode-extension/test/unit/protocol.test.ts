import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import {
  ProtocolError,
  decodeCommandResult,
  decodeFileContent,
  decodeReport,
  decodeLog,
  decodeReviewDiff,
  decodeSnapshot,
  decodeSwarmState,
  decodeTask,
  decodeWorker,
} from "../../src/protocol";

const EXTENSION_DIR = path.resolve(__dirname, "../../..");
const REPO_PYTHON = path.resolve(EXTENSION_DIR, "../.venv/bin/python");

describe("decoding the server's payloads", () => {
  it("decodes the engine's own snapshot, as oompa/status sends it", (t) => {
    if (!fs.existsSync(REPO_PYTHON)) {
      t.skip("no .venv in the repository: the engine's snapshot cannot be produced");
      return;
    }
    const script = path.join(EXTENSION_DIR, "test/fixtures/engine_snapshot.py");
    const run = spawnSync(REPO_PYTHON, [script], { encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    const snapshot = decodeSnapshot(JSON.parse(run.stdout));
    assert.equal(snapshot.state, "running");
    assert.equal(snapshot.review_mode, "human");
    assert.equal(snapshot.workers.w1?.state, "working");
    assert.equal(snapshot.workers.w1?.usage.cost_usd, 0.05);
    // msgspec omits defaults: an untouched worker arrives without `state`
    assert.equal(snapshot.workers.w2?.state, "starting");
    assert.equal(snapshot.tasks.t1?.worker, "w1");
    assert.equal(snapshot.tasks.t3?.state, "failed");
    assert.equal(snapshot.tasks.t3?.reason, "attempts exhausted");
    assert.equal(snapshot.reviews.r1?.round, 1);
    assert.equal(snapshot.merges[0]?.task_id, "t2");
    assert.deepEqual(snapshot.invalid["tasks/pending/bad.json"], ["missing field `summary`"]);
  });

  it("fills defaults for fields the server omits", () => {
    const worker = decodeWorker({ id: "w1", model: "fake:x", role: "worker" });
    assert.equal(worker.state, "starting");
    assert.equal(worker.task_id, undefined);
    assert.ok(!("task_id" in worker), "an absent optional field stays absent");
    assert.deepEqual(worker.usage, { input_tokens: 0, output_tokens: 0 });
  });

  it("keeps the task file's uri sent with oompa/taskUpdated", () => {
    const task = decodeTask({ id: "t1", state: "current", summary: "S", worker: "w1", uri: "file:///r/tasks/current/t1.json" });
    assert.equal(task.uri, "file:///r/tasks/current/t1.json");
    assert.equal(task.worker, "w1");
  });

  it("ignores fields it does not know (a newer server)", () => {
    const state = decodeSwarmState({ state: "running", summary: "2 workers", something_new: [1, 2] });
    assert.equal(state.state, "running");
    assert.deepEqual(state.counts, { pending: 0, current: 0, complete: 0, failed: 0 });
  });

  it("names the field when a payload has the wrong shape", () => {
    assert.throws(() => decodeTask({ id: "t1", state: "done" }), (e: unknown) => {
      assert.ok(e instanceof ProtocolError);
      assert.match(e.message, /task\.state: expected one of pending\|current\|complete\|failed, got "done"/);
      return true;
    });
    assert.throws(() => decodeWorker({ id: 7 }), /worker\.id: expected a string, got number/);
    assert.throws(() => decodeSnapshot({ tasks: { t1: { id: "t1", state: "pending", attempt: "1" } } }), /status\.tasks\.t1\.attempt: expected a number, got string/);
    assert.throws(() => decodeSwarmState([]), /swarmState: expected an object, got an array/);
  });

  it("decodes a review's diff with its files and their URIs", () => {
    const diff = decodeReviewDiff({
      review_id: "r1",
      task_id: "t1",
      base: "a1",
      head: "b2",
      files: [{ path: "src/x.py", status: "A", base_uri: "oompa-git:/src/x.py?ref=a1", head_uri: "oompa-git:/src/x.py?ref=b2" }],
    });
    assert.equal(diff.files[0]?.status, "A");
    assert.equal(diff.files[0]?.head_uri, "oompa-git:/src/x.py?ref=b2");
    assert.throws(() => decodeReviewDiff({ review_id: "r1", task_id: "t", base: "a", head: "b", files: [{ path: "x", status: "X", base_uri: "", head_uri: "" }] }), /diff\.files\[0\]\.status/);
  });

  it("decodes a command's result, refusals included", () => {
    assert.deepEqual(decodeCommandResult({ ok: false, message: "no such review: r9" }), { ok: false, message: "no such review: r9", viewer: false });
    assert.equal(decodeCommandResult({ ok: true, message: "", viewer: true }).viewer, true);
  });

  it("decodes file contents and log messages", () => {
    assert.equal(decodeFileContent({ content: "" }), "");
    assert.throws(() => decodeFileContent({}), /fileContent\.content/);
    assert.deepEqual(decodeReport({ run_id: "r1", html: "<html></html>", path: "/x/report.html", extra: 1 }), {
      run_id: "r1",
      html: "<html></html>",
      path: "/x/report.html",
    });
    assert.throws(() => decodeReport({ run_id: "r1" }), /report\.html/);
    const log = decodeLog({ level: "warning", message: "merge paused", worker: "w2", at: 5 });
    assert.equal(log.worker, "w2");
    assert.throws(() => decodeLog({ level: "debug", message: "x", at: 1 }), /log\.level/);
  });
});
