"""docs/protocol.md, rendered from the tables of protocol.py (`python -m
oompa_lsp.lsp.protocol_doc > docs/protocol.md`; a test fails when the two differ).

Must not import: anything of oompa_lsp but protocol.py.
"""

from __future__ import annotations

import sys
import types
import typing
from typing import Any, Literal

import msgspec
from msgspec import Struct

from .protocol import COMMANDS, NOTIFICATIONS, REQUESTS, Argument


def render_markdown() -> str:
    """docs/protocol.md, generated from the tables above."""
    out = [_DOC_HEAD]
    out.append("## Requests (client → server)\n")
    for request in REQUESTS.values():
        out += [
            f"### `{request.method}`\n",
            request.doc + "\n",
            "Params:\n",
            _fields(request.params),
            "Result:\n",
            _fields(request.result),
        ]
    out.append("## Notifications (server → client)\n")
    for notification in NOTIFICATIONS.values():
        out += [f"### `{notification.method}`\n", notification.doc + "\n", "Payload:\n", _fields(notification.params)]
    out.append("## Commands (`workspace/executeCommand`, arguments positional)\n")
    for command in COMMANDS.values():
        out += [
            f"### `{command.name}`\n",
            command.doc + "\n",
            _arguments(command.arguments),
            f"Result: `{_type_name(command.result)}`.\n",
        ]
    out.append("## Types\n")
    for struct in _nested_structs():
        out += [f"### `{struct.__name__}`\n", _fields(struct)]
    out.append(_DOC_TAIL)
    return "\n".join(out)


def _fields(struct: type) -> str:
    fields = msgspec.structs.fields(struct)
    if not fields:
        return "_none_\n"
    rows = ["| field | type | default |", "|---|---|---|"]
    for field in fields:
        default = "" if field.required else f"`{_default_of(field)}`"
        rows.append(f"| `{field.encode_name}` | `{_type_name(field.type)}` | {default} |")
    return "\n".join(rows) + "\n"


def _default_of(field: msgspec.structs.FieldInfo) -> str:
    value = field.default if field.default is not msgspec.NODEFAULT else field.default_factory()
    return msgspec.json.encode(value).decode()


def _arguments(arguments: tuple[Argument, ...]) -> str:
    if not arguments:
        return "Arguments: none.\n"
    rows = ["| # | argument | type | |", "|---|---|---|---|"]
    for number, argument in enumerate(arguments):
        optional = "" if argument.required else "optional"
        rows.append(f"| {number} | `{argument.name}` | `{_type_name(argument.type)}` | {optional} {argument.doc} |")
    return "\n".join(rows) + "\n"


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Literal:
        return " \\| ".join(repr(a).replace("'", '"') for a in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args)
    if origin is list:
        return f"{_type_name(args[0])}[]"
    if origin is dict:
        return f"{{[{_type_name(args[0])}]: {_type_name(args[1])}}}"
    if annotation is type(None):
        return "null"
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _nested_structs() -> list[type]:
    """Struct types that payloads refer to by name, in first-mention order (a notification's
    payload type appears here too when another payload refers to it)."""
    seen: dict[type, None] = {}
    roots = [s.params for s in REQUESTS.values()] + [s.result for s in REQUESTS.values()]
    roots += [s.params for s in NOTIFICATIONS.values()]
    arguments = [t for c in COMMANDS.values() for a in c.arguments for t in _struct_types(a.type)]
    seen.update(dict.fromkeys(arguments))  # a command's argument is named only in its table
    pending = [*roots, *arguments]
    while pending:
        for field in msgspec.structs.fields(pending.pop(0)):
            for candidate in _struct_types(field.type):
                if candidate not in seen:
                    seen[candidate] = None
                    pending.append(candidate)
    return list(seen)


def _struct_types(annotation: Any) -> list[type]:
    if isinstance(annotation, type) and issubclass(annotation, Struct):
        return [annotation]
    return [t for arg in typing.get_args(annotation) for t in _struct_types(arg)]


_DOC_HEAD = """# The oompa-lsp editor protocol

Generated from `oompa_lsp/lsp/protocol.py` by `python -m oompa_lsp.lsp.protocol_doc > docs/protocol.md`;
a test fails when this file and the module differ. Standard LSP comes first (code lenses,
diagnostics, hover, `$/progress`, `window/showMessage`, `workspace/applyEdit`,
`workspace/codeLens/refresh`); the methods below are what LSP has no word for.

Conventions: field names are as written here (snake_case, but camelCase in a located
comment and a finding, `startLine`); every field is always present
(the default column says what a field holds when there is nothing to say); times are unix
seconds (float); each notification carries the whole object, so a client replaces rather
than merges. Params that do not match get a JSON-RPC
error -32602 (Invalid Params) whose message names the problem; a request naming an unknown
review or task gets -32602 too.

## Lifecycle

- On `initialized` the server loads the latest run's snapshot (`.oompa/runs/<latest>/events.jsonl`)
  and shows it. If another process holds the repository's swarm lock, the server attaches as a
  **viewer**: it follows that run's event log and sends commands through `.oompa/control/`.
- The swarm starts on `oompa.startSwarm`, or on `initialized` when the client passes
  `initializationOptions: {"autoStart": true}`. It runs as one background task on the server's
  event loop.
- `shutdown` stops a swarm this server runs (agents killed, claims returned) before answering.
- `initializationOptions.tickSpecItems`: `"ask"` (default: a `window/showMessageRequest` offers
  to tick the spec item of a merged task), `"always"` (send the `workspace/applyEdit` at once) or
  `"never"`. Ticking always goes through `workspace/applyEdit`, never behind the user's back.
- `initializationOptions.findingDiagnostics` (default `true`): the model reviewer's placed
  findings on a pending review are published as Information diagnostics (source
  `oompa reviewer`) on the `oompa-git:` URIs of the diff's sides, and cleared when the review
  ends. The VS Code extension turns it off: it shows them as comment threads.

## Linking spec.md items to tasks

A checklist item (`- [ ] text`) is implemented by every task whose `spec` field names it:
an explicit `{#id}` at the end of the item and `"spec": "id"` (or `"#id"`, `"spec.md#id"`);
else the same text, compared as slugs (case, punctuation and Markdown marks ignored); else a
unique prefix of at least 8 characters of the item's slug.
"""

_DOC_TAIL = """## Virtual documents

`oompa-git:/<path>?ref=<sha>` names a file's content at a commit. Clients read it with
`oompa/fileContent`, or with `workspace/textDocumentContent`, which the server registers
dynamically (scheme `oompa-git`) when the client declares
`workspace.textDocumentContent.dynamicRegistration`.

## Located comments

A line comment names a file the review changes (its path in the reviewed version; a renamed
file's old path is accepted too), a side — `head` (the worker's version) or `base` (the merge
base's, for lines the change removed) — and 1-based inclusive lines on that side. The server
checks each against the review's diff and refuses the whole command with -32602 naming the
first comment it cannot place. The worker's next turn reads each as:

```
- `src/calc.py` lines 5-6 (your version):
    | def divide(a, b):
    |     return a / b
  Guard against b == 0.
```
"""


if __name__ == "__main__":
    sys.stdout.write(render_markdown())
