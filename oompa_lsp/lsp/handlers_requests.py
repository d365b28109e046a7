"""Handlers for oompa's custom requests (`oompa/status`, `oompa/diff`, `oompa/fileContent`)
and LSP's `workspace/textDocumentContent` for oompa-git: URIs; and the conversion of a
review's diff into the protocol's `DiffResult`.

Params arrive decoded (or as `BadParams`) by `protocol.OompaProtocol`; answers are builtins.

Must not import: oompa_lsp.engine, oompa_lsp.adapters, oompa_lsp.cli.
"""

from __future__ import annotations

from typing import Any

import anyio
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams

from oompa_lsp.core.errors import EngineRequestError
from oompa_lsp.core.review_notes import Finding

from . import protocol as p
from .review_summary import review_summary
from .server import OompaServer


def register(server: OompaServer) -> None:
    @server.feature(p.STATUS)
    async def status(ls: OompaServer, params: Any) -> dict[str, Any]:
        p.raise_if_bad(params)
        await ls.until_ready()
        snapshot = ls.snapshot
        fields = {name: getattr(snapshot, name) for name in snapshot.__struct_fields__}
        return p.to_payload(p.StatusResult(**fields, viewer=ls.viewer))

    @server.feature(p.DIFF)
    async def diff(ls: OompaServer, params: Any) -> dict[str, Any]:
        p.raise_if_bad(params)
        return await review_diff(ls, params.review_id)

    @server.feature(p.FILE_CONTENT)
    async def file_content(ls: OompaServer, params: Any) -> dict[str, Any]:
        p.raise_if_bad(params)
        return {"content": await git_content(ls, params.uri)}

    @server.feature(p.REVIEW_SUMMARY)
    async def summary(ls: OompaServer, params: Any) -> dict[str, Any]:
        p.raise_if_bad(params)
        session = await ls.require_session()
        review = ls.snapshot.reviews.get(params.review_id)
        if review is None:
            raise JsonRpcInvalidParams(f"no pending review {params.review_id!r}")
        task = await session.task_of(review.task_id)
        markdown = review_summary(ls.snapshot, review, task)
        return p.to_payload(p.ReviewSummaryResult(params.review_id, markdown))

    @server.feature(lsp.WORKSPACE_TEXT_DOCUMENT_CONTENT)
    async def text_document_content(
        ls: OompaServer, params: lsp.TextDocumentContentParams
    ) -> lsp.TextDocumentContentResult:
        return lsp.TextDocumentContentResult(text=await git_content(ls, params.uri))


async def review_diff(ls: OompaServer, review_id: str) -> dict[str, Any]:
    """The files a review changes, with oompa-git: URIs of both sides (`oompa/diff`, `oompa.openDiff`)."""
    session = await ls.require_session()
    try:
        found = await session.review_diff(review_id)
    except EngineRequestError as exc:
        raise JsonRpcInvalidParams(str(exc)) from None
    return p.to_payload(diff_result(found))


def diff_result(found: Any) -> p.DiffResult:
    """The protocol's DiffResult for the session's review diff (its files, base and head)."""
    files = [
        p.DiffFile(
            path=f.path,
            status=status_letter(f.status),
            base_uri=p.git_uri(getattr(f, "old_path", None) or f.path, found.base),
            head_uri=p.git_uri(f.path, found.head),
            old_path=getattr(f, "old_path", None),
        )
        for f in found.files
    ]
    findings = [diff_finding(f) for f in getattr(found, "findings", [])]
    return p.DiffResult(found.review_id, found.task_id, found.base, found.head, files, findings)


def diff_finding(finding: Finding) -> p.DiffFinding:
    return p.DiffFinding(finding.number, finding.text, finding.path, finding.side, finding.start_line, finding.end_line)


_DIFF_STATUSES: dict[str, p.DiffStatus] = {"A": "A", "M": "M", "D": "D", "R": "R"}


def status_letter(status: str) -> p.DiffStatus:
    # copies and type changes read as modifications
    return _DIFF_STATUSES.get(status[:1].upper(), "M")


async def git_content(ls: OompaServer, uri: str) -> str:
    """The text of an oompa-git: URI, read from the repository at its ref."""
    path, ref = p.parse_git_uri(uri)
    session = await ls.require_session()
    data = await anyio.to_thread.run_sync(session.swarm.repo.file_at, ref, path)
    return (data or b"").decode("utf-8", errors="replace")
