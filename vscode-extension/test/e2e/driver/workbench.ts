/**
 * Driving code-server's web workbench with Playwright in Debian's Chromium: running the
 * extension's API tests inside its extension host (the workbench takes
 * extensionDevelopmentPath/extensionTestsPath from the URL's `payload`, and reports output
 * and the exit code through `window.codeAutomationLog` / `window.codeAutomationExit`), and the
 * few UI gestures the UI-level run needs. Selectors are VS Code internals: kept few.
 */

import * as fs from "node:fs";
import { format } from "node:util";
import { chromium, type Browser, type Page } from "playwright-core";
import type { CodeServer } from "./codeServer";

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-dev-shm-usage",
  "--disable-gpu",
  "--no-first-run",
  "--disable-quic",
  // the machine's network is closed: these stop Chromium's background calls home
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The workbench's own chatter on start and shutdown (offline: the gallery is unreachable). */
const WORKBENCH_NOISE =
  /^(Resolving connection token|Resolved connection token|Creating a socket|Updating additional builtin|\[Service Worker\]|ChatSessionStore|getaddrinfo ENOTFOUND|\[lifecycle\])/;

export function chromiumPath(): string {
  const candidates = [process.env.OOMPA_E2E_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"];
  const found = candidates.find((c): c is string => c !== undefined && fs.existsSync(c));
  if (found === undefined) {
    throw new Error("Chromium not found: install Debian's chromium or set OOMPA_E2E_CHROMIUM");
  }
  return found;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
}

export interface ExtensionTestRun {
  exitCode: number;
  output: string[];
}

/** Opens the workbench on `folder` with the extension under development and its tests. */
export async function runExtensionTests(
  browser: Browser,
  server: CodeServer,
  folder: string,
  extensionDir: string,
  testsModule: string,
  timeoutMs: number,
): Promise<ExtensionTestRun> {
  const remote = (file: string): string => `vscode-remote://127.0.0.1:${server.port}${file}`;
  const payload = [
    ["extensionDevelopmentPath", remote(extensionDir)],
    ["extensionTestsPath", remote(testsModule)],
  ];
  const url = `${server.url}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const output: string[] = [];
  let exit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => (exit = resolve));
  await page.exposeFunction("codeAutomationLog", (_level: string, message: unknown) => {
    // the extension host's console calls arrive as their argument lists (format string first)
    const line = Array.isArray(message) ? format(...(message as unknown[])) : String(message);
    output.push(line);
    if (process.env.OOMPA_E2E_VERBOSE || (line.trim() !== "" && !WORKBENCH_NOISE.test(line))) {
      process.stdout.write(`${line}\n`);
    }
  });
  await page.exposeFunction("codeAutomationExit", (code: number) => exit(code));
  await page.goto(url);
  const timer = new Promise<number>((resolve) => setTimeout(() => resolve(-1), timeoutMs));
  const exitCode = await Promise.race([exited, timer]);
  await page.close();
  return { exitCode, output };
}

export async function openWorkbench(browser: Browser, server: CodeServer, folder: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(`${server.url}/?folder=${encodeURIComponent(folder)}`);
  await page.locator(".monaco-workbench .part.statusbar").waitFor({ timeout: 60_000 });
  return page;
}

/** Runs a command from the palette by its title, as a user would type it. */
export async function runFromPalette(page: Page, title: string): Promise<void> {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input.input");
  await input.waitFor({ state: "visible", timeout: 10_000 });
  await input.fill(`>${title}`);
  // the first row must be the command asked for, not a fuzzy neighbour
  await page.locator(".quick-input-widget .monaco-list-row", { hasText: title }).first().waitFor({ timeout: 10_000 });
  await page.keyboard.press("Enter");
  await input.waitFor({ state: "hidden", timeout: 10_000 });
}

/** Opens a workspace file through Quick Open. */
export async function quickOpen(page: Page, fileName: string): Promise<void> {
  await page.keyboard.press("Control+P");
  const input = page.locator(".quick-input-widget input.input");
  await input.waitFor({ state: "visible", timeout: 10_000 });
  await input.fill(fileName);
  await page.locator(".quick-input-widget .monaco-list-row", { hasText: fileName }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press("Enter");
  await page.locator(`.tab[aria-label^="${fileName}"]`).first().waitFor({ timeout: 15_000 });
}
