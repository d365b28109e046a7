"""oompa-lsp: a swarm of coding agents in git worktrees, hosted in a language server."""

__version__ = "0.1.0"
