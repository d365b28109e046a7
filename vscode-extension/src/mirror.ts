/**
 * The last picture of the swarm the server sent, kept only to render it (invariant 8: the
 * extension decides nothing). A status snapshot replaces the picture wholesale; the live
 * notifications update one worker, task or review at a time in between.
 *
 * Must not import: vscode (unit-tested in plain Node).
 */

import type { ReviewResolved, ReviewView, Snapshot, SwarmState, TaskCounts, TaskView, Usage, WorkerView } from "./protocol";

const MIRROR_PARTS = ["swarm", "workers", "tasks", "reviews"] as const;
export type MirrorPart = (typeof MIRROR_PARTS)[number];
export type MirrorListener = (parts: ReadonlySet<MirrorPart>) => void;

const IDLE: SwarmState = {
  state: "idle",
  run_id: "",
  summary: "",
  counts: { pending: 0, current: 0, complete: 0, failed: 0 },
  paused_reason: "",
  viewer: false,
  usage: { input_tokens: 0, output_tokens: 0 },
  stopped_reason: "",
  queue: [],
};

/** States in which a review can still be pending: reviews of a task in any other state are over. */
const REVIEWABLE_TASK_STATE = "current";

export class SwarmMirror {
  private swarmState: SwarmState = IDLE;
  private readonly workerViews = new Map<string, WorkerView>();
  private readonly taskViews = new Map<string, TaskView>();
  private readonly reviewViews = new Map<string, ReviewView>();
  private readonly listeners = new Set<MirrorListener>();

  get swarm(): SwarmState {
    return this.swarmState;
  }

  get workers(): WorkerView[] {
    return [...this.workerViews.values()];
  }

  get tasks(): TaskView[] {
    return [...this.taskViews.values()];
  }

  get reviews(): ReviewView[] {
    return [...this.reviewViews.values()];
  }

  task(id: string): TaskView | undefined {
    return this.taskViews.get(id);
  }

  review(id: string): ReviewView | undefined {
    return this.reviewViews.get(id);
  }

  onChange(listener: MirrorListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Replaces everything with the server's snapshot (on connect, and to reconcile). Listeners
   * hear only of the parts that differ: a reconcile that finds nothing new must not re-render
   * the views under the user's pointer (a row replaced mid-click loses the click).
   */
  applySnapshot(snapshot: Snapshot): void {
    const before = this.fingerprints();
    const known = new Map([...this.taskViews].map(([id, task]) => [id, task.uri]));
    replace(this.workerViews, Object.values(snapshot.workers), (w) => w.id);
    replace(this.taskViews, Object.values(snapshot.tasks).map((t) => keepUri(t, known.get(t.id))), (t) => t.id);
    replace(this.reviewViews, Object.values(snapshot.reviews), (r) => r.review_id);
    this.swarmState = swarmStateOf(snapshot);
    const after = this.fingerprints();
    const changed = MIRROR_PARTS.filter((part) => before[part] !== after[part]);
    if (changed.length > 0) {
      this.emit(changed);
    }
  }

  applySwarmState(state: SwarmState): void {
    // The Tasks view shows each request's place in the merge train: it changes with the train only.
    const trainMoved = JSON.stringify(state.queue) !== JSON.stringify(this.swarmState.queue);
    this.swarmState = state;
    this.emit(trainMoved ? ["swarm", "tasks"] : ["swarm"]);
  }

  applyWorker(worker: WorkerView): void {
    this.workerViews.set(worker.id, worker);
    this.emit(["workers"]);
  }

  applyTask(task: TaskView): void {
    this.taskViews.set(task.id, keepUri(task, this.taskViews.get(task.id)?.uri));
    const parts: MirrorPart[] = ["tasks"];
    if (task.state !== REVIEWABLE_TASK_STATE && this.dropReviewsOf(task.id)) {
      parts.push("reviews");
    }
    this.emit(parts);
  }

  applyReview(review: ReviewView): void {
    this.reviewViews.set(review.review_id, review);
    this.emit(["reviews"]);
  }

  applyReviewResolved(resolved: ReviewResolved): void {
    const review = this.reviewViews.get(resolved.review_id);
    // a model's approval of a model+human review leaves it pending for the human
    const waitsForHuman = review?.mode === "model+human" && resolved.approved && resolved.reviewer !== "human";
    if (review !== undefined && !waitsForHuman) {
      this.reviewViews.delete(resolved.review_id);
      this.emit(["reviews"]);
    }
  }

  /** Forgets everything (the server stopped: nothing shown may pretend to be live). */
  clear(): void {
    this.workerViews.clear();
    this.taskViews.clear();
    this.reviewViews.clear();
    this.swarmState = IDLE;
    this.emit(["swarm", "workers", "tasks", "reviews"]);
  }

  private dropReviewsOf(taskId: string): boolean {
    let dropped = false;
    for (const [id, review] of this.reviewViews) {
      if (review.task_id === taskId) {
        this.reviewViews.delete(id);
        dropped = true;
      }
    }
    return dropped;
  }

  /** Each part as text, to tell whether a snapshot changed it. */
  private fingerprints(): Record<MirrorPart, string> {
    return {
      swarm: JSON.stringify(this.swarmState),
      workers: JSON.stringify(this.workers),
      tasks: JSON.stringify([this.tasks, this.swarmState.queue]),  // the Tasks view shows the train
      reviews: JSON.stringify(this.reviews),
    };
  }

  private emit(parts: MirrorPart[]): void {
    const set = new Set(parts);
    for (const listener of this.listeners) {
      listener(set);
    }
  }
}

function replace<T>(target: Map<string, T>, items: T[], key: (item: T) => string): void {
  target.clear();
  for (const item of items) {
    target.set(key(item), item);
  }
}

function keepUri(task: TaskView, knownUri: string | undefined): TaskView {
  return task.uri === undefined && knownUri !== undefined ? { ...task, uri: knownUri } : task;
}

export function countTasks(tasks: Iterable<TaskView>): TaskCounts {
  const counts: TaskCounts = { pending: 0, current: 0, complete: 0, failed: 0 };
  for (const task of tasks) {
    counts[task.state] += 1;
  }
  return counts;
}

const RESTING_WORKER_STATES = new Set(["idle", "done", "stopped", "starting"]);

/** The one-line summary, worded as the server words it in `oompa/swarmState`. */
export function summaryLine(workers: WorkerView[], tasks: TaskView[], reviewCount: number): string {
  const counts = countTasks(tasks);
  const running = workers.filter((w) => !RESTING_WORKER_STATES.has(w.state)).length;
  const parts = [
    `${workers.length} workers`,
    `${counts.pending} pending`,
    `${running} running`,
    `${reviewCount} in review`,
    `${counts.complete} merged`,
  ];
  if (counts.failed > 0) {
    parts.push(`${counts.failed} failed`);
  }
  return parts.join(" · ");
}

function swarmStateOf(snapshot: Snapshot): SwarmState {
  const workers = Object.values(snapshot.workers);
  const tasks = Object.values(snapshot.tasks);
  return {
    state: snapshot.state,
    run_id: snapshot.run_id,
    summary: summaryLine(workers, tasks, Object.keys(snapshot.reviews).length),
    counts: countTasks(tasks),
    paused_reason: snapshot.paused_reason,
    viewer: snapshot.viewer,
    usage: snapshot.usage satisfies Usage,
    stopped_reason: snapshot.stopped_reason,
    queue: snapshot.queue,
  };
}
