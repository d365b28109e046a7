/**
 * A real VS Code for the integration tests: code-server from npm, installed once into a cache
 * folder outside the repository (scripts/install-code-server.sh), started per run on a free
 * loopback port with its own user-data and extensions folders, and ended with its whole
 * process group (extension hosts and the language server under them).
 */

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export const EXTENSION_DIR = path.resolve(__dirname, "../../../..");
export const REPO_DIR = path.resolve(EXTENSION_DIR, "..");

export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache");
  return process.env.OOMPA_E2E_CACHE ?? path.join(base, "oompa-e2e");
}

/** Installs code-server when the cache lacks it; returns its binary. */
export function installCodeServer(): string {
  const script = path.join(EXTENSION_DIR, "scripts", "install-code-server.sh");
  const out = execFileSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const binary = out.trim().split("\n").pop() ?? "";
  if (!fs.existsSync(binary)) {
    throw new Error(`install-code-server.sh printed no code-server binary (got "${binary}")`);
  }
  return binary;
}

/** Environment that keeps code-server's config, data and temp files inside the cache. */
function isolatedEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const cache = cacheDir();
  const dirs = { XDG_CONFIG_HOME: "xdg/config", XDG_DATA_HOME: "xdg/data", XDG_CACHE_HOME: "xdg/cache", TMPDIR: "tmp" };
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const [name, sub] of Object.entries(dirs)) {
    env[name] = path.join(cache, sub);
    fs.mkdirSync(env[name], { recursive: true });
  }
  return env;
}

export interface Profile {
  userDataDir: string;
  extensionsDir: string;
  /** Whether VS Code checks workspace trust (then a new folder opens in Restricted Mode). */
  trust: boolean;
}

/**
 * A fresh user-data folder with settings that keep the workbench quiet. Workspace trust is
 * off (every folder trusted) unless `trust` asks for VS Code's trust checks.
 */
export function makeProfile(root: string, trust = false): Profile {
  const profile = { userDataDir: path.join(root, "user-data"), extensionsDir: path.join(root, "extensions"), trust };
  const userDir = path.join(profile.userDataDir, "User");
  fs.mkdirSync(userDir, { recursive: true });
  fs.mkdirSync(profile.extensionsDir, { recursive: true });
  const settings = {
    "security.workspace.trust.enabled": trust,
    "security.workspace.trust.startupPrompt": "never",
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": false,
    "workbench.enableExperiments": false,
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "extensions.autoCheckUpdates": false,
    "extensions.autoUpdate": false,
    "git.enabled": false,
    "editor.codeLens": true,
    "window.commandCenter": false,
  };
  fs.writeFileSync(path.join(userDir, "settings.json"), JSON.stringify(settings, null, 2));
  return profile;
}

export function installVsix(binary: string, profile: Profile, vsix: string): void {
  execFileSync(binary, ["--extensions-dir", profile.extensionsDir, "--user-data-dir", profile.userDataDir, "--install-extension", vsix, "--force"], {
    env: isolatedEnv({}),
    stdio: ["ignore", "pipe", "pipe"],
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export class CodeServer {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
    readonly logFile: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts code-server on `folder`; `env` reaches the extension host (and the language server). */
  static async start(binary: string, profile: Profile, folder: string, logFile: string, env: Record<string, string> = {}): Promise<CodeServer> {
    const port = await freePort();
    const args = [
      "--auth", "none",
      "--bind-addr", `127.0.0.1:${port}`,
      "--disable-telemetry",
      "--disable-update-check",
      ...(profile.trust ? [] : ["--disable-workspace-trust"]),
      "--disable-getting-started-override",
      "--config", path.join(path.dirname(profile.userDataDir), "code-server.yaml"),
      "--user-data-dir", profile.userDataDir,
      "--extensions-dir", profile.extensionsDir,
      folder,
    ];
    const log = fs.openSync(logFile, "a");
    // detached: a new session and process group, so stop() can end every descendant
    const child = spawn(binary, args, { env: isolatedEnv(env), stdio: ["ignore", log, log], detached: true });
    fs.closeSync(log);
    const server = new CodeServer(port, child, logFile);
    await server.waitHealthy(60_000);
    return server;
  }

  private async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) {
        throw new Error(`code-server exited (${this.child.exitCode}); see ${this.logFile}`);
      }
      try {
        const response = await fetch(`${this.url}/healthz`);
        if (response.ok) {
          return;
        }
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`code-server did not answer /healthz within ${timeoutMs} ms; see ${this.logFile}`);
  }

  /** Ends the whole process group: TERM, then KILL for whatever lingers. */
  async stop(): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined) {
      return;
    }
    signalGroup(pid, "SIGTERM");
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && groupAlive(pid)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    signalGroup(pid, "SIGKILL");
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}
