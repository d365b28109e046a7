"""What the server's answers are turned into on their way to the wire.

pygls turns every lsprotocol object of an answer into builtins with cattrs, object by
object, on each request: for 2,000 code lenses that walk costs more than everything else the
request does. `Prebuilt` marks a list already in wire form (the builtins cattrs would make,
built once and kept by spec_view.py): the converter of `converter()` hands it to the JSON
encoder as it is, as a request's result or as the diagnostics of a publishDiagnostics.
Everything else is converted as pygls always does.

Must not import: anything of oompa_lsp (it is plumbing under the server).
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types as lsp
from pygls.protocol import default_converter


class Prebuilt(list[Any]):
    """A list of builtins in the exact shape the protocol sends (JSON-ready dicts)."""


def converter() -> Any:  # a cattrs Converter (cattrs comes with pygls, not declared here)
    """pygls's converter, passing `Prebuilt` lists through untouched."""
    made = default_converter()  # type: ignore[no-untyped-call]  # pygls leaves it unannotated
    made.register_unstructure_hook(Prebuilt, lambda value: value)
    publish = made.get_unstructure_hook(lsp.PublishDiagnosticsParams)

    def publish_params(params: lsp.PublishDiagnosticsParams) -> dict[str, Any]:
        if not isinstance(params.diagnostics, Prebuilt):
            return publish(params)  # type: ignore[no-any-return]
        out: dict[str, Any] = {"uri": params.uri, "diagnostics": params.diagnostics}
        if params.version is not None:
            out["version"] = params.version
        return out

    made.register_unstructure_hook(lsp.PublishDiagnosticsParams, publish_params)
    return made
