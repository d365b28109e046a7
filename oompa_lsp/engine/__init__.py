"""The swarm engine: scheduler, worker loop, reviewer and merge queue in one anyio task group.

May import: oompa_lsp.core, oompa_lsp.adapters. Must not import: lsp, cli.
"""
