/**
 * The extension's composition root: one log channel, one status-bar item, the server
 * connection, the three views, the commands and the two content providers, wired together.
 * It holds no swarm logic: everything shown comes from the server (invariant 8).
 *
 * Workspace trust: the server runs code from the workspace (its .venv, the configured checks,
 * the agents), so in an untrusted workspace nothing starts; the status item and the views
 * say why, and granting trust starts the server.
 */

import * as fs from "node:fs";
import * as vscode from "vscode";
import { StatusDocument, registerCommands } from "./commands";
import { Command, ContextKey, SERVER_COMMAND_SETTING, SETTING_SECTION, STATUS_SCHEME, View } from "./contributions";
import { SwarmMirror } from "./mirror";
import { CONTENT_SCHEME, Request, decodeReviewDiff, type ReviewDiff } from "./protocol";
import { ReviewComments } from "./reviewComments";
import { ReviewDiffs, reviewIdOf } from "./reviewDiff";
import { DraftStore } from "./reviewNotes";
import { ReviewSummaries } from "./reviewSummary";
import { ServerConnection } from "./server";
import { registerRunReport } from "./runReport";
import { resolveServerCommand } from "./serverCommand";
import { statusBarFace, type ServerState } from "./status";
import { reviewFileNodes, reviewNodes, taskGroups, workerNodes, type TreeNode } from "./trees";
import { NodeTreeProvider } from "./views";

/** What the extension hands to other extensions (and to its integration tests). */
export interface OompaApi {
  readonly connection: ServerConnection;
  readonly mirror: SwarmMirror;
  readonly views: { workers: NodeTreeProvider; tasks: NodeTreeProvider; reviews: NodeTreeProvider };
  readonly review: { comments: ReviewComments; summaries: ReviewSummaries };
  statusBarText(): string;
}

const ELAPSED_TICK_MS = 1000;

/**
 * The one piece of module state: VS Code awaits only the promise `deactivate` returns, so the
 * server's orderly shutdown (agents killed, claims returned) must be reachable from there.
 */
let running: ServerConnection | undefined;

export function activate(context: vscode.ExtensionContext): OompaApi {
  const log = vscode.window.createOutputChannel("Oompa", { log: true });
  const mirror = new SwarmMirror();
  const connection = new ServerConnection({
    log,
    mirror,
    resolveCommand: () => resolveServerCommand(serverCommandSetting(), workspaceRoot(), isExecutable),
    workspaceRoot,
    reportFailure: (message, actions) => showFailure(message, actions, log),
  });
  const diffs = new ReviewDiffs(connection);
  const review = reviewParts(context, connection, diffs, mirror);
  const statusDocument = new StatusDocument();
  const views = createViews(mirror, connection);
  const statusItem = createStatusItem(connection, mirror);
  context.subscriptions.push(
    log,
    connection,
    statusItem,
    views.workers,
    views.tasks,
    views.reviews,
    vscode.window.registerTreeDataProvider(View.workers, views.workers),
    vscode.window.registerTreeDataProvider(View.tasks, views.tasks),
    vscode.window.registerTreeDataProvider(View.reviews, views.reviews),
    vscode.workspace.registerTextDocumentContentProvider(CONTENT_SCHEME, diffs),
    vscode.workspace.registerTextDocumentContentProvider(STATUS_SCHEME, statusDocument),
    diffs,
    review.comments,
    review.summaries,
    ...review.watchers,
    ...registerCommands({ connection, mirror, diffs, ...review, log, statusDocument }),
    ...registerRunReport(connection, log),
    ...watchMirror(mirror, views),
    elapsedTicker(mirror, views.workers),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void connection.start()),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration(`${SETTING_SECTION}.${SERVER_COMMAND_SETTING}`) && vscode.workspace.isTrusted) {
        void connection.reconfigure();
      }
    }),
  );
  running = connection;
  if (vscode.workspace.isTrusted) {
    void connection.start();
  } else {
    log.warn("the workspace is not trusted: the server and agents are not started");
    void connection.restrict();
  }
  return { connection, mirror, views, review, statusBarText: () => statusItem.text };
}

/** Comments and the summary go with a review's diff; both end when the review is no longer pending. */
interface ReviewParts {
  comments: ReviewComments;
  summaries: ReviewSummaries;
  watchers: vscode.Disposable[];
}

function reviewParts(context: vscode.ExtensionContext, connection: ServerConnection, diffs: ReviewDiffs, mirror: SwarmMirror): ReviewParts {
  const fetchDiff = async (reviewId: string): Promise<ReviewDiff> => decodeReviewDiff(await connection.request(Request.diff, { review_id: reviewId }));
  const comments = new ReviewComments(new DraftStore(context.workspaceState), fetchDiff);
  const summaries = new ReviewSummaries(connection);
  const opened = diffs.onDidOpen((diff) => {
    comments.show(diff);
    void summaries.show(diff.review_id).catch(() => undefined); // the diff is what matters; the summary follows
  });
  const ended = mirror.onChange((parts) => {
    if (!parts.has("reviews")) {
      return;
    }
    const pending = new Set(mirror.reviews.map((r) => r.review_id));
    for (const reviewId of comments.shownReviews().filter((id) => !pending.has(id))) {
      void comments.sent(reviewId);
      summaries.close(reviewId);
    }
  });
  // diff tabs VS Code restored after a reload get their drafts and findings back
  const restored = connection.onDidChangeState((state) => {
    if (state === "running") {
      void restoreOpenReviews(comments, fetchDiff);
    }
  });
  return { comments, summaries, watchers: [opened, restored, { dispose: ended }] };
}

async function restoreOpenReviews(comments: ReviewComments, fetchDiff: (reviewId: string) => Promise<ReviewDiff>): Promise<void> {
  const open = vscode.window.tabGroups.all
    .flatMap((group) => group.tabs)
    .map((tab) => (tab.input instanceof vscode.TabInputTextDiff ? reviewIdOf(tab.input.modified) : undefined));
  for (const reviewId of new Set(open.filter((id): id is string => id !== undefined))) {
    try {
      comments.show(await fetchDiff(reviewId));
    } catch {
      // the review is over: its tab shows a diff nobody can act on any more
    }
  }
}

export async function deactivate(): Promise<void> {
  const connection = running;
  running = undefined;
  await connection?.stop();
}

function workspaceRoot(): string | undefined {
  const folder = vscode.workspace.workspaceFolders?.[0];
  return folder?.uri.scheme === "file" ? folder.uri.fsPath : undefined;
}

function serverCommandSetting(): unknown {
  return vscode.workspace.getConfiguration(SETTING_SECTION).get<unknown>(SERVER_COMMAND_SETTING);
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function showFailure(message: string, actions: string[], log: vscode.LogOutputChannel): void {
  void vscode.window.showErrorMessage(message, ...actions).then((choice) => {
    if (choice === "Show Logs") {
      log.show();
    } else if (choice === "Restart Server") {
      void vscode.commands.executeCommand(Command.restartServer);
    }
  });
}

function createViews(mirror: SwarmMirror, connection: ServerConnection): OompaApi["views"] {
  const reviewFiles = async (node: TreeNode): Promise<TreeNode[]> => {
    const reviewId = node.id.slice("review:".length);
    const diff = decodeReviewDiff(await connection.request(Request.diff, { review_id: reviewId }));
    return reviewFileNodes(diff);
  };
  return {
    workers: new NodeTreeProvider(() => workerNodes(mirror.workers, Date.now() / 1000)),
    tasks: new NodeTreeProvider(() => taskGroups(mirror.tasks, mirror.swarm.queue)),
    reviews: new NodeTreeProvider(() => reviewNodes(mirror.reviews, (id) => mirror.task(id)), reviewFiles),
  };
}

function watchMirror(mirror: SwarmMirror, views: OompaApi["views"]): vscode.Disposable[] {
  const stop = mirror.onChange((parts) => {
    if (parts.has("workers")) {
      views.workers.refresh();
    }
    if (parts.has("tasks")) {
      views.tasks.refresh();
      views.reviews.refresh(); // review labels carry the task's summary
    } else if (parts.has("reviews")) {
      views.reviews.refresh();
    }
    if (parts.has("swarm")) {
      void vscode.commands.executeCommand("setContext", ContextKey.swarmState, mirror.swarm.state);
    }
  });
  return [{ dispose: stop }];
}

/** Workers show how long they have been in their state: refresh while the swarm runs. */
function elapsedTicker(mirror: SwarmMirror, workers: NodeTreeProvider): vscode.Disposable {
  const timer = setInterval(() => {
    if (mirror.swarm.state === "running" && mirror.workers.length > 0) {
      workers.refresh();
    }
  }, ELAPSED_TICK_MS);
  return { dispose: () => clearInterval(timer) };
}

function createStatusItem(connection: ServerConnection, mirror: SwarmMirror): vscode.StatusBarItem {
  const item = vscode.window.createStatusBarItem("oompa.status", vscode.StatusBarAlignment.Left, 50);
  item.name = "Oompa";
  const update = (state: ServerState = connection.state): void => {
    const face = statusBarFace(state, mirror.swarm, connection.lastError);
    item.text = face.text;
    item.tooltip = face.tooltip;
    item.backgroundColor = face.background === undefined ? undefined : new vscode.ThemeColor(face.background);
    item.command = state === "failed" ? Command.showLogs : state === "restricted" ? "workbench.trust.manage" : Command.showStatus;
  };
  connection.onDidChangeState(update);
  mirror.onChange(() => update());
  update();
  item.show();
  return item;
}
