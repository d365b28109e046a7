/**
 * The run report as a user sees it: "Oompa: Show Run Report" from the command palette opens a
 * webview with the report's timeline, a lane per worker and a mark per landing (screenshot).
 */

import * as path from "node:path";
import type { Page } from "playwright-core";
import { runFromPalette } from "./workbench";

const SEEN_TIMEOUT_MS = 60_000;

/** Opens the report; returns what was seen. `workers` lanes are expected, and the queue's. */
export async function seeRunReport(page: Page, workers: number, screenshots: string): Promise<string> {
  await runFromPalette(page, "Oompa: Show Run Report");
  // a webview is an iframe holding the page's own iframe
  const report = page.frameLocator("iframe.webview").last().frameLocator("iframe#active-frame");
  const lanes = report.locator('#timeline g[id^="lane-"]');
  await lanes.last().waitFor({ state: "attached", timeout: SEEN_TIMEOUT_MS });
  const laneIds: string[] = [];
  for (let i = 0; i < (await lanes.count()); i++) {
    laneIds.push((await lanes.nth(i).getAttribute("id")) ?? "");
  }
  const landings = await report.locator('#timeline g[id^="landing-"]').count();
  if (laneIds.length !== workers + 1 || !laneIds.includes("lane-merge-queue") || landings < 1) {
    throw new Error(`the report's timeline shows lanes ${laneIds.join(", ")} and ${landings} landing(s)`);
  }
  const shot = path.join(screenshots, "vscode-report.png");
  await page.screenshot({ path: shot });
  return `report webview: lanes ${laneIds.join(", ")}, ${landings} landing(s); screenshot ${path.basename(shot)}`;
}
