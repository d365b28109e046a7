/**
 * Line comments on a review's diff, with VS Code's comments UI: the reviewer's drafts (on the
 * worker's side, or on the base side for removed lines) and the model reviewer's findings as
 * threads marked as the model's. Drafts live in workspaceState (reviewNotes.ts) until they are
 * sent, so they come back after a reload when the diff is opened again. A reply to a finding
 * is a draft placed where the finding is; a finding can be included in the request for
 * changes or resolved. Sending is the commands' work (commands.ts asks `toSend`).
 */

import * as vscode from "vscode";
import type { DiffFinding, LocatedComment, ReviewDiff } from "./protocol";
import { CommentCommand } from "./contributions";
import { DraftStore, findingPlace, placeOfUri, uriOfPlace, commentsToSend, type Draft } from "./reviewNotes";
import { reviewIdOf, serverUriOf, withReview } from "./reviewDiff";

export const COMMENT_CONTROLLER_ID = "oompa-review";
const MODEL_AUTHOR: vscode.CommentAuthorInformation = { name: "Model reviewer" };
const YOU: vscode.CommentAuthorInformation = { name: "You (draft, not sent yet)" };

export interface ShownThread {
  thread: vscode.CommentThread;
  path: string;
  ref: string;
  startLine: number;
  endLine: number;
  label: string;
  contextValue: string;
  bodies: string[];
}

/** What a thread is to us: a finding's (with its number) or the reviewer's own. */
interface ThreadInfo {
  reviewId: string;
  finding?: DiffFinding;
}

/** A draft shown in a thread; its ids let "Delete Comment" find it again. */
class DraftComment implements vscode.Comment {
  readonly mode = vscode.CommentMode.Preview;
  readonly author = YOU;
  readonly contextValue = "draft";
  readonly label = "draft";
  readonly body: vscode.MarkdownString;
  constructor(
    readonly reviewId: string,
    readonly draftId: string,
    text: string,
    readonly thread: vscode.CommentThread,
  ) {
    this.body = new vscode.MarkdownString(text);
  }
}

export class ReviewComments implements vscode.Disposable {
  private readonly controller: vscode.CommentController;
  private readonly diffs = new Map<string, ReviewDiff>();
  private readonly threads = new Map<string, vscode.CommentThread[]>();
  private readonly info = new WeakMap<vscode.CommentThread, ThreadInfo>();
  private readonly registrations: vscode.Disposable[];

  constructor(
    private readonly store: DraftStore,
    private readonly fetchDiff: (reviewId: string) => Promise<ReviewDiff>,
  ) {
    this.controller = vscode.comments.createCommentController(COMMENT_CONTROLLER_ID, "Oompa review");
    this.controller.options = { prompt: "Comment for the worker…", placeHolder: "What should the worker change here?" };
    this.controller.commentingRangeProvider = {
      provideCommentingRanges: (document) =>
        reviewIdOf(document.uri) === undefined ? [] : [new vscode.Range(0, 0, Math.max(document.lineCount - 1, 0), 0)],
    };
    this.registrations = [
      vscode.commands.registerCommand(CommentCommand.add, (reply: vscode.CommentReply) => this.add(reply)),
      vscode.commands.registerCommand(CommentCommand.deleteDraft, (comment: unknown) => this.deleteDraft(comment)),
      vscode.commands.registerCommand(CommentCommand.include, (thread: vscode.CommentThread) => this.include(thread, true)),
      vscode.commands.registerCommand(CommentCommand.exclude, (thread: vscode.CommentThread) => this.include(thread, false)),
      vscode.commands.registerCommand(CommentCommand.resolve, (thread: vscode.CommentThread) => this.resolve(thread)),
    ];
  }

  dispose(): void {
    for (const reviewId of [...this.threads.keys()]) {
      this.disposeThreads(reviewId);
    }
    for (const registration of this.registrations) {
      registration.dispose();
    }
    this.controller.dispose();
  }

  /** Shows a review's drafts and the model's findings on its diff (again, when it was shown). */
  show(diff: ReviewDiff): void {
    this.diffs.set(diff.review_id, diff);
    this.disposeThreads(diff.review_id);
    const notes = this.store.notes(diff.review_id);
    const threads: vscode.CommentThread[] = [];
    for (const finding of diff.findings) {
      const thread = this.findingThread(diff, finding, notes.included.includes(finding.number), notes.resolved.includes(finding.number));
      if (thread !== undefined) {
        threads.push(thread);
      }
    }
    for (const draft of notes.drafts) {
      const thread = this.draftThread(diff, draft, threads);
      if (thread !== undefined && !threads.includes(thread)) {
        threads.push(thread);
      }
    }
    this.threads.set(diff.review_id, threads);
  }

  /** The comments a request for changes (or an approval's notes) sends for a review. */
  toSend(reviewId: string, withFindings: boolean): LocatedComment[] {
    const notes = this.store.notes(reviewId);
    const findings = this.diffs.get(reviewId)?.findings ?? [];
    return commentsToSend(withFindings ? notes : { ...notes, included: [] }, findings);
  }

  /** The review's notes were sent (or the review ended): forget its drafts and threads. */
  async sent(reviewId: string): Promise<void> {
    this.disposeThreads(reviewId);
    this.diffs.delete(reviewId);
    await this.store.clear(reviewId);
  }

  /** The threads shown on a review's diff, as a user sees them (for the integration tests). */
  threadsOf(reviewId: string): ShownThread[] {
    return (this.threads.get(reviewId) ?? []).map((thread) => ({
      thread,
      path: thread.uri.path.replace(/^\//, ""),
      ref: new URLSearchParams(thread.uri.query).get("ref") ?? "",
      startLine: (thread.range?.start.line ?? 0) + 1,
      endLine: (thread.range?.end.line ?? 0) + 1,
      label: thread.label ?? "",
      contextValue: thread.contextValue ?? "",
      bodies: thread.comments.map((c) => (typeof c.body === "string" ? c.body : c.body.value)),
    }));
  }

  /** Reviews whose threads are shown (to drop them when the review is no longer pending). */
  shownReviews(): string[] {
    return [...this.threads.keys()];
  }

  private findingThread(diff: ReviewDiff, finding: DiffFinding, included: boolean, resolved: boolean): vscode.CommentThread | undefined {
    const serverUri = finding.path === null ? undefined : uriOfPlace(diff, finding.path, finding.side);
    if (serverUri === undefined) {
      return undefined; // no place in the code: the summary shows it
    }
    const { startLine, endLine } = findingPlace(finding);
    const body = new vscode.MarkdownString(`**Finding ${finding.number}** — ${finding.text}`);
    const comment: vscode.Comment = { author: MODEL_AUTHOR, body, mode: vscode.CommentMode.Preview, label: "model", contextValue: "finding" };
    const thread = this.controller.createCommentThread(this.uri(diff, serverUri), lineRange(startLine, endLine), [comment]);
    this.info.set(thread, { reviewId: diff.review_id, finding });
    this.markFinding(thread, finding, included, resolved);
    thread.collapsibleState = vscode.CommentThreadCollapsibleState.Expanded;
    return thread;
  }

  private markFinding(thread: vscode.CommentThread, finding: DiffFinding, included: boolean, resolved: boolean): void {
    thread.contextValue = resolved ? "finding.resolved" : included ? "finding.included" : "finding";
    thread.label = `Model reviewer · finding ${finding.number}${included ? " · goes with the request for changes" : ""}`;
    thread.state = resolved ? vscode.CommentThreadState.Resolved : vscode.CommentThreadState.Unresolved;
  }

  private draftThread(diff: ReviewDiff, draft: Draft, findingThreads: vscode.CommentThread[]): vscode.CommentThread | undefined {
    const existing = findingThreads.find((t) => this.info.get(t)?.finding?.number === draft.finding && draft.finding !== undefined);
    if (existing !== undefined) {
      existing.comments = [...existing.comments, new DraftComment(diff.review_id, draft.id, draft.body, existing)];
      return existing;
    }
    const serverUri = uriOfPlace(diff, draft.path, draft.side);
    if (serverUri === undefined) {
      return undefined;
    }
    const thread = this.controller.createCommentThread(this.uri(diff, serverUri), lineRange(draft.startLine, draft.endLine), []);
    thread.comments = [new DraftComment(diff.review_id, draft.id, draft.body, thread)];
    this.ownThread(thread, diff.review_id);
    return thread;
  }

  private ownThread(thread: vscode.CommentThread, reviewId: string): void {
    this.info.set(thread, { reviewId });
    thread.contextValue = "draft";
    thread.label = "Your comment · sent with Request Changes or Approve";
    thread.collapsibleState = vscode.CommentThreadCollapsibleState.Expanded;
  }

  private async add(reply: vscode.CommentReply): Promise<void> {
    const thread = reply.thread;
    const reviewId = this.info.get(thread)?.reviewId ?? reviewIdOf(thread.uri);
    if (reviewId === undefined || !reply.text.trim()) {
      return;
    }
    const diff = this.diffs.get(reviewId) ?? (await this.fetchDiff(reviewId));
    this.diffs.set(reviewId, diff);
    const place = placeOfUri(diff, serverUriOf(thread.uri));
    const range = thread.range ?? new vscode.Range(0, 0, 0, 0);
    if (place === undefined) {
      throw new Error(`Oompa: ${thread.uri.path} is not a file of review ${reviewId}`);
    }
    const finding = this.info.get(thread)?.finding;
    const comment = { ...place, startLine: range.start.line + 1, endLine: range.end.line + 1, body: reply.text };
    const draft = await this.store.addDraft(reviewId, comment, finding?.number);
    thread.comments = [...thread.comments, new DraftComment(reviewId, draft.id, reply.text, thread)];
    if (finding === undefined) {
      this.ownThread(thread, reviewId);
    }
    this.remember(reviewId, thread);
  }

  private async deleteDraft(target: unknown): Promise<void> {
    if (!(target instanceof DraftComment)) {
      return;
    }
    await this.store.removeDraft(target.reviewId, target.draftId);
    const thread = target.thread;
    thread.comments = thread.comments.filter((c) => !(c instanceof DraftComment && c.draftId === target.draftId));
    if (thread.comments.length === 0) {
      thread.dispose();
    }
  }

  private async include(thread: vscode.CommentThread, included: boolean): Promise<void> {
    const info = this.info.get(thread);
    if (info?.finding === undefined) {
      return;
    }
    await this.store.include(info.reviewId, info.finding.number, included);
    this.markFinding(thread, info.finding, included, false);
  }

  private async resolve(thread: vscode.CommentThread): Promise<void> {
    const info = this.info.get(thread);
    if (info?.finding === undefined) {
      return;
    }
    const resolved = thread.state !== vscode.CommentThreadState.Resolved;
    await this.store.resolve(info.reviewId, info.finding.number, resolved);
    this.markFinding(thread, info.finding, false, resolved);
  }

  private remember(reviewId: string, thread: vscode.CommentThread): void {
    const threads = this.threads.get(reviewId) ?? [];
    if (!threads.includes(thread)) {
      this.threads.set(reviewId, [...threads, thread]);
    }
  }

  private disposeThreads(reviewId: string): void {
    this.threads.get(reviewId)?.forEach((t) => t.dispose());
    this.threads.delete(reviewId);
  }

  private uri(diff: ReviewDiff, serverUri: string): vscode.Uri {
    return withReview(vscode.Uri.parse(serverUri, true), diff.review_id);
  }
}

/** A 0-based editor range over 1-based lines `start..end`. */
function lineRange(start: number, end: number): vscode.Range {
  return new vscode.Range(Math.max(start - 1, 0), 0, Math.max(end - 1, 0), 0);
}
