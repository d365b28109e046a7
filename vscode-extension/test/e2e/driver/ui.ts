/**
 * The UI-level runs: what a user does and sees in the workbench, with the packaged .vsix.
 *
 * Trusted workspace: open spec.md, run "Oompa: Start Swarm" from the command palette, see the
 * swarm's code lenses on spec.md and the tasks in the Tasks view (screenshot), click a review
 * in the Reviews view to get the diff editor (screenshot), approve it with the editor-title
 * button and see it leave the Reviews view; on the other one's diff, add a line comment on each
 * of its two files with VS Code's comments UI and click Request Changes, typing an overall note
 * in the box VS Code asks with; see its second round come back with the worker having been
 * given the note and both comments (paths and lines), approve it and see it merged; stop the swarm.
 *
 * Untrusted workspace: the status item says "restricted", "Oompa: Start Swarm" explains why
 * nothing starts, and no language server runs.
 */

import * as fs from "node:fs";
import * as path from "node:path";
import type { Browser, Locator, Page } from "playwright-core";
import type { CodeServer } from "./codeServer";
import { seeRunReport } from "./reportUi";
import { openWorkbench, quickOpen, runFromPalette } from "./workbench";
import type { WorkspaceFacts } from "./workspace";

const SEEN_TIMEOUT_MS = 60_000;
const FEEDBACK = "Write the line in capitals, please.";

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
    await widenSideBar(page, 160);
    const [firstTask = "", secondTask = ""] = facts.taskIds;
    await row(pane(page, "Tasks"), firstTask).waitFor({ timeout: SEEN_TIMEOUT_MS });
    const review = row(pane(page, "Reviews"), firstTask);
    await review.waitFor({ timeout: SEEN_TIMEOUT_MS });
    await row(pane(page, "Reviews"), secondTask).waitFor({ timeout: SEEN_TIMEOUT_MS });
    await page.locator(".codelens-decoration", { hasText: /awaiting your review/ }).first().waitFor({ timeout: SEEN_TIMEOUT_MS });
    const overview = path.join(screenshots, "vscode-swarm.png");
    await page.screenshot({ path: overview });
    const lens = ((await summaryLens.textContent()) ?? "").trim();

    const approve = page.locator(".editor-actions .action-label[aria-label^='Approve Review']").first();
    await clickUntilShown(review, approve);
    await page.locator(".editor-container .monaco-diff-editor").first().waitFor({ timeout: SEEN_TIMEOUT_MS });
    // the review's summary opens beside its diff (a webview: two frames deep)
    const summary = page.frameLocator("iframe.webview.ready").last().frameLocator("#active-frame").locator("h1", { hasText: `Review ${firstTask}` });
    await summary.first().waitFor({ timeout: SEEN_TIMEOUT_MS });
    const diff = path.join(screenshots, "vscode-review.png");
    await page.screenshot({ path: diff });
    await approve.click();
    await review.waitFor({ state: "detached", timeout: SEEN_TIMEOUT_MS });
    await page.locator(".codelens-decoration", { hasText: /1 merged/ }).first().waitFor({ timeout: SEEN_TIMEOUT_MS });

    const commented = await requestChangesWithLineComments(page, facts, secondTask, screenshots);
    const roundTwo = row(pane(page, "Reviews"), `${secondTask}`).filter({ hasText: "round 2" });
    await roundTwo.waitFor({ timeout: SEEN_TIMEOUT_MS });
    const told = feedbackTheWorkerGot(facts, secondTask);
    for (const expected of [FEEDBACK, ...commented]) {
      if (!told.includes(expected)) {
        throw new Error(`the worker's second turn on ${secondTask} lacks ${JSON.stringify(expected)}; its prompt: ${told.slice(0, 800)}`);
      }
    }
    // the fix lands: round 2 approved from its diff editor, and the merged count says so
    await clickUntilShown(roundTwo, approve);
    await approve.click();
    await page.locator(".codelens-decoration", { hasText: /2 merged/ }).first().waitFor({ timeout: SEEN_TIMEOUT_MS });

    await runFromPalette(page, "Oompa: Stop Swarm");
    const report = await seeRunReport(page, 2, screenshots);
    const shots = [overview, diff, "vscode-line-comments.png"].map((s) => path.basename(s)).join(", ");
    return `lens "${lens}" and task ${firstTask} seen; ${firstTask} approved from the diff editor's title; ` +
      `${secondTask}: two line comments on two files sent with Request Changes, the worker's next prompt held both, ` +
      `round 2 approved and merged; screenshots ${shots}; ${report}`;
  } catch (error) {
    await printOnScreen(page, "code lenses", ".codelens-decoration");
    await printOnScreen(page, "editor tabs", ".tabs-container .tab .label-name");
    await printOnScreen(page, "notifications", ".notifications-toasts .notification-list-item-message");
    await page.screenshot({ path: path.join(path.dirname(facts.folder), "failure.png") }).catch(() => undefined);
    throw error;
  } finally {
    await page.close();
  }
}

/** In Restricted Mode: the extension says why it does nothing. Returns the message shown. */
export async function runUntrustedScenario(browser: Browser, server: CodeServer, facts: WorkspaceFacts): Promise<string> {
  const page = await openWorkbench(browser, server, facts.folder);
  try {
    await page.locator(".statusbar-item", { hasText: "Oompa: restricted" }).first().waitFor({ timeout: SEEN_TIMEOUT_MS });
    await runFromPalette(page, "Oompa: Start Swarm");
    const toast = page.locator(".notifications-toasts .notification-toast", { hasText: "not trusted" }).first();
    await toast.waitFor({ timeout: SEEN_TIMEOUT_MS });
    return ((await toast.locator(".notification-list-item-message").first().textContent()) ?? "").trim();
  } catch (error) {
    await page.screenshot({ path: path.join(path.dirname(facts.folder), "failure-untrusted.png") }).catch(() => undefined);
    throw error;
  } finally {
    await page.close();
  }
}

/**
 * Opens the review's diff from the Reviews view, adds a line comment on the first line of each
 * changed file with VS Code's comments UI (cursor on the line, "Add Comment on Current
 * Selection", type, "Add Comment"), then clicks the editor title's Request Changes and types
 * the overall note in the box VS Code asks with. Returns what the worker must be told.
 */
async function requestChangesWithLineComments(page: Page, facts: WorkspaceFacts, taskId: string, screenshots: string): Promise<string[]> {
  const files = facts.changedFiles[taskId] ?? [];
  const requestChanges = page.locator(".editor-actions .action-label[aria-label^='Request Changes']").first();
  await clickUntilShown(row(pane(page, "Reviews"), taskId), requestChanges);
  // the review opens all its files: wait for every tab before picking one
  for (const file of files) {
    await page.locator(".tabs-container .tab", { hasText: `${file} (` }).first().waitFor({ timeout: SEEN_TIMEOUT_MS });
  }
  const expected: string[] = [];
  for (const [index, file] of files.entries()) {
    const comment = `Comment ${index + 1}: name the swarm in ${path.basename(file)}.`;
    await commentOnFirstLine(page, file, comment);
    expected.push(`- \`${file}\` line 1 (your version):`, comment);
  }
  await page.screenshot({ path: path.join(screenshots, "vscode-line-comments.png") });
  await requestChanges.click();
  const box = page.locator(".quick-input-widget input.input").first();
  await box.waitFor({ state: "visible", timeout: SEEN_TIMEOUT_MS });
  await box.fill(FEEDBACK);
  await box.press("Enter");
  await page.locator(".quick-input-widget").first().waitFor({ state: "hidden", timeout: SEEN_TIMEOUT_MS });
  return expected;
}

/** Brings the diff tab of `file` to the front (the review's tabs are all open), and comments on its first line. */
async function commentOnFirstLine(page: Page, file: string, text: string): Promise<void> {
  const group = page.locator(".editor-group-container.active");
  await page.mouse.move(0, 0); // no tab's hover stays over the tab to click
  await group.locator(".tab", { hasText: `${file} (` }).first().click();
  await group.locator(".tab.active", { hasText: `${file} (` }).first().waitFor({ timeout: SEEN_TIMEOUT_MS });
  const editor = group.locator(".monaco-diff-editor .editor.modified .overflow-guard").first();
  await editor.waitFor({ timeout: SEEN_TIMEOUT_MS });
  await addCommentFromPalette(page, editor, file);
  const widget = group.locator(".review-widget").last();
  const input = widget.locator(".comment-form textarea").first();
  await input.waitFor({ timeout: SEEN_TIMEOUT_MS });
  await input.focus();
  await page.keyboard.type(text);
  await widget.getByRole("button", { name: "Add Comment" }).first().click();
  await widget.locator(".review-comment-contents", { hasText: text }).first().waitFor({ timeout: SEEN_TIMEOUT_MS });
}

/**
 * Puts the cursor on the diff's first line and runs "Add Comment on Current Selection". VS Code
 * lists that command only once the comments provider's ranges for the document have arrived and
 * the editor has focus; on a loaded machine either can come late, so the cursor is placed and the
 * palette asked again (each retry logged; a command that never shows still fails here).
 */
async function addCommentFromPalette(page: Page, editor: Locator, file: string): Promise<void> {
  const attempts = 3;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const box = await editor.boundingBox();
    if (box === null) {
      throw new Error(`the diff editor of ${file} is not on screen`);
    }
    // below the text (the cursor goes to the last line), then to the first line: no line
    // element of the diff's own (its deleted-lines zones) is in the way
    await page.mouse.click(box.x + box.width / 2, box.y + box.height - 20);
    await page.keyboard.press("Control+Home");
    try {
      await runFromPalette(page, "Comments: Add Comment on Current Selection");
      return;
    } catch (error) {
      if (attempt === attempts) {
        throw error;
      }
      console.error(`"Add Comment on Current Selection" not offered on ${file} (try ${attempt} of ${attempts}); again`);
      await page.keyboard.press("Escape");
      await page.waitForTimeout(1_000);
    }
  }
}

/** The prompt of the scripted worker's latest turn on `taskId`, from the call log it keeps. */
function feedbackTheWorkerGot(facts: WorkspaceFacts, taskId: string): string {
  const log = path.join(path.dirname(facts.folder), "agent-script.json.log.jsonl");
  const calls = fs.readFileSync(log, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as { task_id?: string; prompt?: string });
  const turns = calls.filter((call) => call.task_id === taskId);
  return turns.length > 1 ? (turns[turns.length - 1]?.prompt ?? "") : "";
}

/**
 * Clicks `target` until `shown` appears. The views re-render whenever the swarm's state moves,
 * and on a loaded machine a click can be lost while a row is being replaced; a user would click
 * again, and so does this. Each retry is logged, so a click that never works still fails here.
 */
async function clickUntilShown(target: Locator, shown: Locator): Promise<void> {
  const attempts = 3;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    await target.click();
    try {
      await shown.waitFor({ timeout: SEEN_TIMEOUT_MS / attempts });
      return;
    } catch (error) {
      if (attempt === attempts) {
        throw error;
      }
      console.error(`click ${attempt} of ${attempts} did not show ${shown.toString()}; clicking again`);
    }
  }
}

/** Prints the text of every element `selector` finds, so a failure says what the user saw. */
async function printOnScreen(page: Page, what: string, selector: string): Promise<void> {
  const texts = await page.locator(selector).allTextContents().catch(() => []);
  console.error(`${what} on screen when it failed:${texts.length === 0 ? " none" : ""}\n${texts.map((t) => `  ${t.trim()}`).join("\n")}`);
}

/** Drags the sash between the side bar and the editor, so the views' lines fit on screen. */
async function widenSideBar(page: Page, pixels: number): Promise<void> {
  const box = await page.locator(".part.sidebar").boundingBox();
  if (box === null) {
    return;
  }
  const x = box.x + box.width - 1;
  const y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + pixels, y, { steps: 8 });
  await page.mouse.up();
  await page.mouse.move(x + pixels + 400, y); // off the sash, which stays highlighted under the pointer
}

function pane(page: Page, title: string): Locator {
  return page.locator(".pane", { has: page.locator(".pane-header", { hasText: title }) });
}

function row(container: Locator, text: string): Locator {
  return container.locator(".monaco-list-row", { hasText: text }).first();
}
