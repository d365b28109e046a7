/**
 * The "Oompa: ..." commands. Each one translates a user's gesture into a server command or
 * request and shows the outcome; none decides anything about the swarm (invariant 8).
 * Commands take their target from the argument (an id, a tree node, a diff editor's URI) or,
 * from the palette, ask with a quick pick.
 */

import * as vscode from "vscode";
import { Command, InternalCommand, STATUS_SCHEME } from "./contributions";
import type { SwarmMirror } from "./mirror";
import { Request, ServerCommand, decodeCommandResult, decodeSnapshot, type CommandResult, type ReviewView, type TaskView } from "./protocol";
import type { ReviewComments } from "./reviewComments";
import { reviewIdOf, type ReviewDiffs } from "./reviewDiff";
import type { ReviewSummaries } from "./reviewSummary";
import { ServerUnavailableError, type ServerConnection } from "./server";
import { renderStatus } from "./status";
import type { TreeNode } from "./trees";

export interface CommandContext {
  connection: ServerConnection;
  mirror: SwarmMirror;
  diffs: ReviewDiffs;
  comments: ReviewComments;
  summaries: ReviewSummaries;
  log: vscode.LogOutputChannel;
  statusDocument: StatusDocument;
}

const UNTRUSTED =
  "Oompa: this workspace is not trusted, so Oompa starts no server and no agents (they run code from the workspace). Trust the workspace to use Oompa.";

export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
  const handlers: [string, (...args: unknown[]) => Promise<unknown>][] = [
    [Command.startSwarm, () => startSwarm(ctx)],
    [Command.stopSwarm, () => serverCommand(ctx, ServerCommand.stopSwarm, [], "stop the swarm")],
    [Command.showStatus, () => showStatus(ctx)],
    [Command.openReviewDiff, (target, path) => openReviewDiff(ctx, target, path)],
    [Command.approveReview, (target) => approveReview(ctx, target)],
    [Command.rejectReview, (target, feedback) => rejectReview(ctx, target, feedback)],
    [Command.requeueTask, (target) => requeueTask(ctx, target)],
    [Command.showLogs, () => Promise.resolve(ctx.log.show())],
    [Command.restartServer, () => restartServer(ctx)],
    [Command.resumeQueue, () => serverCommand(ctx, ServerCommand.resumeQueue, [], "resume the merge queue")],
    [Command.showReviewSummary, (target) => showReviewSummary(ctx, target)],
    [InternalCommand.openTask, (target) => openTask(ctx, target)],
    [InternalCommand.openReviewFile, (reviewId, path) => openReviewDiff(ctx, reviewId, path)],
  ];
  return handlers.map(([id, handler]) => vscode.commands.registerCommand(id, (...args: unknown[]) => reporting(ctx, handler(...args))));
}

/**
 * Shows a failed command's reason, once, and resolves to undefined: a rejection would make
 * VS Code show a second, generic error for a command run from the palette.
 */
async function reporting<T>(ctx: CommandContext, work: Promise<T>): Promise<T | undefined> {
  try {
    return await work;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    ctx.log.error(message);
    const actions = error instanceof ServerUnavailableError ? ["Show Logs", "Restart Server"] : ["Show Logs"];
    void vscode.window.showErrorMessage(message.startsWith("Oompa") ? message : `Oompa: ${message}`, ...actions).then((choice) => {
      if (choice === "Show Logs") {
        ctx.log.show();
      } else if (choice === "Restart Server") {
        void vscode.commands.executeCommand(Command.restartServer);
      }
    });
    return undefined;
  }
}

async function ensureServer(ctx: CommandContext): Promise<void> {
  if (!vscode.workspace.isTrusted) {
    throw new ServerUnavailableError(UNTRUSTED);
  }
  if (ctx.connection.state !== "running") {
    await ctx.connection.start();
  }
}

/** Runs a server command; a refusal (`ok: false`) or an error becomes one error naming `what`. */
async function serverCommand(ctx: CommandContext, command: string, args: unknown[], what: string): Promise<CommandResult> {
  await ensureServer(ctx);
  let result: CommandResult;
  try {
    result = decodeCommandResult(await ctx.connection.executeCommand(command, args));
  } catch (error) {
    if (error instanceof ServerUnavailableError) {
      throw error;
    }
    throw new Error(`Oompa: could not ${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!result.ok) {
    throw new Error(`Oompa: could not ${what}: ${result.message || "the server refused"}`);
  }
  if (result.message) {
    ctx.log.info(result.message);
  }
  return result;
}

async function startSwarm(ctx: CommandContext): Promise<CommandResult | undefined> {
  if (!vscode.workspace.isTrusted) {
    const choice = await vscode.window.showWarningMessage(UNTRUSTED, "Manage Workspace Trust");
    if (choice !== undefined) {
      await vscode.commands.executeCommand("workbench.trust.manage");
    }
    return undefined;
  }
  const result = await serverCommand(ctx, ServerCommand.startSwarm, [], "start the swarm");
  const words = result.viewer ? "another process runs this swarm: this window follows it" : "swarm started";
  vscode.window.setStatusBarMessage(`Oompa: ${words}`, 5000);
  return result;
}

async function restartServer(ctx: CommandContext): Promise<boolean> {
  if (!vscode.workspace.isTrusted) {
    throw new ServerUnavailableError(UNTRUSTED);
  }
  await ctx.connection.restart();
  return ctx.connection.state === "running";
}

async function showStatus(ctx: CommandContext): Promise<boolean> {
  await ensureServer(ctx);
  const snapshot = decodeSnapshot(await ctx.connection.request(Request.status, {}));
  ctx.mirror.applySnapshot(snapshot);
  await ctx.statusDocument.show(renderStatus(snapshot, Date.now() / 1000));
  return true;
}

async function openReviewDiff(ctx: CommandContext, target: unknown, path: unknown): Promise<unknown> {
  const reviewId = reviewIdFrom(target) ?? (await pickReview(ctx, "Open the diff of which review?"));
  if (reviewId === undefined) {
    return undefined;
  }
  await ensureServer(ctx);
  return ctx.diffs.open(reviewId, typeof path === "string" ? path : undefined);
}

async function approveReview(ctx: CommandContext, target: unknown): Promise<boolean> {
  const reviewId = reviewIdFrom(target) ?? (await pickReview(ctx, "Approve which review?"));
  if (reviewId === undefined) {
    return false;
  }
  // the reviewer's draft comments go with an approval as notes for the log; they do not block it
  const notes = ctx.comments.toSend(reviewId, false);
  const args = notes.length > 0 ? [reviewId, notes] : [reviewId];
  await serverCommand(ctx, ServerCommand.approve, args, `approve review ${reviewId}`);
  await endReview(ctx, reviewId);
  const withNotes = notes.length > 0 ? ` with ${notes.length} note(s)` : "";
  vscode.window.setStatusBarMessage(`Oompa: approved ${describeReview(ctx, reviewId)}${withNotes}; it goes to the merge queue`, 5000);
  return true;
}

/** "Request Changes": every draft comment and included finding, with an overall note, as one rejection. */
async function rejectReview(ctx: CommandContext, target: unknown, givenFeedback: unknown): Promise<boolean> {
  const reviewId = reviewIdFrom(target) ?? (await pickReview(ctx, "Request changes on which review?"));
  if (reviewId === undefined) {
    return false;
  }
  const comments = ctx.comments.toSend(reviewId, true);
  const given = typeof givenFeedback === "string" && givenFeedback.trim() ? givenFeedback : undefined;
  const feedback = given ?? (await askFeedback(ctx, reviewId, comments.length));
  if (feedback === undefined) {
    return false;
  }
  const args = comments.length > 0 ? [reviewId, feedback, comments] : [reviewId, feedback];
  await serverCommand(ctx, ServerCommand.reject, args, `request changes on review ${reviewId}`);
  await endReview(ctx, reviewId);
  const sent = comments.length > 0 ? ` with ${comments.length} line comment(s)` : "";
  vscode.window.setStatusBarMessage(`Oompa: requested changes on ${describeReview(ctx, reviewId)}${sent}; they go back to the worker`, 5000);
  return true;
}

async function endReview(ctx: CommandContext, reviewId: string): Promise<void> {
  await ctx.comments.sent(reviewId);
  ctx.summaries.close(reviewId);
  await ctx.diffs.close(reviewId);
}

async function showReviewSummary(ctx: CommandContext, target: unknown): Promise<boolean> {
  const reviewId = reviewIdFrom(target) ?? (await pickReview(ctx, "Show the summary of which review?"));
  if (reviewId === undefined) {
    return false;
  }
  await ensureServer(ctx);
  await ctx.summaries.show(reviewId);
  return true;
}

async function requeueTask(ctx: CommandContext, target: unknown): Promise<boolean> {
  const taskId = taskIdFrom(target) ?? (await pickTask(ctx, "Return which task to pending?"));
  if (taskId === undefined) {
    return false;
  }
  await serverCommand(ctx, ServerCommand.requeue, [taskId], `requeue ${taskId}`);
  vscode.window.setStatusBarMessage(`Oompa: ${taskId} is pending again`, 5000);
  return true;
}

async function openTask(ctx: CommandContext, target: unknown): Promise<void> {
  const taskId = taskIdFrom(target);
  if (taskId === undefined) {
    return;
  }
  const known = ctx.mirror.task(taskId)?.uri;
  const uri = known !== undefined ? vscode.Uri.parse(known) : await findTaskFile(taskId);
  if (uri === undefined) {
    throw new Error(`Oompa: the file of task ${taskId} was not found in the workspace.`);
  }
  await vscode.window.showTextDocument(uri, { preview: true });
}

async function findTaskFile(taskId: string): Promise<vscode.Uri | undefined> {
  const glob = `**/{pending,current,complete,failed}/${taskId}.json`;
  const [found] = await vscode.workspace.findFiles(glob, "**/node_modules/**", 1);
  return found;
}

async function askFeedback(ctx: CommandContext, reviewId: string, comments: number): Promise<string | undefined> {
  if (comments > 0) {
    return vscode.window.showInputBox({
      title: `Request changes on ${describeReview(ctx, reviewId)} (${comments} line comment(s))`,
      prompt: "An overall note for the worker (optional): the line comments go with it.",
      placeHolder: "e.g. Close: see the comments.",
      ignoreFocusOut: true,
    });
  }
  return vscode.window.showInputBox({
    title: `Request changes on ${describeReview(ctx, reviewId)}`,
    prompt: "What should the worker change? This goes back to the worker as review feedback.",
    placeHolder: "e.g. The new function has no test for an empty list.",
    ignoreFocusOut: true,
    validateInput: (value) => (value.trim() ? undefined : "Feedback is needed: the worker gets it as the reason."),
  });
}

function describeReview(ctx: CommandContext, reviewId: string): string {
  const review = ctx.mirror.review(reviewId);
  return review ? `${review.task_id} (${review.worker}, round ${review.round})` : `review ${reviewId}`;
}

async function pickReview(ctx: CommandContext, title: string): Promise<string | undefined> {
  const reviews = ctx.mirror.reviews;
  if (reviews.length === 0) {
    void vscode.window.showInformationMessage("Oompa: no review is pending.");
    return undefined;
  }
  if (reviews.length === 1) {
    return reviews[0]?.review_id;
  }
  const items = reviews.map((r: ReviewView) => ({
    label: r.task_id,
    description: `${r.worker} · round ${r.round}`,
    detail: ctx.mirror.task(r.task_id)?.summary ?? "",
    id: r.review_id,
  }));
  return (await vscode.window.showQuickPick(items, { title, matchOnDescription: true }))?.id;
}

async function pickTask(ctx: CommandContext, title: string): Promise<string | undefined> {
  const tasks = ctx.mirror.tasks.filter((t: TaskView) => t.state === "current" || t.state === "failed");
  if (tasks.length === 0) {
    void vscode.window.showInformationMessage("Oompa: no task is in progress or failed.");
    return undefined;
  }
  const items = tasks.map((t) => ({ label: t.id, description: t.state, detail: t.summary, id: t.id }));
  return (await vscode.window.showQuickPick(items, { title, matchOnDetail: true }))?.id;
}

function reviewIdFrom(target: unknown): string | undefined {
  if (typeof target === "string") {
    return target;
  }
  if (target instanceof vscode.Uri) {
    return reviewIdOf(target);
  }
  return idFromNode(target, "review:");
}

function taskIdFrom(target: unknown): string | undefined {
  return typeof target === "string" ? target : idFromNode(target, "task:");
}

function idFromNode(target: unknown, prefix: string): string | undefined {
  const id = (target as Partial<TreeNode> | undefined)?.id;
  return typeof id === "string" && id.startsWith(prefix) ? id.slice(prefix.length) : undefined;
}

/** The read-only "Oompa Status" document behind "Oompa: Show Status". */
export class StatusDocument implements vscode.TextDocumentContentProvider {
  static readonly uri = vscode.Uri.from({ scheme: STATUS_SCHEME, path: "/Oompa Status.md" });
  private text = "";
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  provideTextDocumentContent(): string {
    return this.text;
  }

  async show(text: string): Promise<void> {
    this.text = text;
    this.changed.fire(StatusDocument.uri);
    const document = await vscode.workspace.openTextDocument(StatusDocument.uri);
    await vscode.languages.setTextDocumentLanguage(document, "markdown");
    await vscode.window.showTextDocument(document, { preview: true });
  }
}
