"""How each real CLI is pointed at a scripted model server: the harness entry of `oompa.json`.

Every CLI gets its own configuration folder inside the test's tmp_path (never the user's home),
an API key that is any string, and the server's loopback URL:

- claude: `ANTHROPIC_BASE_URL`, `ANTHROPIC_API_KEY`, `CLAUDE_CONFIG_DIR`, no telemetry or
  other non-essential traffic; `CLAUDE_CODE_MAX_RETRIES` bounds its own retries of 429/5xx.
- codex: a model provider declared with `-c model_providers.<id>={...}` in the harness's `args`
  (codex puts them before `resume`, where both `exec` and `exec resume` accept them), its key
  in `OPENAI_API_KEY`, its state in `CODEX_HOME`.
- gemini: `GOOGLE_GEMINI_BASE_URL` and `GEMINI_API_KEY`, its state and `settings.json` under
  `GEMINI_CLI_HOME` (the settings select the API-key login and bound its retries).
- opencode: its `anthropic` provider's `baseURL` through `OPENCODE_CONFIG_CONTENT` (with the
  scripted model names declared), state in XDG folders, its database created before the run.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from oompa_lsp.core.config import HarnessConfig

from .install_clis import InstalledCli

API_KEY = "sk-scripted-not-a-real-key"

# Variables of the machine that would send a CLI elsewhere than the scripted server.
FOREIGN_VARIABLES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "ANTHROPIC_MODEL",
                     "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX", "CLAUDE_CONFIG_DIR", "OPENAI_API_KEY",
                     "OPENAI_BASE_URL", "CODEX_HOME", "GEMINI_API_KEY", "GOOGLE_API_KEY",
                     "GOOGLE_GEMINI_BASE_URL", "GOOGLE_GENAI_USE_VERTEXAI", "OPENCODE_CONFIG",
                     "OPENCODE_CONFIG_CONTENT")


def claude_harness(cli: InstalledCli, server_url: str, home: Path, retries: int = 0) -> dict[str, Any]:
    home.mkdir(parents=True, exist_ok=True)
    return {"command": [str(cli.binary)],
            "env": {"ANTHROPIC_BASE_URL": server_url, "ANTHROPIC_API_KEY": API_KEY,
                    "CLAUDE_CONFIG_DIR": str(home), "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
                    "DISABLE_TELEMETRY": "1", "DISABLE_AUTOUPDATER": "1",
                    "CLAUDE_CODE_MAX_RETRIES": str(retries)}}


def codex_harness(cli: InstalledCli, server_url: str, home: Path, retries: int = 0) -> dict[str, Any]:
    home.mkdir(parents=True, exist_ok=True)
    provider = (f'model_providers.scripted={{name="scripted",base_url="{server_url}/v1",env_key="OPENAI_API_KEY",'
                f'wire_api="responses",supports_websockets=false,request_max_retries={retries},'
                f'stream_max_retries={retries}}}')
    return {"command": [str(cli.binary)], "args": ["-c", 'model_provider="scripted"', "-c", provider],
            "env": {"CODEX_HOME": str(home), "OPENAI_API_KEY": API_KEY}}


def gemini_harness(cli: InstalledCli, server_url: str, home: Path, attempts: int = 1) -> dict[str, Any]:
    # Headless gemini refuses to start ("Invalid auth method selected") until a settings file
    # names the API-key method; `general.maxAttempts` bounds its own silent retries.
    settings = {"security": {"auth": {"selectedType": "gemini-api-key"}}, "general": {"maxAttempts": attempts}}
    (home / ".gemini").mkdir(parents=True, exist_ok=True)
    (home / ".gemini" / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
    return {"command": [str(cli.binary)],
            "env": {"GOOGLE_GEMINI_BASE_URL": server_url, "GEMINI_API_KEY": API_KEY,
                    "GEMINI_CLI_HOME": str(home), "GEMINI_TELEMETRY_ENABLED": "false"}}


def opencode_harness(cli: InstalledCli, server_url: str, home: Path, models: tuple[str, ...] = ()) -> dict[str, Any]:
    # A model opencode's catalogue does not know must be declared, or the run fails with
    # "UnknownError: Unexpected server error"; its price (USD per million tokens) makes opencode
    # report a cost.
    declared = {name: {"name": name, "cost": {"input": 3, "output": 15}} for name in models}
    config = {"autoupdate": False, "share": "disabled",
              "provider": {"anthropic": {"options": {"baseURL": f"{server_url}/v1", "apiKey": API_KEY},
                                         "models": declared}}}
    folders = {key: home / key.lower() for key in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME",
                                                   "XDG_STATE_HOME")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    # No catalogue download, updates or default plugins: the tests have no internet to wait for.
    quiet = {"OPENCODE_DISABLE_MODELS_FETCH": "1", "OPENCODE_DISABLE_AUTOUPDATE": "1",
             "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1", "OPENCODE_DISABLE_LSP_DOWNLOAD": "1"}
    return {"command": [str(cli.binary)],
            "env": {"OPENCODE_CONFIG_CONTENT": json.dumps(config), **quiet, **{k: str(v) for k, v in folders.items()}}}


def initialise_opencode(entry: dict[str, Any]) -> None:
    """Create opencode's database before a swarm starts several opencode processes at once:
    two of them migrating a fresh database together fail with "database is locked"."""
    env = {**os.environ, **entry["env"]}
    subprocess.run([*entry["command"], "session", "list"], env=env, stdin=subprocess.DEVNULL,
                   capture_output=True, timeout=60, check=True)


def harness_config(entry: dict[str, Any]) -> HarnessConfig:
    return HarnessConfig(command=entry.get("command"), args=entry.get("args", []), env=entry.get("env", {}))


def harness_for(name: str, cli: InstalledCli, server_url: str, home: Path, retries: int = 0) -> dict[str, Any]:
    """The harness entry of any of the four CLIs; `retries` bounds the CLI's own retries of a
    failed request where it has a setting for that (opencode has none)."""
    if name == "claude":
        return claude_harness(cli, server_url, home, retries=retries)
    if name == "codex":
        return codex_harness(cli, server_url, home, retries=retries)
    if name == "gemini":
        return gemini_harness(cli, server_url, home, attempts=retries + 1)
    entry = opencode_harness(cli, server_url, home, models=SCRIPTED_MODELS)
    initialise_opencode(entry)
    return entry


# The model names the tests use (opencode must have them declared, under its anthropic provider).
SCRIPTED_MODELS = ("scripted", "scripted-worker", "scripted-reviewer")


def model_ref(name: str, model: str) -> str:
    """`harness:model` for oompa.json: opencode names the provider too."""
    return f"{name}:anthropic/{model}" if name == "opencode" else f"{name}:{model}"
