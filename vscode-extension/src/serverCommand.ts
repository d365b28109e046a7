/**
 * Which command starts the language server: the `oompa.server.command` setting when set,
 * else the workspace's `.venv/bin/oompa-lsp` when it exists, else `python3 -m oompa_lsp`.
 *
 * Must not import: vscode (the file-system check is passed in).
 */

import * as path from "node:path";

export interface ServerCommand {
  command: string;
  args: string[];
  /** Where the command came from, for messages that say how to change it. */
  source: "setting" | "workspace .venv" | "default";
}

export const DEFAULT_SERVER_COMMAND: readonly string[] = ["python3", "-m", "oompa_lsp"];

/**
 * `setting` is the raw value of `oompa.server.command`: an argv array (or, forgivingly, a
 * string, split on whitespace). Anything else counts as unset.
 */
export function resolveServerCommand(
  setting: unknown,
  workspaceRoot: string | undefined,
  isExecutable: (file: string) => boolean,
): ServerCommand {
  const argv = settingArgv(setting);
  if (argv.length > 0) {
    return { command: argv[0] ?? "", args: argv.slice(1), source: "setting" };
  }
  if (workspaceRoot !== undefined) {
    const venvServer = path.join(workspaceRoot, ".venv", "bin", "oompa-lsp");
    if (isExecutable(venvServer)) {
      return { command: venvServer, args: [], source: "workspace .venv" };
    }
  }
  const [command = "python3", ...args] = DEFAULT_SERVER_COMMAND;
  return { command, args, source: "default" };
}

function settingArgv(setting: unknown): string[] {
  if (typeof setting === "string") {
    return setting.trim().split(/\s+/).filter(Boolean);
  }
  if (Array.isArray(setting) && setting.every((part) => typeof part === "string")) {
    return setting.filter((part, index) => index > 0 || part.trim() !== "");
  }
  return [];
}

export function describeCommand(command: ServerCommand): string {
  return [command.command, ...command.args].map((part) => (/\s/.test(part) ? JSON.stringify(part) : part)).join(" ");
}

/** What to tell the user when the server does not start, by where its command came from. */
export function startFailureAdvice(command: ServerCommand): string {
  switch (command.source) {
    case "setting":
      return "Check the `oompa.server.command` setting: it must start oompa-lsp (for example the `oompa-lsp` of a virtual environment where oompa-lsp is installed).";
    case "workspace .venv":
      return "The workspace's .venv has an oompa-lsp that does not start: reinstall it there (`.venv/bin/pip install oompa-lsp`) or set `oompa.server.command`.";
    case "default":
      return "Install oompa-lsp (`pip install oompa-lsp`, or into the workspace's .venv), or set `oompa.server.command` to its `oompa-lsp`.";
  }
}
