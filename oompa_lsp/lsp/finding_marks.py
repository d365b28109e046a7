"""The model reviewer's findings as diagnostics on the `oompa-git:` URIs of a review's diff, for
editors that show a review as plain buffers (Neovim): a finding with a place is an Information
diagnostic on its lines of the file's head (or base) content; when the review is no longer
pending, its diagnostics are cleared. VS Code shows findings as comment threads instead and
turns this off (`initializationOptions.findingDiagnostics: false`).

Reads only the snapshot. Must not import: oompa_lsp.engine, oompa_lsp.adapters, oompa_lsp.cli.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types as lsp

from oompa_lsp.core.review_notes import Finding
from oompa_lsp.core.snapshot import ReviewView, Snapshot

from . import protocol as p

if TYPE_CHECKING:
    from .server import OompaServer

SOURCE = "oompa reviewer"


def finding_diagnostics(snapshot: Snapshot) -> dict[str, list[lsp.Diagnostic]]:
    """Diagnostics by oompa-git: URI, for every placed finding of every pending review."""
    found: dict[str, list[lsp.Diagnostic]] = {}
    for review in snapshot.reviews.values():
        for finding in review.findings:
            if finding.path is not None:
                found.setdefault(_uri_of(review, finding), []).append(_diagnostic(finding))
    return found


def _uri_of(review: ReviewView, finding: Finding) -> str:
    assert finding.path is not None
    return p.git_uri(finding.path, review.head if finding.side == "head" else review.base)


def _diagnostic(finding: Finding) -> lsp.Diagnostic:
    start = max((finding.start_line or 1) - 1, 0)
    end = max((finding.end_line or finding.start_line or 1) - 1, start)
    return lsp.Diagnostic(
        range=lsp.Range(lsp.Position(start, 0), lsp.Position(end + 1, 0)),
        message=f"finding {finding.number}: {finding.text}",
        severity=lsp.DiagnosticSeverity.Information,
        source=SOURCE,
        code=f"finding-{finding.number}",
    )


class FindingMarks:
    """Publishes the findings' diagnostics when they change, and clears the ones that went."""

    def __init__(self, server: OompaServer) -> None:
        self.server = server
        self._published: dict[str, list[lsp.Diagnostic]] = {}

    def sync(self) -> None:
        if not self.server.options.findingDiagnostics:
            return
        current = finding_diagnostics(self.server.snapshot)
        for uri in set(self._published) | set(current):
            diagnostics = current.get(uri, [])
            if self._published.get(uri) != diagnostics:
                params = lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics)
                self.server.text_document_publish_diagnostics(params)
        self._published = current
