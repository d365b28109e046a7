"""The language server: translates engine snapshots and events into LSP, and LSP into engine calls.

May import: core, adapters, engine. Holds no swarm state of its own.
"""
