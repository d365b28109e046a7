/**
 * The swarm in words: the status-bar item (text, tooltip) and the "Oompa: Show Status"
 * document, both computed from what the server sent and the connection's state.
 *
 * Must not import: vscode.
 */

import type { Snapshot, SwarmState, TaskState, TaskView } from "./protocol";
import { TASK_STATES } from "./protocol";
import { formatCost, formatElapsed, stateWords } from "./trees";

/** Where the connection to the language server stands. */
export type ServerState = "stopped" | "starting" | "running" | "failed" | "restricted";

export interface StatusBarFace {
  text: string;
  tooltip: string;
  /** A theme color id for the background, for states that need the user. */
  background?: "statusBarItem.errorBackground" | "statusBarItem.warningBackground";
}

const SWARM_ICONS: Record<string, string> = {
  running: "$(sync~spin)",
  stopping: "$(loading~spin)",
  stopped: "$(debug-stop)",
  idle: "$(circle-outline)",
};

export function statusBarFace(server: ServerState, swarm: SwarmState, serverError?: string): StatusBarFace {
  switch (server) {
    case "restricted":
      return {
        text: "$(shield) Oompa: restricted",
        tooltip: "This workspace is not trusted: Oompa starts no server and no agents. Trust the workspace to use it.",
      };
    case "failed":
      return {
        text: "$(error) Oompa",
        tooltip: `The Oompa server is not running: ${serverError ?? "it failed to start"}. Click for details.`,
        background: "statusBarItem.errorBackground",
      };
    case "starting":
      return { text: "$(loading~spin) Oompa", tooltip: "Starting the Oompa server…" };
    case "stopped":
      return { text: "$(circle-slash) Oompa", tooltip: "The Oompa server is stopped." };
    case "running":
      return swarmFace(swarm);
  }
}

function swarmFace(swarm: SwarmState): StatusBarFace {
  const icon = swarm.paused_reason ? "$(debug-pause)" : (SWARM_ICONS[swarm.state] ?? "$(circle-outline)");
  const words = swarm.state === "running" && swarm.summary ? swarm.summary : swarm.state;
  const text = `${icon} Oompa: ${words}${swarm.viewer ? " (viewer)" : ""}`;
  const lines = [`Swarm ${swarm.state}${swarm.run_id ? ` (run ${swarm.run_id})` : ""}`];
  if (swarm.summary) {
    lines.push(swarm.summary);
  }
  if (swarm.paused_reason) {
    lines.push(`Merge queue paused: ${swarm.paused_reason}`);
  }
  if (swarm.state === "stopped" && swarm.stopped_reason) {
    lines.push(`Stopped: ${swarm.stopped_reason}`);
  }
  if (swarm.viewer) {
    lines.push("Another process runs this swarm; this window follows it.");
  }
  const cost = formatCost(swarm.usage);
  if (cost) {
    lines.push(`Spent: ${cost}`);
  }
  lines.push("Click to show the status.");
  const face: StatusBarFace = { text, tooltip: lines.join("\n") };
  if (swarm.paused_reason) {
    face.background = "statusBarItem.warningBackground";
  }
  return face;
}

const STATE_HEADINGS: Record<TaskState, string> = {
  pending: "Pending",
  current: "In progress",
  complete: "Merged",
  failed: "Failed",
};

/** The "Oompa: Show Status" document (Markdown). `now` in epoch seconds. */
export function renderStatus(snapshot: Snapshot, now: number): string {
  const out: string[] = [`# Oompa swarm: ${snapshot.state}${snapshot.viewer ? " (viewer)" : ""}`, ""];
  const facts: [string, string][] = [
    ["Run", snapshot.run_id],
    ["Repository", snapshot.repo],
    ["Target branch", snapshot.target],
    ["Review mode", snapshot.review_mode],
    ["Running for", snapshot.state === "running" && snapshot.started_at > 0 ? formatElapsed(now - snapshot.started_at) : ""],
    ["Stopped because", snapshot.stopped_reason],
    ["Merge queue paused", snapshot.paused_reason],
    ["Spent", formatCost(snapshot.usage) ?? ""],
  ];
  out.push(...facts.filter(([, value]) => value).map(([name, value]) => `- ${name}: ${value}`), "");
  out.push(...workerSection(snapshot, now), ...taskSections(Object.values(snapshot.tasks)));
  out.push(...reviewSection(snapshot), ...mergeSection(snapshot), ...invalidSection(snapshot));
  return out.join("\n");
}

function workerSection(snapshot: Snapshot, now: number): string[] {
  const workers = Object.values(snapshot.workers).sort((a, b) => a.id.localeCompare(b.id));
  if (workers.length === 0) {
    return [];
  }
  const rows = workers.map((w) => {
    const elapsed = w.since > 0 ? formatElapsed(now - w.since) : "";
    return `| ${w.id} | ${w.role} | ${stateWords(w.state)} | ${w.task_id ?? ""} | ${w.model} | ${elapsed} | ${formatCost(w.usage) ?? ""} |`;
  });
  return ["## Workers", "", "| worker | role | state | task | model | for | cost |", "|---|---|---|---|---|---|---|", ...rows, ""];
}

function taskSections(tasks: TaskView[]): string[] {
  const out: string[] = [];
  for (const state of TASK_STATES) {
    const members = tasks.filter((t) => t.state === state).sort((a, b) => a.id.localeCompare(b.id));
    if (members.length === 0) {
      continue;
    }
    out.push(`## ${STATE_HEADINGS[state]} (${members.length})`, "");
    for (const task of members) {
      const extra = [task.worker, task.state === "failed" ? task.reason : "", task.commit?.slice(0, 8)].filter(Boolean);
      out.push(`- **${task.id}** ${task.summary}${extra.length ? ` (${extra.join(", ")})` : ""}`);
    }
    out.push("");
  }
  return out;
}

function reviewSection(snapshot: Snapshot): string[] {
  const reviews = Object.values(snapshot.reviews);
  if (reviews.length === 0) {
    return [];
  }
  const lines = reviews.map((r) => `- ${r.review_id}: ${r.task_id} by ${r.worker}, round ${r.round} (${r.mode})`);
  return ["## Pending reviews", "", ...lines, ""];
}

function mergeSection(snapshot: Snapshot): string[] {
  if (snapshot.merges.length === 0) {
    return [];
  }
  const lines = snapshot.merges.slice(-10).map((m) => `- ${m.task_id} → ${m.commit.slice(0, 8)}`);
  return ["## Recent merges", "", ...lines, ""];
}

function invalidSection(snapshot: Snapshot): string[] {
  const entries = Object.entries(snapshot.invalid);
  if (entries.length === 0) {
    return [];
  }
  const lines = entries.map(([path, problems]) => `- ${path}: ${problems.join("; ")}`);
  return ["## Invalid task files", "", ...lines, ""];
}
