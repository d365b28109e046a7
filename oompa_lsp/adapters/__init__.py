"""One external system per module: git, agent harnesses, task store, run log.

May import: oompa_lsp.core. Must not import: engine, lsp, cli.
"""
