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
  resumeQueue: "oompa-vscode.resumeQueue",
  showRunReport: "oompa-vscode.showRunReport",
  showReviewSummary: "oompa-vscode.showReviewSummary",
} as const;

/** The comment threads' actions on a review's diff (in the comments UI only, not the palette). */
export const CommentCommand = {
  add: "oompa-vscode.addReviewComment",
  deleteDraft: "oompa-vscode.deleteReviewComment",
  include: "oompa-vscode.includeFinding",
  exclude: "oompa-vscode.excludeFinding",
  resolve: "oompa-vscode.resolveFinding",
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

/**
 * Which client command handles a server command invoked from a code lens (VS Code runs lens
 * commands through the language client). The client commands add what the editor can do: a
 * diff editor for Open Diff, a feedback box for Reject, the trust check for Start, and an
 * error message when the server refuses. Anything else goes to the server as it is.
 */
export function routeServerCommand(command: string, args: readonly unknown[]): [string, unknown[]] | undefined {
  const [first] = args;
  switch (command) {
    case "oompa.startSwarm":
      return [Command.startSwarm, []];
    case "oompa.stopSwarm":
      return [Command.stopSwarm, []];
    case "oompa.openDiff":
      return typeof first === "string" ? [Command.openReviewDiff, [first]] : undefined;
    case "oompa.approve":
      return typeof first === "string" ? [Command.approveReview, [first]] : undefined;
    case "oompa.reject":
      // with feedback already given (another client, a script), the server gets it as it is
      return typeof first === "string" && args.length === 1 ? [Command.rejectReview, [first]] : undefined;
    case "oompa.requeue":
      return typeof first === "string" ? [Command.requeueTask, [first]] : undefined;
    default:
      return undefined;
  }
}

export const SETTING_SECTION = "oompa";
export const SERVER_COMMAND_SETTING = "server.command";
export const STATUS_SCHEME = "oompa-status";
