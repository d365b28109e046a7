/**
 * What the Workers, Tasks and Reviews views show, as plain descriptors: label, description,
 * icon, context value and the command a click runs. `views.ts` turns them into TreeItems;
 * keeping the choices here lets them be unit-tested without VS Code.
 *
 * Must not import: vscode.
 */

import { Command, InternalCommand } from "./contributions";
import type { DiffFile, QueueEntry, ReviewDiff, ReviewView, TaskState, TaskView, Usage, WorkerView } from "./protocol";
import { TASK_STATES } from "./protocol";

export interface NodeCommand {
  command: string;
  title: string;
  arguments: unknown[];
}

export interface TreeNode {
  /** Stable across refreshes, so VS Code keeps selection and expansion. */
  id: string;
  label: string;
  description?: string;
  tooltip?: string;
  /** A codicon id, optionally with a theme color id: ["sync~spin"] or ["error", "errorForeground"]. */
  icon?: readonly [string] | readonly [string, string];
  contextValue: string;
  collapsible: "none" | "collapsed" | "expanded";
  command?: NodeCommand;
  children?: TreeNode[];
}

export function formatElapsed(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) {
    return `${s}s`;
  }
  const m = Math.floor(s / 60);
  if (m < 60) {
    return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  }
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

export function formatCost(usage: Usage): string | undefined {
  if (usage.cost_usd !== undefined) {
    return `$${usage.cost_usd.toFixed(2)}`;
  }
  const tokens = usage.input_tokens + usage.output_tokens;
  if (tokens === 0) {
    return undefined;
  }
  return tokens >= 1000 ? `${(tokens / 1000).toFixed(1)}k tokens` : `${tokens} tokens`;
}

const WORKER_ICONS: Record<string, readonly [string] | readonly [string, string]> = {
  starting: ["loading~spin"],
  idle: ["circle-outline"],
  working: ["sync~spin"],
  checking: ["beaker"],
  reviewing: ["eye"],
  awaiting_review: ["watch"],
  merging: ["git-merge"],
  resolving: ["git-compare"],
  done: ["pass", "testing.iconPassed"],
  stopped: ["debug-stop"],
};

/** Workers: "w1  working · task-3 · claude:sonnet · 2m 05s · $0.42". `now` in epoch seconds. */
export function workerNodes(workers: WorkerView[], now: number): TreeNode[] {
  return [...workers].sort((a, b) => a.id.localeCompare(b.id)).map((w) => workerNode(w, now));
}

/** "awaiting_review" → "awaiting review". */
export function stateWords(state: string): string {
  return state.replace(/_/g, " ");
}

function workerNode(worker: WorkerView, now: number): TreeNode {
  const parts = [stateWords(worker.state), worker.task_id, worker.model];
  if (worker.since > 0) {
    parts.push(formatElapsed(now - worker.since));
  }
  parts.push(formatCost(worker.usage));
  const tooltip = [
    `${worker.id} (${worker.role || "worker"}): ${stateWords(worker.state)}`,
    worker.detail,
    `model ${worker.model}`,
    `cycle ${worker.cycles} of ${worker.iterations}`,
  ];
  return {
    id: `worker:${worker.id}`,
    label: worker.id,
    description: parts.filter((p): p is string => Boolean(p)).join(" · "),
    tooltip: tooltip.filter(Boolean).join("\n"),
    icon: WORKER_ICONS[worker.state] ?? ["person"],
    contextValue: `worker.${worker.state}`,
    collapsible: "none",
  };
}

const GROUP_TITLES: Record<TaskState, string> = {
  pending: "Pending",
  current: "In progress",
  complete: "Merged",
  failed: "Failed",
};

const TASK_ICONS: Record<TaskState, readonly [string] | readonly [string, string]> = {
  pending: ["circle-large-outline"],
  current: ["sync~spin"],
  complete: ["pass-filled", "testing.iconPassed"],
  failed: ["error", "errorForeground"],
};

/** Tasks grouped by state, in lifecycle order; empty groups are left out. */
/** `queue`: the merge train, whose requests show their place and check state on their task. */
export function taskGroups(tasks: TaskView[], queue: QueueEntry[] = []): TreeNode[] {
  const inTrain = new Map(queue.filter((q) => q.position > 0).map((q) => [q.task_id, q]));
  const groups: TreeNode[] = [];
  for (const state of TASK_STATES) {
    const members = tasks.filter((t) => t.state === state).sort((a, b) => a.id.localeCompare(b.id));
    if (members.length > 0) {
      groups.push({
        id: `tasks:${state}`,
        label: GROUP_TITLES[state],
        description: String(members.length),
        contextValue: `taskGroup.${state}`,
        collapsible: state === "complete" ? "collapsed" : "expanded",
        children: members.map((task) => taskNode(task, inTrain.get(task.id))),
      });
    }
  }
  return groups;
}

function taskNode(task: TaskView, train: QueueEntry | undefined): TreeNode {
  const parts = [task.summary, task.worker];
  if (train !== undefined && task.state === "current") {
    parts.push(`merge train #${train.position} · ${train.state}`);
  }
  if (task.review_round > 0 && task.state === "current") {
    parts.push(`review round ${task.review_round}`);
  }
  if (task.state === "failed" && task.reason) {
    parts.push(task.reason);
  }
  if (task.state === "pending" && task.waiting) {
    parts.push(task.waiting);
  }
  const tooltip = [`${task.id}: ${task.summary}`, `state: ${task.state}`];
  if (task.attempt > 0) {
    tooltip.push(`attempt ${task.attempt}`);
  }
  if (task.last_feedback) {
    tooltip.push(`last review feedback:\n${task.last_feedback}`);
  }
  return {
    id: `task:${task.id}`,
    label: task.id,
    description: parts.filter((p): p is string => Boolean(p)).join(" · "),
    tooltip: tooltip.join("\n"),
    icon: TASK_ICONS[task.state],
    contextValue: `task.${task.state}`,
    collapsible: "none",
    command: { command: InternalCommand.openTask, title: "Open Task", arguments: [task.id] },
  };
}

/** Pending reviews, oldest first; each expands to its changed files (fetched on demand). */
export function reviewNodes(reviews: ReviewView[], taskOf: (id: string) => TaskView | undefined): TreeNode[] {
  return [...reviews].sort((a, b) => a.requested_at - b.requested_at).map((r) => reviewNode(r, taskOf(r.task_id)));
}

function reviewNode(review: ReviewView, task: TaskView | undefined): TreeNode {
  const summary = task?.summary;
  return {
    id: `review:${review.review_id}`,
    label: summary ? `${review.task_id}: ${summary}` : review.task_id,
    description: `${review.worker} · round ${review.round} · ${review.mode}`,
    tooltip: `Review ${review.review_id} of ${review.task_id} by ${review.worker}\n${review.branch} (${short(review.base)}..${short(review.head)})`,
    icon: ["git-pull-request"],
    contextValue: "review",
    collapsible: "collapsed",
    command: { command: Command.openReviewDiff, title: "Open Review Diff", arguments: [review.review_id] },
  };
}

const STATUS_WORDS: Record<DiffFile["status"], string> = { A: "added", M: "modified", D: "deleted", R: "renamed" };

export function reviewFileNodes(diff: ReviewDiff): TreeNode[] {
  return diff.files.map((file) => ({
    id: `review:${diff.review_id}:${file.path}`,
    label: file.path,
    description: STATUS_WORDS[file.status],
    icon: [file.status === "A" ? "diff-added" : file.status === "D" ? "diff-removed" : "diff-modified"],
    contextValue: "reviewFile",
    collapsible: "none",
    command: {
      command: InternalCommand.openReviewFile,
      title: "Open Diff",
      arguments: [diff.review_id, file.path],
    },
  }));
}

function short(sha: string): string {
  return sha.slice(0, 8);
}
