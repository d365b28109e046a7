"""A scripted agent speaking the command-harness contract (DESIGN §6), for tests.

Configure it as a command harness, e.g.
    "harnesses": {"fake": {"command": ["python3", "tests/fake_agent.py"], "env": {"FAKE_AGENT_SCRIPT": "/tmp/s.json"}}}
(or put FAKE_AGENT_SCRIPT in the test's environment). Standard library only.

The script (JSON) says what each call does, per role and per task:

    {
      "roles": {
        "executor": {
          "task-1": [ {step for call 1}, {step for call 2}, ... ],
          "*":      [ {step for any other task, or no task} ]
        },
        "reviewer": {"*": [{"final": "VERDICT: APPROVED"}]},
        "*": {"*": [{"final": "__DONE__"}]}
      }
    }

A call is found by role (OOMPA_ROLE, then "*"), task id (OOMPA_TASK_ID, "-" when none, then
"*"), and its number for that (role, task) pair, counted across processes (a small state file
next to the script, under a lock). Past the end of a list the last step repeats. With no
matching step the agent prints nothing and exits 0.

A step does, in this order (every key optional):
    "ignore_sigterm": true                 ignore SIGTERM (only SIGKILL ends it)
    "write":      {"path": "content"}      create/replace files (relative to cwd, or absolute)
    "append":     {"path": "line" | [..]}  append lines (a newline is added after each)
    "delete":     ["path", ...]
    "tasks":      [{"id": "t2", "summary": "..."}]   task files into $OOMPA_TASKS_DIR/pending/<id>.json
    "task_files": {"name.json": "raw text"}         raw files there (e.g. an invalid task)
    "run":        [["git", "add", "-A"], ...]        commands in cwd (failures are ignored)
    "stderr":     "text"                   printed on stderr
    "say":        "text"                   printed on stdout (and flushed) before any sleep
    "spawn_sleeper": 60                    start a child that sleeps that long (holds stdout open)
    "daemon":     60                       start a sleeper in a session of its own (setsid, stdio on
                                           /dev/null: a dev server started with nohup); its pid is
                                           appended to <script>.daemons (or $FAKE_AGENT_DAEMONS)
    "sleep":      1.5                      seconds
    "final":      "text"                   the final message, on stdout
    "usage":      {"input_tokens": 10, "output_tokens": 5, "cost_usd": 0.01}  reported as the
                                           last line, {"oompa_usage": {...}}
    "exit":       0                        exit code
In strings, {task_id}, {role}, {call}, {model} and {session_id} are replaced.

Every call appends one JSON line to <script>.log.jsonl (or $FAKE_AGENT_LOG): role, task_id,
call, cwd, argv, pid, every OOMPA_* variable, and the prompt it read on stdin.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    script_path = Path(os.environ["FAKE_AGENT_SCRIPT"])
    prompt = sys.stdin.read()
    role = os.environ.get("OOMPA_ROLE", "-")
    task_id = os.environ.get("OOMPA_TASK_ID") or "-"
    call = next_call_number(script_path, f"{role}/{task_id}")
    log_call(script_path, {"role": role, "task_id": task_id, "call": call, "cwd": os.getcwd(), "argv": sys.argv,
                           "pid": os.getpid(), "env": oompa_env(), "prompt": prompt})
    script = json.loads(script_path.read_text(encoding="utf-8"))
    step = find_step(script, role, task_id, call)
    values = {"task_id": task_id, "role": role, "call": str(call), "model": os.environ.get("OOMPA_MODEL", ""),
              "session_id": os.environ.get("OOMPA_SESSION_ID", "")}
    return perform(fill(step, values))


def oompa_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key.startswith("OOMPA_")}


def next_call_number(script_path: Path, key: str) -> int:
    """Count this call for (role, task), safely across concurrent agents."""
    state_path = script_path.with_name(script_path.name + ".state.json")
    with open(script_path.with_name(script_path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        counts = json.loads(state_path.read_text()) if state_path.exists() else {}
        counts[key] = counts.get(key, 0) + 1
        temp = state_path.with_name(state_path.name + f".{os.getpid()}")
        temp.write_text(json.dumps(counts))
        os.replace(temp, state_path)
        return counts[key]


def log_call(script_path: Path, record: dict) -> None:
    log_path = Path(os.environ.get("FAKE_AGENT_LOG") or script_path.with_name(script_path.name + ".log.jsonl"))
    with open(log_path, "a", encoding="utf-8") as log:
        fcntl.flock(log, fcntl.LOCK_EX)
        log.write(json.dumps(record) + "\n")


def find_step(script: dict, role: str, task_id: str, call: int) -> dict:
    roles = script.get("roles", {})
    for role_key in (role, "*"):
        by_task = roles.get(role_key, {})
        for task_key in (task_id, "*"):
            steps = by_task.get(task_key)
            if steps:
                return steps[min(call, len(steps)) - 1]
    return {}


def fill(value, values: dict[str, str]):
    """Replace the {placeholders} in every string of a step (keys included)."""
    if isinstance(value, str):
        for name, text in values.items():
            value = value.replace("{" + name + "}", text)
        return value
    if isinstance(value, list):
        return [fill(item, values) for item in value]
    if isinstance(value, dict):
        return {fill(key, values): fill(item, values) for key, item in value.items()}
    return value


def perform(step: dict) -> int:
    if step.get("ignore_sigterm"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    change_files(step)
    write_tasks(step)
    for argv in step.get("run", []):
        subprocess.run(argv, check=False, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    if "stderr" in step:
        print(step["stderr"], file=sys.stderr, flush=True)
    if "say" in step:
        print(step["say"], flush=True)
    if "spawn_sleeper" in step:
        subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({float(step['spawn_sleeper'])})"])
    if "daemon" in step:
        start_daemon(float(step["daemon"]))
    time.sleep(float(step.get("sleep", 0)))
    if "final" in step:
        print(step["final"], flush=True)
    if "usage" in step:
        print(json.dumps({"oompa_usage": step["usage"]}), flush=True)
    return int(step.get("exit", 0))


def start_daemon(seconds: float) -> None:
    """A child that leaves our session, so ending our process group does not reach it."""
    daemon = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"], start_new_session=True,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    script_path = Path(os.environ["FAKE_AGENT_SCRIPT"])
    pids = Path(os.environ.get("FAKE_AGENT_DAEMONS") or script_path.with_name(script_path.name + ".daemons"))
    with open(pids, "a", encoding="utf-8") as out:
        out.write(f"{daemon.pid}\n")


def change_files(step: dict) -> None:
    for name, content in step.get("write", {}).items():
        path = Path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    for name, lines in step.get("append", {}).items():
        path = Path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            for line in [lines] if isinstance(lines, str) else lines:
                out.write(line + "\n")
    for name in step.get("delete", []):
        Path(name).unlink(missing_ok=True)


def write_tasks(step: dict) -> None:
    if not step.get("tasks") and not step.get("task_files"):
        return
    pending = Path(os.environ["OOMPA_TASKS_DIR"]) / "pending"
    pending.mkdir(parents=True, exist_ok=True)
    files = {f"{task['id']}.json": json.dumps(task, indent=2) + "\n" for task in step.get("tasks", [])}
    files.update(step.get("task_files", {}))
    for name, text in files.items():
        # Written aside and renamed in, as a careful agent would: the engine never sees half a file.
        temp = pending / f".{name}.{os.getpid()}.tmp"
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, pending / name)


if __name__ == "__main__":
    sys.exit(main())
