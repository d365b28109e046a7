/**
 * Reviewing a worker's change in VS Code's diff editor: the `oompa-git:` content provider
 * (file content at a commit, from the server's `oompa/fileContent`) and opening a review's
 * files as base ↔ head diffs. The review id rides in each URI's fragment, which the server
 * never sees, so the editor-title Approve/Reject buttons know which review they act on.
 */

import * as vscode from "vscode";
import { CONTENT_SCHEME, Request, decodeFileContent, decodeReviewDiff, type DiffFile, type ReviewDiff } from "./protocol";
import type { ServerConnection } from "./server";

const REVIEW_FRAGMENT = "review=";
/** More tabs than this at once helps nobody: the Reviews view lists every file. */
const MAX_TABS_PER_REVIEW = 12;

export class ReviewDiffs implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly opened = new vscode.EventEmitter<ReviewDiff>();
  /** A review's diff was opened (its comments and summary go with it). */
  readonly onDidOpen = this.opened.event;

  constructor(private readonly connection: ServerConnection) {}

  dispose(): void {
    this.opened.dispose();
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    return decodeFileContent(await this.connection.request(Request.fileContent, { uri: serverUriOf(uri) }));
  }

  async diffOf(reviewId: string): Promise<ReviewDiff> {
    return decodeReviewDiff(await this.connection.request(Request.diff, { review_id: reviewId }));
  }

  /** Opens the review's files (or only `path`) as diff editors; returns the review's diff. */
  async open(reviewId: string, path?: string): Promise<ReviewDiff> {
    const diff = await this.diffOf(reviewId);
    const files = path === undefined ? diff.files.slice(0, MAX_TABS_PER_REVIEW) : diff.files.filter((f) => f.path === path);
    if (files.length === 0) {
      void vscode.window.showInformationMessage(`Oompa: review ${reviewId} changes no files.`);
    }
    for (const [index, file] of files.entries()) {
      await this.openFile(diff, file, index === 0);
    }
    this.opened.fire(diff);
    return diff;
  }

  /** Closes the diff tabs of a review (after it was approved or rejected). */
  async close(reviewId: string): Promise<void> {
    const tabs = vscode.window.tabGroups.all
      .flatMap((group) => group.tabs)
      .filter((tab) => tab.input instanceof vscode.TabInputTextDiff && reviewIdOf(tab.input.modified) === reviewId);
    if (tabs.length > 0) {
      await vscode.window.tabGroups.close(tabs);
    }
  }

  private async openFile(diff: ReviewDiff, file: DiffFile, focus: boolean): Promise<void> {
    const base = withReview(vscode.Uri.parse(file.base_uri, true), diff.review_id);
    const head = withReview(vscode.Uri.parse(file.head_uri, true), diff.review_id);
    const title = `${file.path} (${diff.task_id}: ${diff.base.slice(0, 7)} ↔ ${diff.head.slice(0, 7)})`;
    await vscode.commands.executeCommand("vscode.diff", base, head, title, { preview: false, preserveFocus: !focus });
  }
}

/** The server's own URI: without our fragment, and not re-encoded (`?ref=` must stay as sent). */
export function serverUriOf(uri: vscode.Uri): string {
  return uri.with({ fragment: "" }).toString(true);
}

export function withReview(uri: vscode.Uri, reviewId: string): vscode.Uri {
  if (uri.scheme !== CONTENT_SCHEME) {
    return uri;
  }
  return uri.with({ fragment: `${REVIEW_FRAGMENT}${encodeURIComponent(reviewId)}` });
}

/** The review a diff URI belongs to, from its fragment. */
export function reviewIdOf(uri: vscode.Uri): string | undefined {
  if (uri.scheme !== CONTENT_SCHEME || !uri.fragment.startsWith(REVIEW_FRAGMENT)) {
    return undefined;
  }
  return decodeURIComponent(uri.fragment.slice(REVIEW_FRAGMENT.length));
}
