/**
 * The reviewer's notes on a review's diff, without the editor: draft line comments kept in a
 * memento (VS Code's workspaceState) until they are sent, which of the model's findings go
 * with a request for changes, where a diff URI sits in a review (file and side), and the
 * `LocatedComment`s a rejection or approval carries.
 *
 * Must not import: vscode (this module is unit-tested in plain Node).
 */

import type { DiffFinding, LocatedComment, ReviewDiff, Side } from "./protocol";

/** A line comment not yet sent; lines are 1-based as on the wire. */
export interface Draft extends LocatedComment {
  id: string;
  /** Set when the comment replies to a model finding (it is placed where the finding is). */
  finding?: number;
}

/** What the drafts of one review are kept as, across editor reloads. */
export interface ReviewNotesState {
  drafts: Draft[];
  /** Numbers of the model's findings to send with the request for changes. */
  included: number[];
  resolved: number[];
}

/** The part of vscode.Memento this needs (workspaceState), so tests can pass a Map. */
export interface NotesMemento {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): Thenable<void>;
}

const KEY_PREFIX = "oompa.reviewNotes/";

export class DraftStore {
  constructor(private readonly memento: NotesMemento) {}

  notes(reviewId: string): ReviewNotesState {
    const stored = this.memento.get<ReviewNotesState>(KEY_PREFIX + reviewId);
    return { drafts: stored?.drafts ?? [], included: stored?.included ?? [], resolved: stored?.resolved ?? [] };
  }

  async addDraft(reviewId: string, comment: LocatedComment, finding?: number): Promise<Draft> {
    const notes = this.notes(reviewId);
    const draft: Draft = { ...comment, id: nextId(notes.drafts) };
    if (finding !== undefined) {
      draft.finding = finding;
    }
    await this.save(reviewId, { ...notes, drafts: [...notes.drafts, draft] });
    return draft;
  }

  async removeDraft(reviewId: string, id: string): Promise<void> {
    const notes = this.notes(reviewId);
    await this.save(reviewId, { ...notes, drafts: notes.drafts.filter((d) => d.id !== id) });
  }

  /** Marks a finding as going with the request for changes (or not). */
  async include(reviewId: string, finding: number, included: boolean): Promise<void> {
    const notes = this.notes(reviewId);
    const others = notes.included.filter((n) => n !== finding);
    await this.save(reviewId, { ...notes, included: included ? [...others, finding] : others });
  }

  async resolve(reviewId: string, finding: number, resolved: boolean): Promise<void> {
    const notes = this.notes(reviewId);
    const others = notes.resolved.filter((n) => n !== finding);
    const included = resolved ? notes.included.filter((n) => n !== finding) : notes.included;
    await this.save(reviewId, { ...notes, included, resolved: resolved ? [...others, finding] : others });
  }

  /** Forgets a review's notes: they were sent, or the review is over. */
  async clear(reviewId: string): Promise<void> {
    await this.memento.update(KEY_PREFIX + reviewId, undefined);
  }

  private async save(reviewId: string, notes: ReviewNotesState): Promise<void> {
    await this.memento.update(KEY_PREFIX + reviewId, notes);
  }
}

function nextId(drafts: Draft[]): string {
  const used = new Set(drafts.map((d) => d.id));
  let n = drafts.length + 1;
  while (used.has(`c${n}`)) {
    n += 1;
  }
  return `c${n}`;
}

/** The comments a request for changes sends: every draft, then each included finding. */
export function commentsToSend(notes: ReviewNotesState, findings: DiffFinding[]): LocatedComment[] {
  const comments: LocatedComment[] = notes.drafts.map(({ path, side, startLine, endLine, body, finding }) => {
    const about = findings.find((f) => f.number === finding);
    // a reply to a finding says which one, so the worker reads the two together
    const said = about === undefined ? body : `${body}\n\n(re: the model reviewer's finding ${about.number}: ${about.text})`;
    return { path, side, startLine, endLine, body: said };
  });
  for (const number of notes.included) {
    const finding = findings.find((f) => f.number === number);
    if (finding !== undefined && finding.path !== null) {
      const place = findingPlace(finding);
      comments.push({ path: finding.path, side: finding.side, ...place, body: `(the model reviewer's finding ${number}) ${finding.text}` });
    }
  }
  return comments;
}

/** 1-based lines a finding's thread sits on: its lines, or the file's first line. */
export function findingPlace(finding: DiffFinding): { startLine: number; endLine: number } {
  const startLine = finding.startLine ?? 1;
  return { startLine, endLine: finding.endLine ?? startLine };
}

/** The findings that name no file of the change: the summary shows them. */
export function unplacedFindings(findings: DiffFinding[]): DiffFinding[] {
  return findings.filter((f) => f.path === null);
}

/** Where a diff URI (as the server wrote it, without our fragment) sits: which file, which side. */
export function placeOfUri(diff: ReviewDiff, serverUri: string): { path: string; side: Side } | undefined {
  for (const file of diff.files) {
    if (file.head_uri === serverUri) {
      return { path: file.path, side: "head" };
    }
    if (file.base_uri === serverUri) {
      return { path: file.path, side: "base" };
    }
  }
  return undefined;
}

/** The server URI of a file's side (where a thread on `path`/`side` belongs). */
export function uriOfPlace(diff: ReviewDiff, path: string, side: Side): string | undefined {
  const file = diff.files.find((f) => f.path === path);
  return file === undefined ? undefined : side === "head" ? file.head_uri : file.base_uri;
}
