import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ProtocolError, decodeReviewDiff, decodeReviewSummary } from "../../src/protocol";

const FILE = { path: "a.py", status: "M", base_uri: "oompa-git:/a.py?ref=b0", head_uri: "oompa-git:/a.py?ref=h1" };

describe("the review protocol", () => {
  it("reads the model's findings of a diff, placed or not (camelCase lines, null when none)", () => {
    const diff = decodeReviewDiff({
      review_id: "r",
      task_id: "t",
      base: "b0",
      head: "h1",
      files: [FILE],
      findings: [
        { number: 1, text: "a.py:3 off by one", path: "a.py", side: "head", startLine: 3, endLine: 3 },
        { number: 2, text: "no docs", path: null, side: "head", startLine: null, endLine: null },
      ],
    });
    assert.deepEqual(diff.findings.map((f) => [f.number, f.path, f.startLine]), [[1, "a.py", 3], [2, null, null]]);
  });

  it("reads a diff from a server that sends no findings as having none", () => {
    assert.deepEqual(decodeReviewDiff({ review_id: "r", task_id: "t", base: "b0", head: "h1", files: [FILE] }).findings, []);
  });

  it("names a finding's bad field", () => {
    const bad = { review_id: "r", task_id: "t", base: "b", head: "h", files: [], findings: [{ number: 1, text: "x", path: null, side: "left" }] };
    assert.throws(() => decodeReviewDiff(bad), (error: unknown) => error instanceof ProtocolError && /findings\[0\]\.side/.test(error.message));
  });

  it("reads the review summary's markdown", () => {
    assert.equal(decodeReviewSummary({ review_id: "r", markdown: "# Review r" }), "# Review r");
  });
});
