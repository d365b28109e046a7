/**
 * Finding processes a test run left behind: any process whose working directory or command
 * line mentions the run's workspace (the language server runs there; agents get the
 * workspace's agent script on their command line). Read from /proc: Linux only, as CI is.
 */

import * as fs from "node:fs";

export interface ProcessInfo {
  pid: number;
  command: string;
}

export function lingeringProcesses(folder: string): ProcessInfo[] {
  return processes((info) => info.cwd.startsWith(folder) || info.command.includes(folder));
}

/** Processes working in `folder` (a language server runs in its workspace; the editor does not). */
export function processesWorkingIn(folder: string): ProcessInfo[] {
  return processes((info) => info.cwd.startsWith(folder));
}

function processes(matches: (info: { cwd: string; command: string }) => boolean): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) {
      continue;
    }
    const info = describe(pid);
    if (info !== undefined && matches(info)) {
      found.push({ pid, command: info.command });
    }
  }
  return found;
}

function describe(pid: number): { cwd: string; command: string } | undefined {
  try {
    const command = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
    if (command === "") {
      return undefined; // a zombie or a kernel thread
    }
    let cwd = "";
    try {
      cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      // not ours to read
    }
    return { cwd, command };
  } catch {
    return undefined; // exited meanwhile
  }
}

export function endProcesses(processes: ProcessInfo[]): void {
  for (const { pid } of processes) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}
