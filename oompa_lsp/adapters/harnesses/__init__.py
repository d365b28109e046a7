"""Agent harnesses: one adapter per agent CLI, and the command harness of DESIGN §6.

The engine calls `run_agent(request, harness_config, on_activity)` for every agent turn and
`probe_harness(name, harness_config)` for `oompa check`. Each built-in CLI (claude, codex,
gemini, opencode) has a module that builds its argv and folds its JSON stream into text,
session id, usage, tool calls and errors; `process.py` runs the process group, bounded in time.

Must not import: engine, lsp, cli; anything but the standard library, anyio, msgspec and
oompa_lsp.core.
"""

from .process import stop_services
from .runner import HarnessProbe, adapter_for, probe_harness, run_agent

__all__ = ["HarnessProbe", "adapter_for", "probe_harness", "run_agent", "stop_services"]
