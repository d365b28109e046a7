/**
 * The throwaway project the integration tests open: a git repository with a `spec.md`, task
 * files, and an `oompa.json` whose workers are the repository's scripted fake agent
 * (tests/fake_agent.py) behind a command harness, with human review so the editor approves
 * or rejects the work. Its language server is the repository's `.venv/bin/oompa-lsp`.
 * Everything lives under one run folder: the project, the agents' worktrees and the agent
 * script (with the call log the fake agent keeps beside it).
 */

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_DIR } from "./codeServer";

export const VENV_PYTHON = path.join(REPO_DIR, ".venv", "bin", "python");
export const VENV_SERVER = path.join(REPO_DIR, ".venv", "bin", "oompa-lsp");
export const FAKE_AGENT = path.join(REPO_DIR, "tests", "fake_agent.py");

/** What the API tests are told about the workspace (through the extension host's environment). */
export interface WorkspaceFacts {
  folder: string;
  taskIds: string[];
  /** The file each task's agent writes, and the line it writes there. */
  changes: Record<string, { file: string; line: string }>;
  /** Every file each task's first turn writes (a review of it changes these). */
  changedFiles: Record<string, string[]>;
}

export interface WorkspaceOptions {
  /** Set `oompa.server.command` in .vscode/settings.json (else the extension finds `.venv`). */
  serverSetting: boolean;
  /** `model+human`: a scripted model reviewer approves first, with findings (see reviewerAnswer). */
  review?: "human" | "model+human";
}

interface TaskSpec {
  id: string;
  summary: string;
  spec: string;
  file: string;
  line: string;
  /** Another file the first turn writes (so a review has two files to comment on). */
  extra?: { file: string; text: string };
}

const TASKS: TaskSpec[] = [
  { id: "greeting", summary: "Add a greeting module", spec: "A greeting", file: "greeting.txt", line: "hello from the swarm" },
  {
    id: "farewell",
    summary: "Add a farewell module",
    spec: "A farewell",
    file: "farewell.txt",
    line: "goodbye from the swarm",
    extra: { file: "notes/farewell.md", text: "# Farewell\n\nSaid when the swarm stops.\n" },
  },
];

/** What the scripted model reviewer answers on a task: approved, with findings (one without a place). */
export function reviewerAnswer(file: string): string {
  return `Looks right.\nVERDICT: APPROVED\n1. ${file}:1 should end with a full stop\n2. The README does not say what the new file is for\n`;
}

export function makeWorkspace(root: string, options: WorkspaceOptions): WorkspaceFacts {
  const folder = path.join(root, "project");
  fs.mkdirSync(folder, { recursive: true });
  git(folder, "init", "-q", "-b", "main");
  git(folder, "config", "user.email", "e2e@oompa.invalid");
  git(folder, "config", "user.name", "oompa e2e");
  writeSpec(folder);
  writeTasks(folder);
  writeConfig(folder, root, options.review ?? "human");
  fs.writeFileSync(path.join(folder, "README.md"), "A project the oompa e2e tests drive.\n");
  git(folder, "add", "-A");
  git(folder, "commit", "-q", "-m", "Project, spec and tasks");
  // editor settings and the venv link are the user's local files, not the project's
  fs.appendFileSync(path.join(folder, ".git", "info", "exclude"), ".vscode/\n.venv\n");
  writeEditorSettings(folder, options);
  return {
    folder,
    taskIds: TASKS.map((t) => t.id),
    changes: Object.fromEntries(TASKS.map((t) => [t.id, { file: t.file, line: t.line }])),
    changedFiles: Object.fromEntries(TASKS.map((t) => [t.id, [t.file, ...(t.extra ? [t.extra.file] : [])]])),
  };
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8" });
}

function writeSpec(folder: string): void {
  const items = TASKS.map((t) => `- [ ] ${t.spec}`).join("\n");
  const text = `# What we build\n\n${items}\n- [ ] Something no task implements yet\n`;
  fs.writeFileSync(path.join(folder, "spec.md"), text);
}

function writeTasks(folder: string): void {
  const pending = path.join(folder, "tasks", "pending");
  fs.mkdirSync(pending, { recursive: true });
  for (const dir of ["current", "complete", "failed"]) {
    fs.mkdirSync(path.join(folder, "tasks", dir), { recursive: true });
    fs.writeFileSync(path.join(folder, "tasks", dir, ".gitkeep"), "");
  }
  for (const task of TASKS) {
    const body = {
      id: task.id,
      summary: task.summary,
      description: `Create ${task.file} containing one line.`,
      acceptance: [`${task.file} exists and says "${task.line}"`],
      files: [task.file],
      spec: task.spec,
    };
    fs.writeFileSync(path.join(pending, `${task.id}.json`), `${JSON.stringify(body, null, 2)}\n`);
  }
}

function writeConfig(folder: string, root: string, review: "human" | "model+human"): void {
  const script = path.join(root, "agent-script.json");
  fs.writeFileSync(script, `${JSON.stringify(agentScript(), null, 2)}\n`);
  const config = {
    workers: [{ model: "fake:executor", count: 2, iterations: 4, role: "executor", timeout_s: 60 }],
    review: { mode: review },
    ...(review === "model+human" ? { review_model: "fake:reviewer" } : {}),
    worktree: { dir: path.join(root, "worktrees") },
    harnesses: { fake: { command: [VENV_PYTHON, FAKE_AGENT], env: { FAKE_AGENT_SCRIPT: script } } },
  };
  fs.writeFileSync(path.join(folder, "oompa.json"), `${JSON.stringify(config, null, 2)}\n`);
}

/**
 * What the fake agent does (its format: tests/fake_agent.py's docstring). Each executor writes
 * its task's file and says it is ready; after a rejection (the second call for that task) it
 * writes the line in capitals, as the test's feedback asks. With no task left: `__DONE__`.
 */
function agentScript(): unknown {
  const ready = "COMPLETE_AND_READY_FOR_MERGE";
  const perTask = TASKS.map((t): [string, unknown[]] => [
    t.id,
    [
      { write: { [t.file]: `${t.line}\n`, ...(t.extra ? { [t.extra.file]: t.extra.text } : {}) }, sleep: 0.5, final: `Wrote ${t.file}.\n${ready}` },
      { write: { [t.file]: `${t.line.toUpperCase()}\n` }, final: `Capitals it is.\n${ready}` },
    ],
  ]);
  return {
    roles: {
      executor: { ...Object.fromEntries(perTask), "*": [{ final: "__DONE__" }] },
      reviewer: Object.fromEntries(TASKS.map((t) => [t.id, [{ final: reviewerAnswer(t.file) }]])),
      "*": { "*": [{ final: "__DONE__" }] },
    },
  };
}

function writeEditorSettings(folder: string, options: WorkspaceOptions): void {
  // the LSP trace lands in the run's Oompa.log, kept when a run fails: which request went unanswered
  const settings: Record<string, unknown> = { "files.autoSave": "off", "oompa.trace.server": "messages" };
  if (options.serverSetting) {
    settings["oompa.server.command"] = [VENV_SERVER];
  } else {
    fs.symlinkSync(path.join(REPO_DIR, ".venv"), path.join(folder, ".venv"));
  }
  fs.mkdirSync(path.join(folder, ".vscode"), { recursive: true });
  fs.writeFileSync(path.join(folder, ".vscode", "settings.json"), `${JSON.stringify(settings, null, 2)}\n`);
}
