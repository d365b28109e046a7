"""What the server shows in the editor's documents: code lenses and diagnostics on spec.md,
the task files and oompa.json, rendered from the session's Snapshot and published.

spec.md is rendered by a `SpecView` per open buffer (spec_view.py), kept item by item: the
server tells the renderer what each event touched (`event_applied`) or that everything may
have changed (`state_changed`), and only that is rendered again. The last answer of code
lenses is kept per (document version, state generation), since editors ask again and again;
what was last published is kept per document, so an unchanged set is not sent again. The
rendering itself is done by the pure functions of diagnostics.py and lenses.py.

Must not import: oompa_lsp.engine, oompa_lsp.cli; from oompa_lsp.adapters only the config file's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp
from pygls.uris import from_fs_path
from pygls.workspace import TextDocument

from oompa_lsp.adapters.config_file import CONFIG_NAME
from oompa_lsp.core.config import ConfigWarning
from oompa_lsp.core.errors import ConfigError, OompaError
from oompa_lsp.core.events import Event, TaskSeen

from .diagnostics import (
    config_diagnostics,
    config_warning_diagnostics,
    in_client_units,
    task_file_diagnostics,
)
from .lenses import swarm_lenses, task_file_lenses
from .spec_view import SpecView, tasks_named
from .wire import Prebuilt, converter

if TYPE_CHECKING:
    from .server import OompaServer

_LensKey = tuple[str, int | None, int, bool]  # (uri, document version, generation, viewer)
# What was published to a task file: its version and each diagnostic's range, severity and
# message; to spec.md: its version, the view and the view's revision of its diagnostics.
_Published = tuple[Any, ...]


class Renderer:
    """Renders and publishes the lenses and diagnostics of the documents oompa knows."""

    def __init__(self, server: OompaServer) -> None:
        self.server = server
        self.generation = 0  # counts state changes, so renderings can be cached between them
        self._unstructure = converter().unstructure
        self._views: dict[str, SpecView] = {}  # uri -> the view of the buffer's latest version
        self._lens_cache: tuple[_LensKey, list[Any]] | None = None
        self._published: dict[str, _Published] = {}  # uri -> what was last published there
        self._invalid_published: set[str] = set()

    def event_applied(self, event: Event) -> None:
        """An event was applied to the snapshot: what it names is rendered again."""
        self.generation += 1
        named = tasks_named(event, self.server.snapshot)
        for view in self._views.values():
            if isinstance(event, TaskSeen):  # the only event that can change a task's `spec`
                view.relink(event.task_id)
            if named:
                view.tasks_changed(named)

    def state_changed(self) -> None:
        """The snapshot may have changed wholesale (a session opened, a mode changed)."""
        self.generation += 1
        for view in self._views.values():
            view.everything_changed()

    def forget(self, uri: str) -> None:
        """A document was closed: its buffer no longer decides what is shown."""
        self._views.pop(uri, None)
        self._published.pop(uri, None)

    # -- spec.md, parsed and linked ----------------------------------------------------------

    def spec_view(self, document: TextDocument) -> SpecView:
        """The view of the buffer's current version: parsed once per version (a buffer with no
        version, read from disk, every time)."""
        known = self._views.get(document.uri)
        if known is not None and known.version == document.version and document.version is not None:
            return known
        view = SpecView(document, self._unstructure, previous=known)
        if document.version is not None:
            self._views[document.uri] = view
        return view

    # -- code lenses ------------------------------------------------------------------------

    def lenses_for(self, uri: str) -> list[Any]:
        ls = self.server
        kind = ls.classify(uri)
        if kind is None:
            return []
        if kind[0] == "spec":
            return self._spec_lenses(ls.workspace.get_text_document(uri))
        return task_file_lenses(ls.snapshot, kind[1], kind[2], running=ls.running)

    def _spec_lenses(self, document: TextDocument) -> list[Any]:
        """Answered once per (document version, state generation): editors ask again and again."""
        ls = self.server
        if ls.session is None and ls.problem:
            where = lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
            return [lsp.CodeLens(range=where, command=lsp.Command(title=f"oompa: {ls.problem}", command=""))]
        key = (document.uri, document.version, self.generation, ls.viewer)
        if document.version is not None and self._lens_cache is not None and self._lens_cache[0] == key:
            return self._lens_cache[1]
        snapshot = ls.snapshot
        header = [self._unstructure(lens) for lens in swarm_lenses(snapshot, ls.viewer, ls.configured_workers())]
        lenses = self.spec_view(document).lenses(snapshot, header)
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

    def diagnostics_for(self, document: TextDocument) -> list[Any] | None:
        ls = self.server
        kind = ls.classify(document.uri)
        if kind is None:
            return None
        if kind[0] == "spec":
            return self.spec_view(document).diagnostics(ls.snapshot)
        found = task_file_diagnostics(document.source, kind[1], kind[2], ls.snapshot, running=ls.running)
        return in_client_units(document, found)

    def publish(self, document: TextDocument, *, only_if_changed: bool = False) -> None:
        found = self.diagnostics_for(document)
        if found is None:
            return
        seen = self._what_is_published(document, found)
        if only_if_changed and self._published.get(document.uri) == seen:
            return  # a state change that does not show here: spare the editor 2,000 diagnostics
        self._published[document.uri] = seen
        self.server.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=document.uri, diagnostics=found, version=document.version)
        )

    def _what_is_published(self, document: TextDocument, found: list[Any]) -> _Published:
        if isinstance(found, Prebuilt):  # spec.md: its view counts its changes
            view = self.spec_view(document)
            return (document.version, view, view.revision)
        return (
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
