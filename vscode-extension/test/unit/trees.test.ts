import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Command, InternalCommand } from "../../src/contributions";
import { decodeQueueEntry, decodeReview, decodeReviewDiff, decodeTask, decodeWorker } from "../../src/protocol";
import { formatCost, formatElapsed, reviewFileNodes, reviewNodes, taskGroups, workerNodes } from "../../src/trees";

describe("the Workers view", () => {
  it("shows state, task, model, elapsed time and cost on one line", () => {
    const worker = decodeWorker({
      id: "w1",
      model: "claude:sonnet",
      role: "executor",
      state: "working",
      task_id: "t3",
      since: 1000,
      usage: { input_tokens: 10, output_tokens: 5, cost_usd: 0.4213 },
    });
    const [node] = workerNodes([worker], 1125);
    assert.equal(node?.label, "w1");
    assert.equal(node?.description, "working · t3 · claude:sonnet · 2m 05s · $0.42");
    assert.deepEqual(node?.icon, ["sync~spin"]);
  });

  it("sorts workers by id and leaves out what is unknown", () => {
    const nodes = workerNodes(
      [decodeWorker({ id: "w2", model: "m", role: "r", state: "idle" }), decodeWorker({ id: "w1", model: "m", role: "r", state: "done" })],
      0,
    );
    assert.deepEqual(nodes.map((n) => n.label), ["w1", "w2"]);
    assert.equal(nodes[1]?.description, "idle · m");
  });

  it("words a state for people", () => {
    const [node] = workerNodes([decodeWorker({ id: "w1", model: "m", role: "r", state: "awaiting_review", task_id: "t1" })], 0);
    assert.equal(node?.description, "awaiting review · t1 · m");
  });

  it("formats durations and costs for people", () => {
    assert.equal(formatElapsed(7), "7s");
    assert.equal(formatElapsed(3725), "1h 02m");
    assert.equal(formatElapsed(-3), "0s");
    assert.equal(formatCost({ input_tokens: 1500, output_tokens: 700 }), "2.2k tokens");
    assert.equal(formatCost({ input_tokens: 0, output_tokens: 0 }), undefined);
  });
});

describe("the Tasks view", () => {
  const tasks = [
    decodeTask({ id: "t2", state: "pending", summary: "Second" }),
    decodeTask({ id: "t1", state: "pending", summary: "First", waiting: "behind t3 on src/auth/" }),
    decodeTask({ id: "t3", state: "current", summary: "Third", worker: "w1", review_round: 2 }),
    decodeTask({ id: "t4", state: "failed", summary: "Fourth", reason: "attempts exhausted" }),
  ];

  it("groups tasks by state in lifecycle order, leaving out empty groups", () => {
    const groups = taskGroups(tasks);
    assert.deepEqual(groups.map((g) => [g.label, g.description]), [["Pending", "2"], ["In progress", "1"], ["Failed", "1"]]);
    assert.deepEqual(groups[0]?.children?.map((c) => c.label), ["t1", "t2"]);
  });

  it("shows who works on a task, its review round and why it failed", () => {
    const groups = taskGroups(tasks);
    assert.equal(groups[1]?.children?.[0]?.description, "Third · w1 · review round 2");
    assert.equal(groups[2]?.children?.[0]?.description, "Fourth · attempts exhausted");
    assert.equal(groups[2]?.children?.[0]?.contextValue, "task.failed");
  });

  it("shows a task's place and check state in the merge train", () => {
    const queue = [decodeQueueEntry({ task_id: "t9", position: 1, state: "checking" }), decodeQueueEntry({ task_id: "t3", position: 2 })];
    assert.equal(taskGroups(tasks, queue)[1]?.children?.[0]?.description, "Third · w1 · merge train #2 · queued · review round 2");
  });

  it("says why a pending task waits", () => {
    assert.equal(taskGroups(tasks)[0]?.children?.[0]?.description, "First · behind t3 on src/auth/");
  });

  it("opens the task file on click", () => {
    const node = taskGroups(tasks)[0]?.children?.[0];
    assert.deepEqual(node?.command, { command: InternalCommand.openTask, title: "Open Task", arguments: ["t1"] });
  });
});

describe("the Reviews view", () => {
  it("lists pending reviews oldest first, labelled with the task, opening the diff on click", () => {
    const reviews = [
      decodeReview({ review_id: "r2", task_id: "t2", worker: "w2", branch: "b", base: "a", head: "h", mode: "human", requested_at: 20 }),
      decodeReview({ review_id: "r1", task_id: "t1", worker: "w1", branch: "b", base: "a", head: "h", mode: "human", round: 2, requested_at: 10 }),
    ];
    const summaries: Record<string, string> = { t1: "Add greeting" };
    const nodes = reviewNodes(reviews, (id) => (summaries[id] ? decodeTask({ id, state: "current", summary: summaries[id] }) : undefined));
    assert.deepEqual(nodes.map((n) => n.label), ["t1: Add greeting", "t2"]);
    assert.equal(nodes[0]?.description, "w1 · round 2 · human");
    assert.equal(nodes[0]?.contextValue, "review");
    assert.deepEqual(nodes[0]?.command?.command, Command.openReviewDiff);
    assert.deepEqual(nodes[0]?.command?.arguments, ["r1"]);
  });

  it("expands a review into its changed files", () => {
    const diff = decodeReviewDiff({
      review_id: "r1",
      task_id: "t1",
      base: "a",
      head: "b",
      files: [
        { path: "new.py", status: "A", base_uri: "oompa-git:/new.py?ref=a", head_uri: "oompa-git:/new.py?ref=b" },
        { path: "old.py", status: "D", base_uri: "oompa-git:/old.py?ref=a", head_uri: "oompa-git:/old.py?ref=b" },
      ],
    });
    const nodes = reviewFileNodes(diff);
    assert.deepEqual(nodes.map((n) => [n.label, n.description]), [["new.py", "added"], ["old.py", "deleted"]]);
    assert.deepEqual(nodes[1]?.command?.arguments, ["r1", "old.py"]);
  });
});
