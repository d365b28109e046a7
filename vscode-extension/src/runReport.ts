/**
 * "Oompa: Show Run Report": the report of the current or last run (its timeline and tables,
 * as the server's `oompa/report` request gives it) in a webview beside the editor. The page
 * is the server's, unchanged but for a content security policy: no script runs, nothing is
 * fetched. Its colours come from the webview's theme variables, so it follows the theme.
 */

import * as vscode from "vscode";
import { Command } from "./contributions";
import { Request, decodeReport, type RunReport } from "./protocol";
import type { ServerConnection } from "./server";

const VIEW_TYPE = "oompa-vscode.runReport";
const CSP = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`;

export function registerRunReport(connection: ServerConnection, log: vscode.LogOutputChannel): vscode.Disposable[] {
  let panel: vscode.WebviewPanel | undefined;
  /** Resolves to the run shown and where its page was written (for scripts and tests). */
  const show = async (): Promise<Omit<RunReport, "html"> | undefined> => {
    let report: RunReport;
    try {
      report = decodeReport(await connection.request(Request.report, {}));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log.error(`run report: ${message}`);
      void vscode.window.showErrorMessage(`Oompa: no run report: ${message}`);
      return undefined;
    }
    if (panel === undefined) {
      panel = vscode.window.createWebviewPanel(VIEW_TYPE, "Oompa run", vscode.ViewColumn.Beside, { enableScripts: false });
      panel.onDidDispose(() => (panel = undefined));
    }
    panel.title = `Oompa run ${report.run_id}`;
    panel.webview.html = withContentPolicy(report.html);
    panel.reveal(undefined, true);
    log.info(`run report of ${report.run_id} shown (also written to ${report.path})`);
    return { run_id: report.run_id, path: report.path };
  };
  const closePanel = (): void => {
    panel?.dispose();
  };
  return [vscode.commands.registerCommand(Command.showRunReport, show), { dispose: closePanel }];
}

/** The page with a policy that lets only its own inline styles and images apply. */
export function withContentPolicy(html: string): string {
  return html.includes("<head>") ? html.replace("<head>", `<head>${CSP}`) : `${CSP}${html}`;
}
