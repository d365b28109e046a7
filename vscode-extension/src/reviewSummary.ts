/**
 * A review's summary beside its diff: the server's `oompa/reviewSummary` markdown (task,
 * acceptance criteria, checks, every review round, findings with no place, cost so far),
 * rendered by VS Code's own markdown renderer in a webview that follows the theme, with
 * Approve and Request Changes buttons that run the extension's commands.
 */

import * as vscode from "vscode";
import { Command } from "./contributions";
import { Request, decodeReviewSummary } from "./protocol";
import type { ServerConnection } from "./server";

export const SUMMARY_VIEW_TYPE = "oompa-vscode.reviewSummary";

export class ReviewSummaries implements vscode.Disposable {
  private readonly panels = new Map<string, vscode.WebviewPanel>();

  constructor(private readonly connection: ServerConnection) {}

  dispose(): void {
    for (const panel of this.panels.values()) {
      panel.dispose();
    }
    this.panels.clear();
  }

  /** Opens (or refreshes) the summary of a review beside the editor, keeping focus where it is. */
  async show(reviewId: string): Promise<vscode.WebviewPanel> {
    const markdown = decodeReviewSummary(await this.connection.request(Request.reviewSummary, { review_id: reviewId }));
    const panel = this.panels.get(reviewId) ?? this.createPanel(reviewId);
    panel.webview.html = page(await renderMarkdown(markdown), panel.webview.cspSource, nonce());
    panel.reveal(vscode.ViewColumn.Beside, true);
    return panel;
  }

  /** Whether the summary of a review is open. */
  isShown(reviewId: string): boolean {
    return this.panels.has(reviewId);
  }

  close(reviewId: string): void {
    this.panels.get(reviewId)?.dispose();
  }

  private createPanel(reviewId: string): vscode.WebviewPanel {
    const panel = vscode.window.createWebviewPanel(
      SUMMARY_VIEW_TYPE,
      `Review ${reviewId}`,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true, enableCommandUris: false },
    );
    this.panels.set(reviewId, panel);
    panel.onDidDispose(() => this.panels.delete(reviewId));
    panel.webview.onDidReceiveMessage((message: unknown) => {
      const action = (message as { action?: unknown } | undefined)?.action;
      const command = action === "approve" ? Command.approveReview : action === "requestChanges" ? Command.rejectReview : undefined;
      if (command !== undefined) {
        void vscode.commands.executeCommand(command, reviewId);
      }
    });
    return panel;
  }
}

async function renderMarkdown(markdown: string): Promise<string> {
  try {
    // the built-in markdown extension's renderer: the same rendering as a markdown preview
    const html = await vscode.commands.executeCommand<string>("markdown.api.render", markdown);
    if (typeof html === "string") {
      return html;
    }
  } catch {
    // no markdown extension: show the text as it is
  }
  return `<pre>${escapeHtml(markdown)}</pre>`;
}

function page(body: string, cspSource: string, scriptNonce: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${cspSource} 'unsafe-inline'; script-src 'nonce-${scriptNonce}';">
<style>
  body { color: var(--vscode-foreground); background: var(--vscode-editor-background); font-family: var(--vscode-font-family); line-height: 1.5; padding: 0 1.5em 2em; }
  code, pre { font-family: var(--vscode-editor-font-family); background: var(--vscode-textCodeBlock-background); }
  blockquote { border-left: 3px solid var(--vscode-textBlockQuote-border); margin: 0; padding-left: 1em; color: var(--vscode-descriptionForeground); }
  .actions { position: sticky; top: 0; background: var(--vscode-editor-background); padding: 0.8em 0; display: flex; gap: 0.6em; }
  button { color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none; padding: 0.4em 1em; cursor: pointer; }
  button:hover { background: var(--vscode-button-hoverBackground); }
  button.secondary { color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); }
</style></head>
<body>
<div class="actions"><button id="approve">Approve</button><button id="requestChanges" class="secondary">Request Changes</button></div>
${body}
<script nonce="${scriptNonce}">
  const vscode = acquireVsCodeApi();
  for (const id of ["approve", "requestChanges"]) {
    document.getElementById(id).addEventListener("click", () => vscode.postMessage({ action: id }));
  }
</script>
</body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function nonce(): string {
  let out = "";
  for (let i = 0; i < 24; i += 1) {
    out += Math.floor(Math.random() * 36).toString(36);
  }
  return out;
}
