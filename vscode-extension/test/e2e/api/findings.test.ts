/**
 * API-level tests of a review read like a pull request, inside a real VS Code's extension host:
 * a model+human review whose scripted model reviewer approves with findings (one names a file
 * and line, one names no place). The findings appear as threads on the diff, marked as the
 * model's; the summary opens beside the diff; a reply to a finding (a draft) survives the diff
 * being closed and opened again; Request Changes sends the draft and the included finding as one rejection, and
 * the worker's next turn reads both with their places.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import { CommentCommand, Command } from "../../../src/contributions";
import type { OompaApi } from "../../../src/extension";
import type { WorkspaceFacts } from "../driver/workspace";
import { waitFor } from "./waiting";

const facts = JSON.parse(process.env.OOMPA_E2E_FACTS ?? "{}") as WorkspaceFacts;
const EXTENSION_ID = "oompa.oompa-vscode";

/** The prompts of the scripted worker's turns on a task, from the call log it keeps. */
function promptsOf(taskId: string): string[] {
  const log = path.join(path.dirname(facts.folder), "agent-script.json.log.jsonl");
  if (!fs.existsSync(log)) {
    return [];
  }
  const calls = fs.readFileSync(log, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as { role?: string; task_id?: string; prompt?: string });
  return calls.filter((c) => c.task_id === taskId && c.role === "executor").map((c) => c.prompt ?? "");
}

describe("A review like a pull request", function () {
  let api: OompaApi;
  const taskId = facts.taskIds[0] ?? "";
  const change = facts.changes[taskId];

  before(async () => {
    const extension = vscode.extensions.getExtension<OompaApi>(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is loaded`);
    api = await extension.activate();
    await waitFor("the server to run", () => api.connection.state === "running");
  });

  after(async () => {
    await vscode.commands.executeCommand(Command.stopSwarm);
  });

  it("shows the model reviewer's placed findings as threads on the diff, and the summary beside it", async () => {
    await vscode.commands.executeCommand(Command.startSwarm);
    const pending = await waitFor("the first task's review", () => api.mirror.reviews.find((r) => r.task_id === taskId), 90_000);
    // the model approved first: its findings come with the diff once its verdict is in
    const review = await waitFor("the model's findings", async () => {
      const diff = (await api.connection.request("oompa/diff", { review_id: pending.review_id })) as { findings: unknown[] };
      return diff.findings.length > 0 && pending;
    });
    assert.ok(review && change);
    await vscode.commands.executeCommand(Command.openReviewDiff, review.review_id);
    const threads = await waitFor("the findings' threads", () => {
      const shown = api.review.comments.threadsOf(review.review_id);
      return shown.length > 0 && shown;
    });
    assert.deepEqual(
      threads.map((t) => [t.path, t.ref, t.startLine, t.label, t.contextValue]),
      [[change.file, review.head, 1, "Model reviewer · finding 1", "finding"]],
      "one thread, on the worker's side of the file's first line; the finding with no place is not a thread",
    );
    assert.deepEqual(threads[0]?.bodies, [`**Finding 1** — ${change.file}:1 should end with a full stop`]);
    await waitFor("the review's summary beside the diff", () => api.review.summaries.isShown(review.review_id));
    const summary = (await api.connection.request("oompa/reviewSummary", { review_id: review.review_id })) as { markdown: string };
    assert.match(summary.markdown, /with no place in the code\n\n2\. The README does not say what/);
  });

  it("keeps a draft across closing the diff, and sends it with the included finding as one request for changes", async () => {
    const review = api.mirror.reviews.find((r) => r.task_id === taskId);
    assert.ok(review && change);
    const [finding] = api.review.comments.threadsOf(review.review_id);
    assert.ok(finding);
    await vscode.commands.executeCommand(CommentCommand.include, finding.thread);
    assert.equal(api.review.comments.threadsOf(review.review_id)[0]?.contextValue, "finding.included");
    // a reply to the finding is a draft placed where the finding is
    await vscode.commands.executeCommand(CommentCommand.add, { thread: finding.thread, text: "Say who greets." } satisfies vscode.CommentReply);
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
    await vscode.commands.executeCommand(Command.openReviewDiff, review.review_id);
    const shown = await waitFor("the draft shown again", () => {
      const found = api.review.comments.threadsOf(review.review_id);
      return found[0]?.bodies.length === 2 && found;
    });
    assert.equal(shown[0]?.bodies[1], "Say who greets.");
    assert.equal(shown[0]?.contextValue, "finding.included", "still going with the request for changes");

    assert.equal(await vscode.commands.executeCommand(Command.rejectReview, review.review_id, "Two points."), true);
    const prompt = await waitFor("the worker's next turn", () => promptsOf(taskId).length > 1 && promptsOf(taskId).at(-1), 90_000);
    assert.ok(prompt.includes("Two points."), prompt);
    assert.ok(prompt.includes(`- \`${change.file}\` line 1 (your version):\n    | ${change.line}\n  Say who greets.\n\n(re: the model`), prompt);
    assert.ok(prompt.includes(`(the model reviewer's finding 1) ${change.file}:1 should end with a full stop`), prompt);
    assert.deepEqual(api.review.comments.threadsOf(review.review_id), [], "the sent comments are no longer drafts");
  });

  it("approves round 2 with a comment: it goes to the log as a note and the change merges", async () => {
    const again = await waitFor("round 2 with the model's findings", async () => {
      const pending = api.mirror.reviews.find((r) => r.task_id === taskId && r.round === 2);
      const diff = pending && ((await api.connection.request("oompa/diff", { review_id: pending.review_id })) as { findings: unknown[] });
      return diff !== undefined && diff.findings.length > 0 && pending;
    }, 90_000);
    await vscode.commands.executeCommand(Command.openReviewDiff, again.review_id);
    const [finding] = await waitFor("the finding's thread", () => {
      const shown = api.review.comments.threadsOf(again.review_id);
      return shown.length > 0 && shown;
    });
    assert.ok(finding);
    await vscode.commands.executeCommand(CommentCommand.add, { thread: finding.thread, text: "Fine as it is." } satisfies vscode.CommentReply);
    assert.equal(await vscode.commands.executeCommand(Command.approveReview, again.review_id), true);
    await waitFor("the task to merge", () => api.mirror.task(taskId)?.state === "complete", 90_000);
    const verdict = humanVerdictOn(again.review_id);
    assert.equal(verdict?.approved, true);
    assert.deepEqual(verdict?.comments?.map((c) => [c.path, c.start_line, c.lines]), [[change?.file, 1, [change?.line.toUpperCase()]]]);
  });
});

interface VerdictEvent {
  type: string;
  review_id: string;
  reviewer: string;
  approved: boolean;
  comments?: { path: string; start_line: number; lines: string[] }[];
}

/** The human's verdict on a review, as the run's event log recorded it. */
function humanVerdictOn(reviewId: string): VerdictEvent | undefined {
  const runs = path.join(facts.folder, ".oompa", "runs");
  const events = fs.readdirSync(runs).flatMap((run) => {
    const file = path.join(runs, run, "events.jsonl");
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
  });
  return events
    .map((line) => JSON.parse(line) as VerdictEvent)
    .find((e) => e.type === "ReviewVerdictGiven" && e.review_id === reviewId && e.reviewer === "human");
}
