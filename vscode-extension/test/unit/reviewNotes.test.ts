import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DiffFinding, ReviewDiff } from "../../src/protocol";
import { DraftStore, commentsToSend, placeOfUri, uriOfPlace, unplacedFindings, type NotesMemento } from "../../src/reviewNotes";

/** workspaceState as a Map that survives "reloads" (a new DraftStore over the same map). */
function memento(): NotesMemento & { map: Map<string, unknown> } {
  const map = new Map<string, unknown>();
  return {
    map,
    get: <T>(key: string) => map.get(key) as T | undefined,
    update: (key: string, value: unknown) => {
      if (value === undefined) {
        map.delete(key);
      } else {
        map.set(key, JSON.parse(JSON.stringify(value)));
      }
      return Promise.resolve();
    },
  };
}

const DIFF: ReviewDiff = {
  review_id: "calc-1-1",
  task_id: "calc",
  base: "b0",
  head: "h1",
  files: [
    { path: "calc/ops.py", status: "M", base_uri: "oompa-git:/calc/ops.py?ref=b0", head_uri: "oompa-git:/calc/ops.py?ref=h1" },
    { path: "new/name.py", status: "R", old_path: "old/name.py", base_uri: "oompa-git:/old/name.py?ref=b0", head_uri: "oompa-git:/new/name.py?ref=h1" },
  ],
  findings: [],
};
const FINDINGS: DiffFinding[] = [
  { number: 1, text: "divides by zero", path: "calc/ops.py", side: "head", startLine: 6, endLine: 6 },
  { number: 2, text: "tidy the module", path: "new/name.py", side: "head", startLine: null, endLine: null },
  { number: 3, text: "the README says nothing", path: null, side: "head", startLine: null, endLine: null },
];

describe("review notes", () => {
  it("keeps draft comments across a reload until they are sent", async () => {
    const state = memento();
    await new DraftStore(state).addDraft("calc-1-1", { path: "calc/ops.py", side: "head", startLine: 5, endLine: 6, body: "guard b" });
    await new DraftStore(state).addDraft("calc-1-1", { path: "calc/ops.py", side: "base", startLine: 5, endLine: 5, body: "why gone?" });
    const reloaded = new DraftStore(state);
    assert.deepEqual(
      reloaded.notes("calc-1-1").drafts.map((d) => [d.id, d.side, d.startLine, d.body]),
      [["c1", "head", 5, "guard b"], ["c2", "base", 5, "why gone?"]],
    );
    await reloaded.removeDraft("calc-1-1", "c1");
    assert.deepEqual(reloaded.notes("calc-1-1").drafts.map((d) => d.id), ["c2"]);
    await reloaded.clear("calc-1-1");
    assert.deepEqual(new DraftStore(state).notes("calc-1-1"), { drafts: [], included: [], resolved: [] });
    assert.equal(state.map.size, 0);
  });

  it("sends the drafts and the included findings, each at its place; a resolved finding is left out", async () => {
    const store = new DraftStore(memento());
    await store.addDraft("r", { path: "calc/ops.py", side: "head", startLine: 2, endLine: 2, body: "name it" });
    await store.include("r", 1, true);
    await store.include("r", 2, true);
    await store.resolve("r", 2, true);
    assert.deepEqual(commentsToSend(store.notes("r"), FINDINGS), [
      { path: "calc/ops.py", side: "head", startLine: 2, endLine: 2, body: "name it" },
      { path: "calc/ops.py", side: "head", startLine: 6, endLine: 6, body: "(the model reviewer's finding 1) divides by zero" },
    ]);
  });

  it("sends a reply to a finding with the finding it answers", async () => {
    const store = new DraftStore(memento());
    await store.addDraft("r", { path: "calc/ops.py", side: "head", startLine: 6, endLine: 6, body: "agreed" }, 1);
    assert.deepEqual(commentsToSend(store.notes("r"), FINDINGS).map((c) => c.body), ["agreed\n\n(re: the model reviewer's finding 1: divides by zero)"]);
  });

  it("knows which file and side a diff URI shows, a renamed file's base under its new path", () => {
    assert.deepEqual(placeOfUri(DIFF, "oompa-git:/old/name.py?ref=b0"), { path: "new/name.py", side: "base" });
    assert.deepEqual(placeOfUri(DIFF, "oompa-git:/calc/ops.py?ref=h1"), { path: "calc/ops.py", side: "head" });
    assert.equal(placeOfUri(DIFF, "oompa-git:/other.py?ref=h1"), undefined);
    assert.equal(uriOfPlace(DIFF, "new/name.py", "base"), "oompa-git:/old/name.py?ref=b0");
  });

  it("leaves the findings without a place to the summary", () => {
    assert.deepEqual(unplacedFindings(FINDINGS).map((f) => f.number), [3]);
  });
});
