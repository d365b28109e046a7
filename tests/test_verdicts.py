"""Reviewer verdicts in our words and the original oompa's: what approves, what the worker is told."""

from __future__ import annotations

import pytest

from oompa_lsp.core.signals import read_verdict


@pytest.mark.parametrize("answer", ["VERDICT: APPROVED", "APPROVED", "**APPROVED**",
                                    "NEEDS_CHANGES\n- Issue 1: x\n\nOn second look it is fine.\nVERDICT: APPROVED"])
def test_approvals_in_either_tool_s_words(answer):
    assert read_verdict(answer).approved


@pytest.mark.parametrize("answer", ["VERDICT: CHANGES_REQUESTED", "VERDICT: NEEDS_CHANGES", "NEEDS_CHANGES",
                                    "VERDICT: REJECTED", "APPROVED\n(too early)\nNEEDS_CHANGES"])
def test_changes_requested_in_either_tool_s_words(answer):
    assert not read_verdict(answer).approved


@pytest.mark.parametrize("answer", ["The old code was APPROVED last week, this is not.",
                                    "Say APPROVED or NEEDS_CHANGES on a line of its own.", "approved"])
def test_prose_that_mentions_a_verdict_word_is_no_verdict(answer):
    verdict = read_verdict(answer)
    assert not verdict.approved and "no VERDICT line" in verdict.issues[0]


def test_the_original_s_issue_lines_become_the_worker_s_feedback():
    verdict = read_verdict("NEEDS_CHANGES\n- Issue 1: src/a.py:12 divides by zero\n"
                           "  when the list is empty\n- Issue 2: no test for b()\n")
    assert verdict.issues == ("- Issue 1: src/a.py:12 divides by zero when the list is empty",
                              "- Issue 2: no test for b()")


def test_numbered_issues_before_our_verdict_line_are_the_feedback():
    verdict = read_verdict("Read the diff.\n\n1. a.py: missing import\n2) b.py: typo\n\nVERDICT: CHANGES_REQUESTED")
    assert verdict.issues == ("1. a.py: missing import", "2) b.py: typo")
