"""What the server shows in the editor's documents: code lenses and diagnostics on spec.md,
the task files and oompa.json, rendered from the session's Snapshot and published.

It keeps the caches that make rendering cheap enough for editors that ask again and again
(a parsed spec per document version, the task ↔ item links, the last lenses and what was last
published per document), keyed by two counters the server bumps: `generation` (any state
change) and `link_generation` (a change that can move a task to another spec item). The
rendering itself is done by the pure functions of diagnostics.py and lenses.py.

Must not import: oompa_lsp.engine, oompa_lsp.cli; from oompa_lsp.adapters only the config file's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types as lsp
from pygls.uris import from_fs_path
from pygls.workspace import TextDocument

from oompa_lsp.adapters.config_file import CONFIG_NAME
from oompa_lsp.core.config import ConfigWarning
from oompa_lsp.core.errors import ConfigError, OompaError
from oompa_lsp.core.spec import SpecDocument, SpecLinks, link_tasks, parse_spec

from .diagnostics import (
    config_diagnostics,
    config_warning_diagnostics,
    in_client_units,
    spec_diagnostics,
    task_file_diagnostics,
)
from .lenses import spec_lenses, task_file_lenses

if TYPE_CHECKING:
    from .server import OompaServer

# The cache keys: what a rendering depends on.
_LinksKey = tuple[int, int, int]  # (id of the parsed spec, link generation, id of the snapshot)
_LensKey = tuple[str, int | None, int, bool]  # (uri, document version, generation, viewer)
# What was published to a document: its version and each diagnostic's range, severity and message.
_Published = tuple[int | None, tuple[tuple[int, int, int, int, lsp.DiagnosticSeverity | None, str], ...]]


class Renderer:
    """Renders and publishes the lenses and diagnostics of the documents oompa knows."""

    def __init__(self, server: OompaServer) -> None:
        self.server = server
        self.generation = 0  # counts state changes, so renderings can be cached between them
        self.link_generation = 0  # counts changes that can move a task to another spec item
        self._spec_cache: dict[str, tuple[int | None, SpecDocument]] = {}
        self._lens_cache: tuple[_LensKey, list[lsp.CodeLens]] | None = None
        self._links_cache: tuple[_LinksKey, SpecLinks, SpecDocument] | None = None
        self._published: dict[str, _Published] = {}  # uri -> what was last published there
        self._invalid_published: set[str] = set()

    def state_changed(self, links_may_move: bool = False) -> None:
        self.generation += 1
        if links_may_move:
            self.link_generation += 1

    def forget(self, uri: str) -> None:
        """A document was closed: its buffer no longer decides what is shown."""
        self._spec_cache.pop(uri, None)
        self._published.pop(uri, None)

    # -- spec.md, parsed and linked ----------------------------------------------------------

    def spec_document(self, document: TextDocument) -> SpecDocument:
        cached = self._spec_cache.get(document.uri)
        if cached is not None and cached[0] == document.version and document.version is not None:
            return cached[1]
        parsed = parse_spec(document.source)
        self._spec_cache[document.uri] = (document.version, parsed)
        return parsed

    def spec_links(self, parsed: SpecDocument) -> SpecLinks:
        """Which tasks implement which items; linked again only when the spec or a task's
        `spec` may have changed (linking slugs every task: too slow for every state change)."""
        snapshot = self.server.snapshot
        key = (id(parsed), self.link_generation, id(snapshot))
        if self._links_cache is not None and self._links_cache[0] == key and self._links_cache[2] is parsed:
            return self._links_cache[1]
        links = link_tasks(parsed, ((t.id, t.spec) for t in snapshot.tasks.values()))
        self._links_cache = (key, links, parsed)
        return links

    # -- code lenses ------------------------------------------------------------------------

    def lenses_for(self, uri: str) -> list[lsp.CodeLens]:
        ls = self.server
        kind = ls.classify(uri)
        if kind is None:
            return []
        if kind[0] == "spec":
            return self._spec_lenses(ls.workspace.get_text_document(uri))
        return task_file_lenses(ls.snapshot, kind[1], kind[2], running=ls.running)

    def _spec_lenses(self, document: TextDocument) -> list[lsp.CodeLens]:
        """Rendered once per (document version, state generation): editors ask again and again."""
        ls = self.server
        if ls.session is None and ls.problem:
            where = lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
            return [lsp.CodeLens(range=where, command=lsp.Command(title=f"oompa: {ls.problem}", command=""))]
        key = (document.uri, document.version, self.generation, ls.viewer)
        if document.version is not None and self._lens_cache is not None and self._lens_cache[0] == key:
            return self._lens_cache[1]
        parsed = self.spec_document(document)
        lenses = spec_lenses(
            ls.snapshot, parsed, self.spec_links(parsed), viewer=ls.viewer, configured_workers=ls.configured_workers()
        )
        self._lens_cache = (key, lenses)
        return lenses

    def refresh_lenses(self, only_if_shown: bool = True) -> bool:
        """Ask the editor for fresh code lenses, if it can be asked (and, `only_if_shown`, an
        open file shows some)."""
        ls = self.server
        if not ls.client_supports("workspace", "code_lens", "refresh_support"):
            return False
        if only_if_shown and not any(ls.classify(uri) is not None for uri in ls.workspace.text_documents):
            return False
        ls.workspace_code_lens_refresh(None)
        return True

    # -- diagnostics ------------------------------------------------------------------------

    def diagnostics_for(self, document: TextDocument) -> list[lsp.Diagnostic] | None:
        ls = self.server
        kind = ls.classify(document.uri)
        if kind is None:
            return None
        if kind[0] == "spec":
            parsed = self.spec_document(document)
            found = spec_diagnostics(ls.snapshot, parsed, self.spec_links(parsed))
        else:
            found = task_file_diagnostics(document.source, kind[1], kind[2], ls.snapshot, running=ls.running)
        return in_client_units(document, found)

    def publish(self, document: TextDocument, *, only_if_changed: bool = False) -> None:
        found = self.diagnostics_for(document)
        if found is None:
            return
        seen = (
            document.version,
            tuple(
                (
                    d.range.start.line,
                    d.range.start.character,
                    d.range.end.line,
                    d.range.end.character,
                    d.severity,
                    d.message,
                )
                for d in found
            ),
        )
        if only_if_changed and self._published.get(document.uri) == seen:
            return  # a state change that does not show here: spare the editor 2,000 diagnostics
        self._published[document.uri] = seen
        self.server.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=document.uri, diagnostics=found, version=document.version)
        )

    def clear(self, uri: str) -> None:
        """A closed document oompa renders: its marks go (the file on disk is not watched)."""
        if self.server.classify(uri) is not None:
            self.server.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def refresh(self) -> None:
        """State changed: re-send diagnostics of open documents and ask for fresh lenses."""
        self.generation += 1
        for document in list(self.server.workspace.text_documents.values()):
            self.publish(document, only_if_changed=True)
        self._publish_invalid_on_disk()
        self.refresh_lenses(only_if_shown=False)

    def _publish_invalid_on_disk(self) -> None:
        """Task files the engine found invalid, when they are not open (open ones follow the buffer)."""
        ls = self.server
        invalid = {from_fs_path(path) for path in ls.snapshot.invalid}
        open_uris = set(ls.workspace.text_documents)
        for uri in (invalid | self._invalid_published) - open_uris:
            document = ls.workspace.get_text_document(uri)
            try:
                found = self.diagnostics_for(document) if uri in invalid else []
            except OSError:
                found = []
            ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=found or []))
        self._invalid_published = invalid - open_uris

    def publish_config_problem(self, error: OompaError | None, warnings: Sequence[ConfigWarning] = ()) -> None:
        """A bad oompa.json is underlined where the problem is; fixed, the mark goes away.
        A good one still shows its warnings (review off, a key that is ignored)."""
        ls = self.server
        if not ls.root:
            return
        found: list[lsp.Diagnostic] = []
        document = ls.workspace.get_text_document(ls.config_uri())
        try:
            if isinstance(error, ConfigError) and Path(error.path).name == CONFIG_NAME:
                found = in_client_units(document, config_diagnostics(error, document.source))
            elif warnings:
                found = in_client_units(document, config_warning_diagnostics(list(warnings), document.source))
        except OSError:
            found = []
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=ls.config_uri(), diagnostics=found))
