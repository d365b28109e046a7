"""Reviews as the views show them: `Snapshot.reviews` (the pending ones, with the checks their
attempt ran and, once a model approved a model+human review, the model's findings) and
`Snapshot.rounds` (every verdict on a task, oldest first), kept from the review events.

Must not import: anything outside the standard library, msgspec and oompa_lsp.core.
"""

from __future__ import annotations

from msgspec import Struct

from . import events as ev
from .review_notes import Finding


class ReviewView(Struct, omit_defaults=True):
    review_id: str
    task_id: str
    worker: str
    branch: str
    base: str
    head: str
    mode: str
    round: int = 1
    requested_at: float = 0.0
    checks: list[ev.CheckResult] = []
    findings: list[Finding] = []  # a model reviewer's, when the review waits for a human after it


class RoundView(Struct, omit_defaults=True):
    """One review round of a task: who judged it, the verdict and what the worker was told."""

    review_id: str
    round: int
    reviewer: str
    approved: bool
    feedback: str = ""
    findings: list[Finding] = []


def requested(e: ev.ReviewRequested) -> ReviewView:
    return ReviewView(e.review_id, e.task_id, e.worker, e.branch, e.base, e.head, e.mode, e.round, e.at, e.checks)


def verdict_given(reviews: dict[str, ReviewView], rounds: dict[str, list[RoundView]], e: ev.ReviewVerdictGiven) -> None:
    """A verdict ends its review, unless a model approved a model+human one: that stays pending
    for the human, with the model's findings. Every verdict is a round of its task."""
    review = reviews.get(e.review_id)
    if review is not None and not (review.mode == "model+human" and e.reviewer != "human" and e.approved):
        del reviews[e.review_id]
    elif review is not None:
        review.findings = e.findings
    round_no = review.round if review is not None else len(rounds.get(e.task_id, [])) + 1
    rounds.setdefault(e.task_id, []).append(
        RoundView(e.review_id, round_no, e.reviewer, e.approved, e.feedback, e.findings)
    )
