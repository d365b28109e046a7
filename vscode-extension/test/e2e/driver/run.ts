/**
 * `npm run test:e2e`: the extension in a real VS Code (code-server), offline.
 *
 *  1. API level: the workbench loads the extension under development and runs
 *     out/test/e2e/api inside the extension host (activation, server start, lenses and
 *     diagnostics, views during a swarm of scripted agents, the review diff, approve → merge).
 *  2. UI level: the packaged .vsix is installed; "Oompa: Start Swarm" is run from the command
 *     palette; the lenses, the Tasks view and a review's diff editor are seen on screen
 *     (screenshots saved to docs/screenshots/), one review approved with the editor-title
 *     button; on the other's diff a line comment on each of its two files (VS Code's comments
 *     UI), sent with Request Changes and a note typed in VS Code's input box: the worker's next
 *     prompt holds both with their paths and lines, and the fix merges. Then, in Restricted
 *     Mode, the extension says why it starts nothing.
 *
 * Each run gets its own temporary folder (workspace, profile, logs); afterwards no process
 * started from it may be left (the language server and its agents included).
 *  3. API level, the model's findings: a model+human review whose scripted reviewer names
 *     places; its findings appear as threads on the diff, one goes with a request for changes.
 *
 * Options: `--api` or `--ui` to run one part (`--review`: only the findings suite); OOMPA_E2E_KEEP=1 keeps the temporary folder;
 * OOMPA_E2E_VERBOSE=1 prints all of the workbench's log; OOMPA_E2E_CACHE moves the code-server
 * cache; OOMPA_E2E_CHROMIUM names the browser.
 */

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Browser } from "playwright-core";
import { CodeServer, EXTENSION_DIR, REPO_DIR, installCodeServer, installVsix, makeProfile } from "./codeServer";
import { endProcesses, lingeringProcesses, processesWorkingIn } from "./processes";
import { runUiScenario, runUntrustedScenario } from "./ui";
import { launchBrowser, runExtensionTests } from "./workbench";
import { VENV_SERVER, makeWorkspace, type WorkspaceOptions } from "./workspace";

const API_TESTS = path.join(EXTENSION_DIR, "out", "test", "e2e", "api", "index.js");
const VSIX = path.join(EXTENSION_DIR, "oompa-vscode.vsix");
/** Where the UI run saves its screenshots (the README shows them); OOMPA_E2E_SCREENSHOTS moves them. */
const SCREENSHOTS = process.env.OOMPA_E2E_SCREENSHOTS ?? path.join(REPO_DIR, "docs", "screenshots");
const API_TIMEOUT_MS = 6 * 60_000;

interface Outcome {
  name: string;
  ok: boolean;
  seconds: number;
  detail: string;
}

async function timed(name: string, work: () => Promise<string>): Promise<Outcome> {
  const started = Date.now();
  try {
    const detail = await work();
    return { name, ok: true, seconds: (Date.now() - started) / 1000, detail };
  } catch (error) {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    return { name, ok: false, seconds: (Date.now() - started) / 1000, detail };
  }
}

/** One API-level suite (test/e2e/api/<suite>.test.ts) in a workbench of its own, on its own workspace. */
async function apiLevel(binary: string, browser: Browser, root: string, suite = "extension", options: Partial<WorkspaceOptions> = {}): Promise<string> {
  const dir = path.join(root, suite === "extension" ? "api" : `api-${suite}`);
  const facts = makeWorkspace(dir, { serverSetting: true, ...options });
  const profile = makeProfile(dir);
  const env = { OOMPA_E2E_FACTS: JSON.stringify(facts), OOMPA_E2E_SUITE: suite };
  const server = await CodeServer.start(binary, profile, facts.folder, path.join(dir, "code-server.log"), env);
  try {
    const run = await runExtensionTests(browser, server, facts.folder, EXTENSION_DIR, API_TESTS, API_TIMEOUT_MS);
    fs.writeFileSync(path.join(dir, "extension-host.log"), run.output.join("\n"));
    if (run.exitCode !== 0) {
      throw new Error(run.exitCode === -1 ? `the API tests did not finish within ${API_TIMEOUT_MS / 1000} s` : `the API tests failed (exit ${run.exitCode})`);
    }
    return `extension-host tests (${suite}) passed`;
  } finally {
    await server.stop();
    await noneLeft(dir);
  }
}

async function uiLevel(binary: string, browser: Browser, root: string): Promise<string> {
  if (!fs.existsSync(VSIX)) {
    throw new Error(`${VSIX} is missing: run npm run package first`);
  }
  const facts = makeWorkspace(path.join(root, "ui"), { serverSetting: false });
  const profile = makeProfile(path.join(root, "ui"));
  installVsix(binary, profile, VSIX);
  const server = await CodeServer.start(binary, profile, facts.folder, path.join(root, "ui", "code-server.log"));
  try {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    return await runUiScenario(browser, server, facts, SCREENSHOTS);
  } catch (error) {
    printExtensionLogTail(path.join(profile.userDataDir, "logs"));
    throw error;
  } finally {
    await server.stop();
    await noneLeft(path.join(root, "ui"));
  }
}

async function untrustedLevel(binary: string, browser: Browser, root: string): Promise<string> {
  const facts = makeWorkspace(path.join(root, "untrusted"), { serverSetting: false });
  const profile = makeProfile(path.join(root, "untrusted"), true);
  installVsix(binary, profile, VSIX);
  const server = await CodeServer.start(binary, profile, facts.folder, path.join(root, "untrusted", "code-server.log"));
  try {
    const message = await runUntrustedScenario(browser, server, facts);
    // VS Code's own language servers (JSON, Markdown) may run there; ours and agents must not.
    // (Not just "oompa": VS Code's servers run from the code-server cache, named oompa-e2e.)
    const servers = processesWorkingIn(facts.folder).filter((p) => /oompa-lsp|oompa_lsp|fake_agent/.test(p.command));
    if (servers.length > 0) {
      throw new Error(`a process runs in the untrusted workspace: ${servers.map((p) => p.command).join("; ")}`);
    }
    return `no server started; said "${message}"`;
  } finally {
    await server.stop();
    await noneLeft(path.join(root, "untrusted"));
  }
}

/** The end of the extension's own log (its requests to the server, with trace), for a failed run. */
function printExtensionLogTail(folder: string, lines = 40): void {
  const logs = fs.existsSync(folder) ? (fs.readdirSync(folder, { recursive: true }) as string[]).filter((f) => path.basename(f) === "Oompa.log") : [];
  for (const log of logs) {
    const tail = fs.readFileSync(path.join(folder, log), "utf8").trimEnd().split("\n").slice(-lines);
    console.error(`the last ${tail.length} lines of ${log}:\n${tail.map((l) => `  ${l}`).join("\n")}`);
  }
}

/** The language server and its agents (working in the run folder) must not outlive the editor. */
async function noneLeft(folder: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  let left = lingeringProcesses(folder);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    left = lingeringProcesses(folder);
  }
  if (left.length > 0) {
    endProcesses(left);
    throw new Error(`processes outlived the editor (now killed):\n${left.map((p) => `  ${p.pid} ${p.command}`).join("\n")}`);
  }
}

function checkPrerequisites(): void {
  if (!fs.existsSync(VENV_SERVER)) {
    throw new Error(`${VENV_SERVER} is missing: create the repository's .venv first (see the README)`);
  }
}

async function main(): Promise<number> {
  const only = process.argv.includes("--api") ? "api" : process.argv.includes("--ui") ? "ui" : process.argv.includes("--review") ? "review" : "both";
  checkPrerequisites();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "oompa-e2e-"));
  const outcomes: Outcome[] = [];
  let binary = "";
  outcomes.push(await timed("install code-server (cached)", () => Promise.resolve((binary = installCodeServer()))));
  if (outcomes[0]?.ok) {
    const browser = await launchBrowser();
    try {
      if (only === "api" || only === "both") {
        outcomes.push(await timed("API-level tests in the extension host", () => apiLevel(binary, browser, root)));
      }
      if (only !== "ui") {
        const review = { review: "model+human" } as const;
        outcomes.push(await timed("API-level tests of the model's findings on a diff", () => apiLevel(binary, browser, root, "findings", review)));
      }
      if (only === "ui" || only === "both") {
        outcomes.push(await timed("UI-level run of the packaged .vsix", () => uiLevel(binary, browser, root)));
        outcomes.push(await timed("UI-level run in an untrusted workspace", () => untrustedLevel(binary, browser, root)));
      }
    } finally {
      await browser.close();
    }
  }
  report(outcomes, root);
  const ok = outcomes.every((o) => o.ok);
  if (ok && !process.env.OOMPA_E2E_KEEP) {
    fs.rmSync(root, { recursive: true, force: true });
  }
  return ok ? 0 : 1;
}

function report(outcomes: Outcome[], root: string): void {
  console.log("\nVS Code end-to-end:");
  for (const outcome of outcomes) {
    console.log(`  ${outcome.ok ? "ok  " : "FAIL"} ${outcome.name} (${outcome.seconds.toFixed(1)} s): ${outcome.detail.split("\n")[0]}`);
    if (!outcome.ok) {
      console.log(outcome.detail.split("\n").slice(1).map((l) => `       ${l}`).join("\n"));
    }
  }
  const failed = outcomes.filter((o) => !o.ok).length;
  if (failed > 0) {
    console.log(`  logs: ${root}`);
  }
  console.log(`${outcomes.length - failed} passed, ${failed} failed`);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
