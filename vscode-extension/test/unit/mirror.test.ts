import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SwarmMirror, summaryLine, type MirrorPart } from "../../src/mirror";
import { decodeReview, decodeReviewResolved, decodeSnapshot, decodeTask, decodeWorker } from "../../src/protocol";

function snapshotWithReview(): ReturnType<typeof decodeSnapshot> {
  return decodeSnapshot({
    state: "running",
    run_id: "run-1",
    workers: { w1: { id: "w1", model: "fake:a", role: "executor", state: "awaiting_review", task_id: "t1" } },
    tasks: {
      t1: { id: "t1", state: "current", summary: "One", worker: "w1" },
      t2: { id: "t2", state: "pending", summary: "Two" },
    },
    reviews: { r1: { review_id: "r1", task_id: "t1", worker: "w1", branch: "b", base: "a", head: "h", mode: "human" } },
  });
}

describe("the mirror of the server's swarm", () => {
  it("takes a snapshot whole and words its summary as the server does", () => {
    const mirror = new SwarmMirror();
    mirror.applySnapshot(snapshotWithReview());
    assert.equal(mirror.swarm.state, "running");
    assert.equal(mirror.swarm.summary, "1 workers · 1 pending · 1 running · 1 in review · 0 merged");
    assert.deepEqual(mirror.swarm.counts, { pending: 1, current: 1, complete: 0, failed: 0 });
    assert.equal(mirror.reviews.length, 1);
  });

  it("applies live updates and tells listeners which part changed", () => {
    const mirror = new SwarmMirror();
    mirror.applySnapshot(snapshotWithReview());
    const seen: MirrorPart[][] = [];
    mirror.onChange((parts) => seen.push([...parts]));
    mirror.applyWorker(decodeWorker({ id: "w2", model: "fake:b", role: "executor", state: "working", task_id: "t2" }));
    mirror.applyTask(decodeTask({ id: "t2", state: "current", summary: "Two", worker: "w2" }));
    assert.equal(mirror.workers.length, 2);
    assert.equal(mirror.task("t2")?.worker, "w2");
    assert.deepEqual(seen, [["workers"], ["tasks"]]);
  });

  it("tells listeners only of the parts a snapshot changed, and nothing when it changed nothing", () => {
    const mirror = new SwarmMirror();
    const seen: MirrorPart[][] = [];
    mirror.onChange((parts) => seen.push([...parts]));
    mirror.applySnapshot(snapshotWithReview());
    mirror.applySnapshot(snapshotWithReview());
    const moved = snapshotWithReview();
    moved.tasks.t2 = decodeTask({ id: "t2", state: "current", summary: "Two", worker: "w1" });
    mirror.applySnapshot(moved);
    assert.deepEqual(seen, [["swarm", "workers", "tasks", "reviews"], ["swarm", "tasks"]]);
  });

  it("drops a task's pending review once the task leaves the current state", () => {
    const mirror = new SwarmMirror();
    mirror.applySnapshot(snapshotWithReview());
    const seen: MirrorPart[][] = [];
    mirror.onChange((parts) => seen.push([...parts]));
    mirror.applyTask(decodeTask({ id: "t1", state: "complete", summary: "One", commit: "abc" }));
    assert.equal(mirror.reviews.length, 0);
    assert.deepEqual(seen, [["tasks", "reviews"]]);
  });

  it("drops a resolved review, but keeps a model+human review a model approved", () => {
    const mirror = new SwarmMirror();
    mirror.applyReview(decodeReview({ review_id: "r1", task_id: "t1", worker: "w1", branch: "b", base: "a", head: "h", mode: "model+human" }));
    mirror.applyReviewResolved(decodeReviewResolved({ review_id: "r1", task_id: "t1", approved: true, reviewer: "fake:reviewer" }));
    assert.equal(mirror.reviews.length, 1, "still waits for the human");
    mirror.applyReviewResolved(decodeReviewResolved({ review_id: "r1", task_id: "t1", approved: true, reviewer: "human" }));
    assert.equal(mirror.reviews.length, 0);
  });

  it("keeps a task file's uri when a later snapshot does not carry it", () => {
    const mirror = new SwarmMirror();
    mirror.applyTask(decodeTask({ id: "t1", state: "current", summary: "One", uri: "file:///r/tasks/current/t1.json" }));
    mirror.applySnapshot(snapshotWithReview());
    assert.equal(mirror.task("t1")?.uri, "file:///r/tasks/current/t1.json");
  });

  it("adds reviews as they are requested and forgets everything on clear", () => {
    const mirror = new SwarmMirror();
    mirror.applyReview(decodeReview({ review_id: "r9", task_id: "t9", worker: "w1", branch: "b", base: "a", head: "h", mode: "human", round: 2 }));
    assert.equal(mirror.review("r9")?.round, 2);
    mirror.clear();
    assert.equal(mirror.reviews.length, 0);
    assert.equal(mirror.swarm.state, "idle");
  });

  it("counts failed tasks in the summary only when there are some", () => {
    const task = (id: string, state: string): ReturnType<typeof decodeTask> => decodeTask({ id, state, summary: id });
    assert.equal(summaryLine([], [task("a", "complete")], 0), "0 workers · 0 pending · 0 running · 0 in review · 1 merged");
    assert.match(summaryLine([], [task("a", "failed")], 0), / · 1 failed$/);
  });
});
