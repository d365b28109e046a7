/**
 * The UI-level run: what a user does and sees, in the workbench, with the packaged .vsix.
 * Open spec.md, run "Oompa: Start Swarm" from the command palette, see the swarm's code
 * lenses on spec.md and the tasks in the Tasks view, save a screenshot, stop the swarm.
 */

import * as path from "node:path";
import type { Browser, Page } from "playwright-core";
import type { CodeServer } from "./codeServer";
import { openWorkbench, quickOpen, runFromPalette } from "./workbench";
import type { WorkspaceFacts } from "./workspace";

const SEEN_TIMEOUT_MS = 60_000;

export async function runUiScenario(browser: Browser, server: CodeServer, facts: WorkspaceFacts, screenshots: string): Promise<string> {
  const page = await openWorkbench(browser, server, facts.folder);
  try {
    await quickOpen(page, "spec.md");
    // the extension activates on oompa.json and finds the server in the workspace's .venv
    await page.locator(".statusbar-item", { hasText: "Oompa:" }).first().waitFor({ timeout: SEEN_TIMEOUT_MS });
    await runFromPalette(page, "Oompa: Start Swarm");
    const summaryLens = page.locator(".codelens-decoration", { hasText: /workers/ }).first();
    await summaryLens.waitFor({ timeout: SEEN_TIMEOUT_MS });
    await runFromPalette(page, "Oompa: Focus on Tasks View");
    const firstTask = facts.taskIds[0] ?? "";
    await taskRow(page, firstTask).waitFor({ timeout: SEEN_TIMEOUT_MS });
    // let the swarm get somewhere worth showing: a worker at work or a review waiting
    await page.locator(".monaco-list-row", { hasText: /round|working|awaiting_review/ }).first().waitFor({ timeout: SEEN_TIMEOUT_MS }).catch(() => undefined);
    const shot = path.join(screenshots, "vscode-swarm.png");
    await page.screenshot({ path: shot });
    const lens = (await summaryLens.textContent()) ?? "";
    await runFromPalette(page, "Oompa: Stop Swarm");
    return `lens "${lens.trim()}" and task ${firstTask} seen; screenshot ${path.relative(path.dirname(screenshots), shot)}`;
  } catch (error) {
    await page.screenshot({ path: path.join(path.dirname(facts.folder), "failure.png") }).catch(() => undefined);
    throw error;
  } finally {
    await page.close();
  }
}

function taskRow(page: Page, taskId: string): ReturnType<Page["locator"]> {
  const tasksPane = page.locator(".pane", { has: page.locator(".pane-header", { hasText: "Tasks" }) });
  return tasksPane.locator(".monaco-list-row", { hasText: taskId }).first();
}
