"""Pure domain: config, tasks, spec, signals, verdicts, events, errors.

Must not import: anything outside the standard library and msgspec (no I/O, no anyio,
no git, no pygls), nor any other oompa_lsp layer.
"""
