/**
 * Ids of what package.json contributes (commands, views, context keys), in one place so code
 * and manifest cannot drift (a unit test compares them). Client command ids live under
 * `oompa-vscode.`: the language client registers the server's `oompa.*` ids itself.
 *
 * Must not import: vscode.
 */

export const Command = {
  startSwarm: "oompa-vscode.startSwarm",
  stopSwarm: "oompa-vscode.stopSwarm",
  showStatus: "oompa-vscode.showStatus",
  openReviewDiff: "oompa-vscode.openReviewDiff",
  approveReview: "oompa-vscode.approveReview",
  rejectReview: "oompa-vscode.rejectReview",
  requeueTask: "oompa-vscode.requeueTask",
  showLogs: "oompa-vscode.showLogs",
  restartServer: "oompa-vscode.restartServer",
} as const;

/** Commands used only from tree items (not in the palette, not in package.json). */
export const InternalCommand = {
  openTask: "oompa-vscode.openTask",
  openReviewFile: "oompa-vscode.openReviewFile",
} as const;

export const View = {
  workers: "oompa-vscode.workers",
  tasks: "oompa-vscode.tasks",
  reviews: "oompa-vscode.reviews",
} as const;

export const ContextKey = {
  swarmState: "oompa-vscode.swarmState",
} as const;

export const SETTING_SECTION = "oompa";
export const SERVER_COMMAND_SETTING = "server.command";
export const STATUS_SCHEME = "oompa-status";
