/**
 * The editor protocol of oompa-lsp, mirrored in one place: method names, command ids,
 * payload types and the decoders that turn what arrives on the wire into those types.
 *
 * The server's `oompa_lsp/lsp/protocol.py` is the source of truth (documented in
 * docs/protocol.md); field names stay as they are on the wire (snake_case) so the two can
 * be compared line by line. Decoders accept unknown extra fields (a newer server may add
 * some) but reject a payload whose known fields have the wrong type, naming the field.
 *
 * Must not import: vscode (this module is unit-tested in plain Node).
 */

export const Notification = {
  swarmState: "oompa/swarmState",
  workerUpdated: "oompa/workerUpdated",
  taskUpdated: "oompa/taskUpdated",
  reviewRequested: "oompa/reviewRequested",
  reviewResolved: "oompa/reviewResolved",
  log: "oompa/log",
} as const;

export const Request = {
  status: "oompa/status",
  diff: "oompa/diff",
  fileContent: "oompa/fileContent",
  report: "oompa/report",
  reviewSummary: "oompa/reviewSummary",
} as const;

/** Server-side command ids (`workspace/executeCommand`); arguments are positional. */
export const ServerCommand = {
  startSwarm: "oompa.startSwarm",
  stopSwarm: "oompa.stopSwarm",
  approve: "oompa.approve",
  reject: "oompa.reject",
  requeue: "oompa.requeue",
  cancelTask: "oompa.cancelTask",
  openDiff: "oompa.openDiff",
  tickItem: "oompa.tickItem",
  resumeQueue: "oompa.resumeQueue",
} as const;

/** URIs of file contents at a commit: `oompa-git:/<path>?ref=<sha>`. */
export const CONTENT_SCHEME = "oompa-git";

export const TASK_STATES = ["pending", "current", "complete", "failed"] as const;
export type TaskState = (typeof TASK_STATES)[number];

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cost_usd?: number;
}

export interface WorkerView {
  id: string;
  model: string;
  role: string;
  state: string;
  task_id?: string;
  detail: string;
  since: number;
  cycles: number;
  iterations: number;
  turns: number;
  usage: Usage;
}

export interface TaskView {
  id: string;
  state: TaskState;
  summary: string;
  spec?: string;
  worker?: string;
  attempt: number;
  review_round: number;
  last_feedback: string;
  commit?: string;
  reason: string;
  /** Why a pending task is not started now ("behind add-login on src/auth/"); "" otherwise. */
  waiting: string;
  /** The task file (sent with `oompa/taskUpdated`; a status snapshot may lack it). */
  uri?: string;
}

export interface ReviewView {
  review_id: string;
  task_id: string;
  worker: string;
  branch: string;
  base: string;
  head: string;
  mode: string;
  round: number;
  requested_at: number;
}

export interface TaskCounts {
  pending: number;
  current: number;
  complete: number;
  failed: number;
}

/** `oompa/swarmState`. */
export interface SwarmState {
  state: string;
  run_id: string;
  summary: string;
  counts: TaskCounts;
  paused_reason: string;
  viewer: boolean;
  usage: Usage;
  stopped_reason: string;
  /** The merge train, in landing order. */
  queue: QueueEntry[];
}

export type QueueState = "queued" | "merging" | "checking" | "passed" | "failed" | "landed";

/** One request in the merge train: its place (1 = next to land; 0 once settled) and check state. */
export interface QueueEntry {
  task_id: string;
  worker: string;
  position: number;
  state: QueueState;
  detail: string;
}

/** `oompa/reviewResolved`: a verdict was given; the review is no longer pending, except when a
 * model approved a model+human review (it then waits for the human). */
export interface ReviewResolved {
  review_id: string;
  task_id: string;
  approved: boolean;
  reviewer: string;
  feedback: string;
}

/** What every server command except `oompa.openDiff` returns. */
export interface CommandResult {
  ok: boolean;
  message: string;
  viewer: boolean;
}

export interface MergeView {
  task_id: string;
  commit: string;
  at: number;
}

/** The result of `oompa/status`: the engine's snapshot plus `viewer`. */
export interface Snapshot {
  run_id: string;
  state: string;
  repo: string;
  target: string;
  review_mode: string;
  started_at: number;
  stopped_reason: string;
  paused_reason: string;
  workers: Record<string, WorkerView>;
  tasks: Record<string, TaskView>;
  reviews: Record<string, ReviewView>;
  merges: MergeView[];
  parked: string[];
  invalid: Record<string, string[]>;
  usage: Usage;
  viewer: boolean;
  queue: QueueEntry[];
}

export type FileStatus = "A" | "M" | "D" | "R";

export interface DiffFile {
  path: string;
  status: FileStatus;
  base_uri: string;
  head_uri: string;
  /** For renames: the path at the base. */
  old_path?: string;
}

/** head: the worker's version of a file; base: the merge base's (lines the change removed). */
export type Side = "head" | "base";

/** A line comment, as `oompa.reject` and `oompa.approve` take it (camelCase on the wire). */
export interface LocatedComment {
  path: string;
  side: Side;
  startLine: number;
  endLine: number;
  body: string;
}

/** One of the model reviewer's numbered issues; `path` null: no place in the code. */
export interface DiffFinding {
  number: number;
  text: string;
  path: string | null;
  side: Side;
  startLine: number | null;
  endLine: number | null;
}

/** The result of `oompa/diff` and of the `oompa.openDiff` command. */
export interface ReviewDiff {
  review_id: string;
  task_id: string;
  base: string;
  head: string;
  files: DiffFile[];
  findings: DiffFinding[];
}

export type LogLevel = "info" | "warning" | "error";

/** `oompa/log`. */
export interface LogMessage {
  level: LogLevel;
  message: string;
  worker?: string;
  at: number;
}

/** A payload that does not match the protocol; `message` names the field. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

type Fields = Record<string, unknown>;

function asObject(value: unknown, where: string): Fields {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError(`${where}: expected an object, got ${describe(value)}`);
  }
  return value as Fields;
}

function describe(value: unknown): string {
  if (value === null) {
    return "null";
  }
  return Array.isArray(value) ? "an array" : typeof value;
}

function str(o: Fields, key: string, where: string, fallback?: string): string {
  const value = o[key];
  if (typeof value === "string") {
    return value;
  }
  if ((value === undefined || value === null) && fallback !== undefined) {
    return fallback;
  }
  throw new ProtocolError(`${where}.${key}: expected a string, got ${describe(value)}`);
}

function optStr(o: Fields, key: string, where: string): string | undefined {
  return o[key] === undefined || o[key] === null ? undefined : str(o, key, where);
}

function num(o: Fields, key: string, where: string, fallback = 0): number {
  const value = o[key];
  if (value === undefined || value === null) {
    return fallback;
  }
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new ProtocolError(`${where}.${key}: expected a number, got ${describe(value)}`);
  }
  return value;
}

function bool(o: Fields, key: string, where: string): boolean {
  const value = o[key];
  if (value === undefined || value === null) {
    return false;
  }
  if (typeof value !== "boolean") {
    throw new ProtocolError(`${where}.${key}: expected a boolean, got ${describe(value)}`);
  }
  return value;
}

function oneOf<T extends string>(o: Fields, key: string, where: string, allowed: readonly T[]): T {
  const value = str(o, key, where);
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ProtocolError(`${where}.${key}: expected one of ${allowed.join("|")}, got "${value}"`);
  }
  return value as T;
}

function record<T>(value: unknown, where: string, decode: (item: unknown, where: string) => T): Record<string, T> {
  if (value === undefined || value === null) {
    return {};
  }
  const out: Record<string, T> = {};
  for (const [key, item] of Object.entries(asObject(value, where))) {
    out[key] = decode(item, `${where}.${key}`);
  }
  return out;
}

function list<T>(value: unknown, where: string, decode: (item: unknown, where: string) => T): T[] {
  if (value === undefined || value === null) {
    return [];
  }
  if (!Array.isArray(value)) {
    throw new ProtocolError(`${where}: expected an array, got ${describe(value)}`);
  }
  return value.map((item, index) => decode(item, `${where}[${index}]`));
}

/** Copies `key` onto `target` only when present: optional fields stay absent, not undefined. */
function withOptional<T extends object, K extends string>(target: T, key: K, value: string | undefined): T {
  if (value !== undefined) {
    (target as Record<string, unknown>)[key] = value;
  }
  return target;
}

export function decodeUsage(value: unknown, where = "usage"): Usage {
  if (value === undefined || value === null) {
    return { input_tokens: 0, output_tokens: 0 };
  }
  const o = asObject(value, where);
  const usage: Usage = { input_tokens: num(o, "input_tokens", where), output_tokens: num(o, "output_tokens", where) };
  if (o.cost_usd !== undefined && o.cost_usd !== null) {
    usage.cost_usd = num(o, "cost_usd", where);
  }
  return usage;
}

export function decodeWorker(value: unknown, where = "worker"): WorkerView {
  const o = asObject(value, where);
  const worker: WorkerView = {
    id: str(o, "id", where),
    model: str(o, "model", where, ""),
    role: str(o, "role", where, ""),
    state: str(o, "state", where, "starting"),
    detail: str(o, "detail", where, ""),
    since: num(o, "since", where),
    cycles: num(o, "cycles", where),
    iterations: num(o, "iterations", where),
    turns: num(o, "turns", where),
    usage: decodeUsage(o.usage, `${where}.usage`),
  };
  return withOptional(worker, "task_id", optStr(o, "task_id", where));
}

export function decodeTask(value: unknown, where = "task"): TaskView {
  const o = asObject(value, where);
  const task: TaskView = {
    id: str(o, "id", where),
    state: oneOf(o, "state", where, TASK_STATES),
    summary: str(o, "summary", where, ""),
    attempt: num(o, "attempt", where),
    review_round: num(o, "review_round", where),
    last_feedback: str(o, "last_feedback", where, ""),
    reason: str(o, "reason", where, ""),
    waiting: str(o, "waiting", where, ""),
  };
  withOptional(task, "spec", optStr(o, "spec", where));
  withOptional(task, "worker", optStr(o, "worker", where));
  withOptional(task, "commit", optStr(o, "commit", where));
  return withOptional(task, "uri", optStr(o, "uri", where));
}

export function decodeReview(value: unknown, where = "review"): ReviewView {
  const o = asObject(value, where);
  return {
    review_id: str(o, "review_id", where),
    task_id: str(o, "task_id", where),
    worker: str(o, "worker", where, ""),
    branch: str(o, "branch", where, ""),
    base: str(o, "base", where, ""),
    head: str(o, "head", where, ""),
    mode: str(o, "mode", where, ""),
    round: num(o, "round", where, 1),
    requested_at: num(o, "requested_at", where),
  };
}

function decodeCounts(value: unknown, where: string): TaskCounts {
  const o = value === undefined || value === null ? {} : asObject(value, where);
  return {
    pending: num(o, "pending", where),
    current: num(o, "current", where),
    complete: num(o, "complete", where),
    failed: num(o, "failed", where),
  };
}

export function decodeSwarmState(value: unknown, where = "swarmState"): SwarmState {
  const o = asObject(value, where);
  return {
    state: str(o, "state", where),
    run_id: str(o, "run_id", where, ""),
    summary: str(o, "summary", where, ""),
    counts: decodeCounts(o.counts, `${where}.counts`),
    paused_reason: str(o, "paused_reason", where, ""),
    viewer: bool(o, "viewer", where),
    usage: decodeUsage(o.usage, `${where}.usage`),
    stopped_reason: str(o, "stopped_reason", where, ""),
    queue: list(o.queue, `${where}.queue`, decodeQueueEntry),
  };
}

const QUEUE_STATES = ["queued", "merging", "checking", "passed", "failed", "landed"] as const;

export function decodeQueueEntry(value: unknown, where = "queue"): QueueEntry {
  const o = asObject(value, where);
  return {
    task_id: str(o, "task_id", where),
    worker: str(o, "worker", where, ""),
    position: num(o, "position", where),
    state: o.state === undefined ? "queued" : oneOf(o, "state", where, QUEUE_STATES),  // the default is left out
    detail: str(o, "detail", where, ""),
  };
}

export function decodeReviewResolved(value: unknown, where = "reviewResolved"): ReviewResolved {
  const o = asObject(value, where);
  return {
    review_id: str(o, "review_id", where),
    task_id: str(o, "task_id", where),
    approved: bool(o, "approved", where),
    reviewer: str(o, "reviewer", where, ""),
    feedback: str(o, "feedback", where, ""),
  };
}

export function decodeCommandResult(value: unknown, where = "command result"): CommandResult {
  const o = asObject(value, where);
  return { ok: bool(o, "ok", where), message: str(o, "message", where, ""), viewer: bool(o, "viewer", where) };
}

function decodeMerge(value: unknown, where: string): MergeView {
  const o = asObject(value, where);
  return { task_id: str(o, "task_id", where), commit: str(o, "commit", where), at: num(o, "at", where) };
}

function decodeString(value: unknown, where: string): string {
  if (typeof value !== "string") {
    throw new ProtocolError(`${where}: expected a string, got ${describe(value)}`);
  }
  return value;
}

export function decodeSnapshot(value: unknown, where = "status"): Snapshot {
  const o = asObject(value, where);
  return {
    run_id: str(o, "run_id", where, ""),
    state: str(o, "state", where, "idle"),
    repo: str(o, "repo", where, ""),
    target: str(o, "target", where, ""),
    review_mode: str(o, "review_mode", where, ""),
    started_at: num(o, "started_at", where),
    stopped_reason: str(o, "stopped_reason", where, ""),
    paused_reason: str(o, "paused_reason", where, ""),
    workers: record(o.workers, `${where}.workers`, decodeWorker),
    tasks: record(o.tasks, `${where}.tasks`, decodeTask),
    reviews: record(o.reviews, `${where}.reviews`, decodeReview),
    merges: list(o.merges, `${where}.merges`, decodeMerge),
    parked: list(o.parked, `${where}.parked`, decodeString),
    invalid: record(o.invalid, `${where}.invalid`, (item, at) => list(item, at, decodeString)),
    usage: decodeUsage(o.usage, `${where}.usage`),
    viewer: bool(o, "viewer", where),
    queue: list(o.queue, `${where}.queue`, decodeQueueEntry),
  };
}

function decodeDiffFile(value: unknown, where: string): DiffFile {
  const o = asObject(value, where);
  const file: DiffFile = {
    path: str(o, "path", where),
    status: oneOf(o, "status", where, ["A", "M", "D", "R"] as const),
    base_uri: str(o, "base_uri", where),
    head_uri: str(o, "head_uri", where),
  };
  return withOptional(file, "old_path", optStr(o, "old_path", where));
}

export function decodeReviewDiff(value: unknown, where = "diff"): ReviewDiff {
  const o = asObject(value, where);
  return {
    review_id: str(o, "review_id", where),
    task_id: str(o, "task_id", where),
    base: str(o, "base", where),
    head: str(o, "head", where),
    files: list(o.files, `${where}.files`, decodeDiffFile),
    findings: list(o.findings, `${where}.findings`, decodeFinding),
  };
}

function optNum(o: Fields, key: string, where: string): number | null {
  return o[key] === undefined || o[key] === null ? null : num(o, key, where);
}

function decodeFinding(value: unknown, where: string): DiffFinding {
  const o = asObject(value, where);
  return {
    number: num(o, "number", where),
    text: str(o, "text", where),
    path: optStr(o, "path", where) ?? null,
    side: oneOf(o, "side", where, ["head", "base"] as const),
    startLine: optNum(o, "startLine", where),
    endLine: optNum(o, "endLine", where),
  };
}

/** `oompa/reviewSummary`: the review's summary as markdown. */
export function decodeReviewSummary(value: unknown, where = "reviewSummary"): string {
  return str(asObject(value, where), "markdown", where);
}

export function decodeFileContent(value: unknown, where = "fileContent"): string {
  return str(asObject(value, where), "content", where);
}

/** `oompa/report`: a run's report as one self-contained HTML page, and where it was written. */
export interface RunReport {
  run_id: string;
  html: string;
  path: string;
}

export function decodeReport(value: unknown, where = "report"): RunReport {
  const o = asObject(value, where);
  return { run_id: str(o, "run_id", where), html: str(o, "html", where), path: str(o, "path", where) };
}

export function decodeLog(value: unknown, where = "log"): LogMessage {
  const o = asObject(value, where);
  const log: LogMessage = {
    level: oneOf(o, "level", where, ["info", "warning", "error"] as const),
    message: str(o, "message", where),
    at: num(o, "at", where),
  };
  return withOptional(log, "worker", optStr(o, "worker", where));
}
