/**
 * API-level tests inside a real VS Code's extension host, against the real language server
 * and a swarm of the repository's scripted fake agents (see test/e2e/driver/workspace.ts for
 * the project they open). They run in order: one swarm, followed from start to merge.
 */

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import type { OompaApi } from "../../../src/extension";
import { Command } from "../../../src/contributions";
import type { TreeNode } from "../../../src/trees";
import type { WorkspaceFacts } from "../driver/workspace";
import { waitFor } from "./waiting";

const facts = JSON.parse(process.env.OOMPA_E2E_FACTS ?? "{}") as WorkspaceFacts;
const EXTENSION_ID = "oompa.oompa-vscode";

function file(relative: string): vscode.Uri {
  return vscode.Uri.file(path.join(facts.folder, relative));
}

function gitLog(): string {
  return execFileSync("git", ["log", "--format=%s", "main"], { cwd: facts.folder, encoding: "utf8" });
}

function gitShow(spec: string): string {
  return execFileSync("git", ["show", spec], { cwd: facts.folder, encoding: "utf8" });
}

async function labels(provider: vscode.TreeDataProvider<TreeNode>, parent?: TreeNode): Promise<string[]> {
  const children = (await provider.getChildren(parent)) ?? [];
  return children.map((node) => node.label);
}

/** The language server's pid: the extension host's child running oompa-lsp. */
function serverPid(): number | undefined {
  for (const entry of fs.readdirSync("/proc")) {
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const command = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (parent === process.pid && command.includes("oompa-lsp")) {
        return Number(entry);
      }
    } catch {
      // gone, or not a process
    }
  }
  return undefined;
}

function diffTabs(): vscode.TabInputTextDiff[] {
  return vscode.window.tabGroups.all
    .flatMap((group) => group.tabs)
    .map((tab) => tab.input)
    .filter((input): input is vscode.TabInputTextDiff => input instanceof vscode.TabInputTextDiff);
}

describe("Oompa in a real VS Code", function () {
  let api: OompaApi;

  before(async () => {
    const extension = vscode.extensions.getExtension<OompaApi>(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is loaded`);
    api = await extension.activate();
  });

  after(async () => {
    await vscode.commands.executeCommand(Command.stopSwarm);
  });

  it("activates on the workspace and starts the server from oompa.server.command", async () => {
    await waitFor("the server to run", () => api.connection.state === "running" || (api.connection.state === "failed" && Promise.reject(new Error(api.connection.lastError))));
    assert.match(api.statusBarText(), /Oompa/);
  });

  it("shows the swarm's code lenses and the spec items' diagnostics on spec.md", async () => {
    const spec = file("spec.md");
    await vscode.window.showTextDocument(spec);
    const lenses = await waitFor("code lenses on spec.md", async () => {
      const found = await vscode.commands.executeCommand<vscode.CodeLens[]>("vscode.executeCodeLensProvider", spec, 100);
      return found.length > 0 && found;
    });
    const titles = lenses.map((lens) => lens.command?.title ?? "");
    assert.ok(titles.some((t) => /start/i.test(t)), `a Start lens among ${JSON.stringify(titles)}`);
    const diagnostics = await waitFor("diagnostics on spec.md", () => {
      const found = vscode.languages.getDiagnostics(spec);
      return found.length > 0 && found;
    });
    const unlinked = diagnostics.find((d) => d.range.start.line === 4);
    assert.ok(unlinked, `the item no task implements (line 5) has a diagnostic: ${JSON.stringify(diagnostics.map((d) => [d.range.start.line, d.message]))}`);
    assert.equal(unlinked.severity, vscode.DiagnosticSeverity.Hint);
  });

  it("underlines a task file's schema error as the user types, before saving", async () => {
    const uri = file(`tasks/pending/${facts.taskIds[1] ?? ""}.json`);
    const editor = await vscode.window.showTextDocument(uri);
    const text = editor.document.getText();
    const summaryLine = text.split("\n").findIndex((line) => line.includes('"summary"'));
    const at = editor.document.lineAt(summaryLine).range;
    await editor.edit((edit) => edit.replace(at, '  "summary": 42,'));
    const error = await waitFor("an Error diagnostic on the edited task file", () =>
      vscode.languages.getDiagnostics(uri).find((d) => d.severity === vscode.DiagnosticSeverity.Error),
    );
    assert.equal(error.range.start.line, summaryLine, `the error is on the summary line: ${error.message}`);
    await vscode.commands.executeCommand("workbench.action.files.revert");
    await waitFor("the error to go once the buffer is valid again", () =>
      !vscode.languages.getDiagnostics(uri).some((d) => d.severity === vscode.DiagnosticSeverity.Error),
    );
    await vscode.commands.executeCommand("workbench.action.closeActiveEditor");
  });

  it("starts a swarm of scripted agents and fills the Workers, Tasks and Reviews views", async () => {
    await vscode.commands.executeCommand(Command.startSwarm);
    await waitFor("the swarm to run", () => api.mirror.swarm.state === "running");
    const workers = await waitFor("workers in the Workers view", async () => {
      const found = await labels(api.views.workers);
      return found.length === 2 && found;
    });
    assert.deepEqual(workers.length, 2);
    const groups = await labels(api.views.tasks);
    assert.ok(groups.length > 0, "the Tasks view has groups");
    await waitFor("both tasks to await review in the Reviews view", async () => (await labels(api.views.reviews)).length === 2, 90_000);
    // the summary arrives with oompa/swarmState, which the server throttles
    await waitFor("the status bar to count the reviews", () => /2 in review/.test(api.statusBarText()), 5000);
    const tasks = await api.views.tasks.getChildren();
    const inProgress = tasks?.find((group) => group.label === "In progress");
    assert.ok(inProgress, `an In progress group among ${JSON.stringify(groups)}`);
    assert.deepEqual((await labels(api.views.tasks, inProgress)).sort(), [...facts.taskIds].sort());
  });

  it("opens a review's change from its lens as a diff editor: base on the left, the worker's head on the right", async () => {
    const review = api.mirror.reviews.find((r) => r.task_id === facts.taskIds[0]);
    assert.ok(review, "the first task has a pending review");
    // as a click on the spec.md lens "Open Diff" does: the server's command, through the client
    await vscode.commands.executeCommand("oompa.openDiff", review.review_id);
    const tab = await waitFor("a diff editor of oompa-git documents", () => diffTabs().find((t) => t.modified.scheme === "oompa-git"));
    const change = facts.changes[review.task_id];
    assert.ok(change);
    assert.ok(tab.modified.path.endsWith(change.file), `the diff shows ${change.file}: ${tab.modified.toString()}`);
    const head = await vscode.workspace.openTextDocument(tab.modified);
    const base = await vscode.workspace.openTextDocument(tab.original);
    assert.equal(head.getText().trim(), change.line);
    assert.equal(base.getText(), "", "the file is new: empty on the base side");
    const files = await api.views.reviews.getChildren((await api.views.reviews.getChildren())?.find((n) => n.id === `review:${review.review_id}`));
    assert.deepEqual(files?.map((f) => [f.label, f.description]), [[change.file, "added"]]);
  });

  it("approves the review: the change merges into main and the diff editor closes", async () => {
    const review = api.mirror.reviews.find((r) => r.task_id === facts.taskIds[0]);
    assert.ok(review);
    assert.equal(await vscode.commands.executeCommand(Command.approveReview, review.review_id), true);
    await waitFor("the task to be merged", () => api.mirror.task(review.task_id)?.state === "complete");
    const change = facts.changes[review.task_id];
    assert.ok(change);
    assert.equal(gitShow(`main:${change.file}`).trim(), change.line);
    assert.equal(diffTabs().filter((t) => t.modified.scheme === "oompa-git").length, 0, "the review's diff tabs are closed");
    assert.ok(!api.mirror.reviews.some((r) => r.review_id === review.review_id), "the review left the Reviews view");
  });

  it("rejects the other review with feedback, which goes back to the worker for a new round", async () => {
    const review = api.mirror.reviews.find((r) => r.task_id === facts.taskIds[1]);
    assert.ok(review);
    const feedback = "Say it in capitals, please.";
    await vscode.commands.executeCommand(Command.rejectReview, review.review_id, feedback);
    const task = await waitFor("the feedback to reach the task", () => {
      const t = api.mirror.task(review.task_id);
      return t?.last_feedback === feedback && t;
    });
    assert.equal(task.state, "current");
    const again = await waitFor("a second review round", () => api.mirror.reviews.find((r) => r.task_id === review.task_id && r.round === 2), 90_000);
    await vscode.commands.executeCommand(Command.approveReview, again.review_id);
    await waitFor("the second task to be merged", () => api.mirror.task(review.task_id)?.state === "complete");
    assert.ok(gitLog().length > 0);
  });

  it("opens a task's file from the Tasks view", async () => {
    const merged = (await api.views.tasks.getChildren())?.find((group) => group.label === "Merged");
    assert.ok(merged, "a Merged group");
    const [task] = (await api.views.tasks.getChildren(merged)) ?? [];
    assert.ok(task?.command, "a task node with a click command");
    await vscode.commands.executeCommand(task.command.command, ...task.command.arguments);
    const editor = await waitFor("the task file in an editor", () => vscode.window.activeTextEditor);
    assert.equal(editor.document.uri.fsPath, path.join(facts.folder, "tasks", "complete", `${task.label}.json`));
    await vscode.commands.executeCommand("workbench.action.closeActiveEditor");
  });

  it("shows the status as a document", async () => {
    assert.equal(await vscode.commands.executeCommand(Command.showStatus), true);
    const document = await waitFor("the status document", () => vscode.window.activeTextEditor?.document.uri.scheme === "oompa-status" && vscode.window.activeTextEditor.document);
    assert.match(document.getText(), /## Merged \(2\)/);
  });

  it("stops the swarm", async () => {
    await vscode.commands.executeCommand(Command.stopSwarm);
    await waitFor("the swarm to stop", () => api.mirror.swarm.state === "stopped" || api.mirror.swarm.state === "idle");
  });

  it("shows the run's report in a webview: a lane per worker, a mark per landing", async () => {
    const shown = await vscode.commands.executeCommand<{ run_id: string; path: string } | undefined>(Command.showRunReport);
    assert.ok(shown, "the command resolves to the run it shows");
    const html = fs.readFileSync(shown.path, "utf8");
    const lanes = [...html.matchAll(/<g id="lane-([\w-]+?)">/g)].map((m) => m[1]);
    assert.deepEqual(lanes, [...api.mirror.workers.map((w) => w.id), "merge-queue"]);
    assert.ok(html.includes(`<g id="landing-${facts.taskIds[0] ?? ""}">`), "the merged task's landing is marked");
    // the tab appears once the workbench has opened the panel, a moment after the command
    const tab = await waitFor("the report's webview tab", () =>
      vscode.window.tabGroups.all.flatMap((group) => group.tabs).find((t) => t.label === `Oompa run ${shown.run_id}`),
    );
    const input = tab.input as { viewType?: string } | undefined;
    assert.ok(input?.viewType?.includes("oompa-vscode.runReport"), `a webview of the report, got ${JSON.stringify(input)}`);
  });

  it("passes on the server's refusal: a merged task cannot be requeued", async () => {
    const taskId = facts.taskIds[0] ?? "";
    // the command shows the server's reason and resolves to nothing (no second, generic error)
    assert.equal(await vscode.commands.executeCommand(Command.requeueTask, taskId), undefined);
    assert.equal(api.mirror.task(taskId)?.state, "complete");
  });

  it("reports a server that does not start once, with the reason, and recovers on a good command", async () => {
    const settings = vscode.workspace.getConfiguration("oompa");
    const good = settings.get<string[]>("server.command");
    await settings.update("server.command", ["/nonexistent/oompa-lsp"], vscode.ConfigurationTarget.Workspace);
    await waitFor("the start to fail", () => api.connection.state === "failed");
    assert.match(api.connection.lastError ?? "", /command not found \(\/nonexistent\/oompa-lsp\)/);
    assert.equal(api.statusBarText(), "$(error) Oompa");
    assert.equal(await vscode.commands.executeCommand(Command.showStatus), undefined, "Show Status fails while no server runs");
    // a server that starts and dies at once: the reason comes from its stderr
    await settings.update("server.command", ["python3", "-m", "oompa_no_such_module"], vscode.ConfigurationTarget.Workspace);
    await waitFor("the second start to fail", () => api.connection.state === "failed" && /No module named/.test(api.connection.lastError ?? ""));
    await settings.update("server.command", good, vscode.ConfigurationTarget.Workspace);
    await waitFor("the server to run again", () => api.connection.state === "running");
  });

  it("serializes restarts: several at once leave exactly one running server", async () => {
    await Promise.all([1, 2, 3].map(() => vscode.commands.executeCommand(Command.restartServer)));
    assert.equal(api.connection.state, "running");
    const status = await api.connection.request("oompa/status", {});
    assert.ok(status && typeof status === "object");
  });

  it("reports a server that dies, and Restart Server brings it back", async () => {
    const pid = await waitFor("the server's process", () => serverPid());
    process.kill(pid, "SIGKILL");
    await waitFor("the connection to fail", () => api.connection.state === "failed");
    assert.match(api.connection.lastError ?? "", /stopped unexpectedly/);
    assert.equal(api.mirror.workers.length, 0, "nothing shown pretends to be live");
    await vscode.commands.executeCommand(Command.restartServer);
    assert.equal(api.connection.state, "running");
    assert.notEqual(serverPid(), pid);
  });
});
