/**
 * The connection to oompa-lsp: starts the server process, owns its lifetime, feeds the
 * server's notifications into the mirror and carries requests and commands to it.
 *
 * Start, stop and restart are serialized (one at a time, in order; a restart asked for while
 * one is already waiting joins it). A failed start or an unexpected exit is reported once,
 * with the reason and what to do; the language client's own pop-ups are silenced for that.
 * The process is spawned here (not by the language client) so its stderr can be sorted by
 * level instead of landing in the log as a wall of errors.
 */

import { spawn, type ChildProcess } from "node:child_process";
import * as vscode from "vscode";
import {
  CloseAction,
  ErrorAction,
  ExecuteCommandRequest,
  LanguageClient,
  RevealOutputChannelOn,
  type LanguageClientOptions,
  type StreamInfo,
} from "vscode-languageclient/node";
import { routeServerCommand } from "./contributions";
import type { SwarmMirror } from "./mirror";
import {
  Notification,
  Request,
  decodeLog,
  decodeReview,
  decodeReviewResolved,
  decodeSnapshot,
  decodeSwarmState,
  decodeTask,
  decodeWorker,
  type LogMessage,
} from "./protocol";
import { describeCommand, startFailureAdvice, type ServerCommand } from "./serverCommand";
import { StderrSorter, failureLine } from "./serverLog";
import type { ServerState } from "./status";

/** A request made while no server runs, or a server that did not start. */
export class ServerUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ServerUnavailableError";
  }
}

/**
 * The extension reports failures itself, once and with a fix: the client only logs them. Its
 * own clean-up after a failed initialize calls stop() without waiting; a refusal there (the
 * client never ran) is expected and only logged.
 */
class QuietLanguageClient extends LanguageClient {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the base class types `data` as any
  override error(message: string, data?: any, _showNotification?: boolean | "force"): void {
    super.error(message, data, false);
  }

  override async stop(timeout?: number): Promise<void> {
    try {
      await super.stop(timeout);
    } catch (error) {
      this.info(`stop: ${error instanceof Error ? error.message : String(error)}`, undefined, false);
    }
  }
}

export interface ServerConnectionOptions {
  log: vscode.LogOutputChannel;
  mirror: SwarmMirror;
  resolveCommand: () => ServerCommand;
  workspaceRoot: () => string | undefined;
  /** Shows one error with actions; returns nothing the connection waits on. */
  reportFailure: (message: string, actions: string[]) => void;
}

/** How long the server gets to shut down before its process group is killed. */
const STOP_GRACE_MS = 4000;
/** How long the server gets to answer `initialize`. */
const START_TIMEOUT_MS = 30_000;
/** Quiet time after a burst of notifications before the mirror is reconciled with a snapshot. */
const RECONCILE_DELAY_MS = 800;

export class ServerConnection implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private child: ChildProcess | undefined;
  private queue: Promise<void> = Promise.resolve();
  private queuedRestart: Promise<void> | undefined;
  private currentState: ServerState = "stopped";
  private error: string | undefined;
  /** The failure last shown to the user; the same one is not shown again until a start succeeds. */
  private reportedFailure: string | undefined;
  /** The command of the server running (or last tried), to restart only when it changes. */
  private command: ServerCommand | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private readonly stateChanged = new vscode.EventEmitter<ServerState>();
  readonly onDidChangeState = this.stateChanged.event;

  constructor(private readonly options: ServerConnectionOptions) {}

  get state(): ServerState {
    return this.currentState;
  }

  /** Why the server is not running, when it failed. */
  get lastError(): string | undefined {
    return this.error;
  }

  start(): Promise<void> {
    return this.serialize(() => this.startNow());
  }

  stop(): Promise<void> {
    return this.serialize(() => this.stopNow("stopped"));
  }

  restart(): Promise<void> {
    if (this.queuedRestart === undefined) {
      this.queuedRestart = this.serialize(async () => {
        this.queuedRestart = undefined;
        await this.stopNow("stopped");
        await this.startNow();
      });
    }
    return this.queuedRestart;
  }

  /** Restarts when the configured command differs from the one in use (settings changed). */
  reconfigure(): Promise<void> {
    return this.serialize(async () => {
      const next = this.options.resolveCommand();
      if (this.command !== undefined && describeCommand(next) === describeCommand(this.command)) {
        return;
      }
      await this.stopNow("stopped");
      await this.startNow();
    });
  }

  /** Marks the connection as not allowed to run (untrusted workspace), stopping any server. */
  restrict(): Promise<void> {
    return this.serialize(() => this.stopNow("restricted"));
  }

  async request(method: string, params: unknown): Promise<unknown> {
    return this.runningClient().sendRequest(method, params);
  }

  async executeCommand(command: string, args: unknown[]): Promise<unknown> {
    return this.runningClient().sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
  }

  /** Re-reads the whole snapshot from the server into the mirror. */
  async refresh(): Promise<void> {
    const snapshot = decodeSnapshot(await this.request(Request.status, {}));
    this.options.mirror.applySnapshot(snapshot);
  }

  dispose(): void {
    void this.stop();
    this.stateChanged.dispose();
  }

  private runningClient(): LanguageClient {
    if (this.client === undefined || this.currentState !== "running") {
      const why = this.currentState === "restricted" ? "the workspace is not trusted" : (this.error ?? `it is ${this.currentState}`);
      throw new ServerUnavailableError(`The Oompa server is not running (${why}).`);
    }
    return this.client;
  }

  private serialize(step: () => Promise<void>): Promise<void> {
    const next = this.queue.then(step, step);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private setState(state: ServerState): void {
    if (state !== this.currentState) {
      this.currentState = state;
      this.stateChanged.fire(state);
    }
  }

  private async startNow(): Promise<void> {
    if (this.client !== undefined) {
      return;
    }
    const command = this.options.resolveCommand();
    const sorter = new StderrSorter();
    this.command = command;
    this.error = undefined;
    this.setState("starting");
    this.options.log.info(`starting the server: ${describeCommand(command)} (from ${command.source})`);
    const client = new QuietLanguageClient("oompa", "Oompa", () => this.spawnServer(command, sorter), this.clientOptions(command, sorter));
    this.listen(client);
    this.client = client;
    const failure = await startClient(client);
    if (failure !== undefined) {
      await this.abandon(client);
      this.fail(command, `did not start: ${reasonOf(failure, sorter)}`, startFailureAdvice(command));
      return;
    }
    if (this.client === client) {
      this.reportedFailure = undefined;
      this.setState("running");
      this.options.log.info("the server is running");
      await this.refresh().catch((error: unknown) => this.options.log.warn(`oompa/status failed: ${String(error)}`));
    }
  }

  private clientOptions(command: ServerCommand, sorter: StderrSorter): LanguageClientOptions {
    return {
      documentSelector: [
        { scheme: "file", language: "markdown" },
        { scheme: "file", language: "json" },
        { scheme: "file", language: "jsonc" },
      ],
      outputChannel: this.options.log,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      // the model's findings are comment threads on the diff here (reviewComments.ts), not squiggles
      initializationOptions: { findingDiagnostics: false },
      middleware: {
        // code lenses run server commands: some are better served by the client's commands
        executeCommand: (serverCommand, args, next): vscode.ProviderResult<unknown> => {
          const route = routeServerCommand(serverCommand, args);
          return route ? vscode.commands.executeCommand<unknown>(route[0], ...route[1]) : (next(serverCommand, args) as vscode.ProviderResult<unknown>);
        },
      },
      initializationFailedHandler: () => false,
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue, handled: true }),
        closed: () => {
          this.onClosed(command, sorter);
          return { action: CloseAction.DoNotRestart, handled: true };
        },
      },
    };
  }

  private spawnServer(command: ServerCommand, sorter: StderrSorter): Promise<StreamInfo> {
    return new Promise((resolve, reject) => {
      // its own process group, so a server that ignores shutdown can be ended with its children
      const child = spawn(command.command, command.args, {
        cwd: this.options.workspaceRoot(),
        env: { ...process.env, OOMPA_CLIENT: "vscode" },
        stdio: ["pipe", "pipe", "pipe"],
        detached: true,
      });
      this.child = child;
      child.once("error", (error) => reject(error));
      child.once("spawn", () => resolve({ reader: child.stdout, writer: child.stdin }));
      child.stderr.setEncoding("utf8");
      child.stderr.on("data", (chunk: string) => this.logStderr(sorter.push(chunk)));
      child.once("exit", (code, signal) => {
        this.logStderr(sorter.flush());
        this.options.log.info(`the server exited (${signal ?? `code ${String(code)}`})`);
        if (this.child === child) {
          this.child = undefined;
        }
      });
    });
  }

  private logStderr(lines: ReturnType<StderrSorter["push"]>): void {
    for (const line of lines) {
      this.options.log[line.level](`[server] ${line.text}`);
    }
  }

  private listen(client: LanguageClient): void {
    const mirror = this.options.mirror;
    this.onServerNotification(client, Notification.swarmState, (p) => mirror.applySwarmState(decodeSwarmState(p)), true);
    this.onServerNotification(client, Notification.workerUpdated, (p) => mirror.applyWorker(decodeWorker(p)), false);
    this.onServerNotification(client, Notification.taskUpdated, (p) => mirror.applyTask(decodeTask(p)), true);
    this.onServerNotification(client, Notification.reviewRequested, (p) => mirror.applyReview(decodeReview(p)), true);
    this.onServerNotification(client, Notification.reviewResolved, (p) => mirror.applyReviewResolved(decodeReviewResolved(p)), true);
    this.onServerNotification(client, Notification.log, (p) => this.logServerMessage(decodeLog(p)), false);
  }

  private onServerNotification(client: LanguageClient, method: string, apply: (params: unknown) => void, reconcile: boolean): void {
    client.onNotification(method, (params: unknown) => {
      try {
        apply(params);
      } catch (error) {
        this.options.log.warn(`ignored a malformed ${method}: ${String(error)}`);
      }
      if (reconcile) {
        this.scheduleReconcile();
      }
    });
  }

  /** Some changes have no notification of their own (a review decided): a snapshot settles them. */
  private scheduleReconcile(): void {
    clearTimeout(this.reconcileTimer);
    this.reconcileTimer = setTimeout(() => {
      if (this.currentState === "running") {
        this.refresh().catch((error: unknown) => this.options.log.warn(`oompa/status failed: ${String(error)}`));
      }
    }, RECONCILE_DELAY_MS);
  }

  private logServerMessage(message: LogMessage): void {
    const text = message.worker ? `${message.worker}: ${message.message}` : message.message;
    const level = message.level === "warning" ? "warn" : message.level;
    this.options.log[level](text);
  }

  private onClosed(command: ServerCommand, sorter: StderrSorter): void {
    if (this.currentState !== "running") {
      return; // a start in progress reports its own failure
    }
    this.client = undefined;
    this.options.mirror.clear();
    const advice = "Restart it with \"Oompa: Restart Server\"; the log (\"Oompa: Show Logs\") has what it wrote last.";
    this.fail(command, `stopped unexpectedly: ${reasonOf(undefined, sorter)}`, advice);
  }

  private fail(command: ServerCommand, what: string, advice: string): void {
    this.error = what;
    this.setState("failed");
    const message = `Oompa: the server (${describeCommand(command)}) ${what}. ${advice}`;
    this.options.log.error(message);
    if (message !== this.reportedFailure) {
      this.reportedFailure = message;
      this.options.reportFailure(message, ["Show Logs", "Restart Server"]);
    }
  }

  private async abandon(client: LanguageClient): Promise<void> {
    if (this.client === client) {
      this.client = undefined;
    }
    await client.dispose(STOP_GRACE_MS).catch(() => undefined);
    await this.endProcess();
  }

  private async stopNow(next: "stopped" | "restricted"): Promise<void> {
    clearTimeout(this.reconcileTimer);
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      this.options.log.info("stopping the server");
      await client.stop(STOP_GRACE_MS).catch((error: unknown) => this.options.log.warn(`stop: ${String(error)}`));
    }
    await this.endProcess();
    this.options.mirror.clear();
    this.error = undefined;
    this.setState(next);
  }

  /** Waits for the server process to exit after shutdown; kills its group when it does not. */
  private async endProcess(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    const exited = new Promise<boolean>((resolve) => {
      child.once("exit", () => resolve(true));
      setTimeout(() => resolve(false), STOP_GRACE_MS);
    });
    if (!(await exited) && child.pid !== undefined) {
      this.options.log.warn("the server did not exit after shutdown: killing it");
      killGroup(child.pid);
    }
  }
}

/**
 * Starts the client; returns why it did not come up, if it did not. `start()` can resolve
 * although the server exited during `initialize` (the client drops its own rejection when the
 * connection closes first), so the client's state is checked too; a server that never answers
 * `initialize` is given up on after START_TIMEOUT_MS.
 */
async function startClient(client: LanguageClient): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Error>((resolve) => {
    timer = setTimeout(() => resolve(new Error(`no answer to initialize within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
  });
  const started = client.start();
  // A second start() while one is under way returns the client's own start promise; observing
  // it keeps the rejection the client drops on an early close from surfacing as unhandled.
  client.start().catch(() => undefined);
  try {
    const outcome = await Promise.race([started.then(() => undefined), timeout]);
    if (outcome !== undefined) {
      return outcome;
    }
    return client.isRunning() ? undefined : new Error("the server exited during start-up");
  } catch (error) {
    return error;
  } finally {
    clearTimeout(timer);
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

function reasonOf(error: unknown, sorter: StderrSorter): string {
  const spawnError = error as NodeJS.ErrnoException | undefined;
  if (spawnError?.code === "ENOENT") {
    return `command not found (${spawnError.path ?? "?"})`;
  }
  if (spawnError?.code === "EACCES") {
    return `permission denied (${spawnError.path ?? "?"})`;
  }
  const fromStderr = failureLine(sorter.lastLines());
  if (fromStderr !== undefined) {
    return fromStderr;
  }
  return error instanceof Error ? error.message : "the process exited";
}
