"""Latency of the language server on a big repository, as a real client sees it.

A throwaway git repository gets a spec.md of 2,000 checklist items and 2,000 task files (each
linked to an item); `oompa-lsp` runs on it as a subprocess and a pygls client measures:

- `textDocument/codeLens` on spec.md (all 2,000 items rendered from the snapshot);
- diagnostics: `didChange` of spec.md → its `publishDiagnostics` (parse, link, 2,000 items),
  and `didChange` of one task file → its `publishDiagnostics` (decode with exact ranges);
- engine event → client notification: a swarm of scripted agents runs on those 2,000 tasks;
  every `oompa/workerUpdated` carries the time its event was recorded (`since`), compared
  with the time the client received it (one machine, one clock).

The baseline, measured in the same run, is a request the server answers without work (a
code lens request for a file oompa does not render); results are reported as p50/p95 in
milliseconds and as ratios to that baseline. Run: `python bench/lsp_latency.py [--items N]`
(`OOMPA_BENCH_SERVER='["argv", ...]'` runs another server command, e.g. under a profiler).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient
from pygls.protocol import JsonRPCNotification, LanguageServerProtocol

WAIT_S = 120.0


class RawNotifications(LanguageServerProtocol):
    """Keeps oompa's notifications as dicts and stamps when each arrived."""

    def structure_message(self, data: dict[str, Any]):
        method = data.get("method", "")
        if "jsonrpc" in data and "id" not in data and method.startswith("oompa/"):
            return JsonRPCNotification(method=method, jsonrpc=data["jsonrpc"], params=data.get("params"))
        return super().structure_message(data)


class BenchClient(LanguageClient):
    def __init__(self) -> None:
        super().__init__("oompa-bench", "1", protocol_cls=RawNotifications)
        self.diagnostics: dict[str, list[tuple[int | None, float]]] = {}
        self.worker_latencies: list[float] = []

        @self.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def diagnostics(ls: BenchClient, params: lsp.PublishDiagnosticsParams) -> None:
            ls.diagnostics.setdefault(params.uri, []).append((params.version, time.perf_counter()))

        last_since: dict[str, float] = {}

        @self.feature("oompa/workerUpdated")
        def worker(ls: BenchClient, params: dict) -> None:
            # `since` is the time of the event that changed the worker's state; an update for
            # another reason (usage) keeps the old `since` and measures nothing
            if params.get("since") and last_since.get(params["id"]) != params["since"]:
                last_since[params["id"]] = params["since"]
                ls.worker_latencies.append(time.time() - params["since"])

        for method in ("oompa/swarmState", "oompa/taskUpdated", "oompa/reviewRequested", "oompa/reviewResolved",
                       "oompa/log", lsp.WINDOW_SHOW_MESSAGE):
            self.feature(method)(lambda ls, params: None)
        self.feature(lsp.CLIENT_REGISTER_CAPABILITY)(lambda ls, params: None)
        self.feature(lsp.WORKSPACE_CODE_LENS_REFRESH)(lambda ls, params: None)
        self.feature(lsp.WINDOW_SHOW_MESSAGE_REQUEST)(lambda ls, params: None)  # "tick the item?": not now


def make_repo(root: Path, items: int) -> Path:
    root.mkdir(parents=True)
    run = lambda *args: subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, timeout=60)
    run("init", "-q", "-b", "main")
    run("config", "user.email", "bench@example.com")
    run("config", "user.name", "Bench")
    spec = ["# A big spec", ""] + [f"- [ ] Item {n}: do the thing number {n} well" for n in range(items)]
    (root / "spec.md").write_text("\n".join(spec) + "\n")
    pending = root / "tasks" / "pending"
    pending.mkdir(parents=True)
    for n in range(items):
        task = {"id": f"task-{n:04d}", "summary": f"Do the thing number {n}", "spec": f"Item {n}: do the thing number {n} well"}
        (pending / f"task-{n:04d}.json").write_text(json.dumps(task, indent=2) + "\n")
    agent = [sys.executable, "-m", "oompa_lsp.demo_agent"]
    config = {"workers": [{"model": "fake:w", "count": 4, "iterations": 100000}], "review": {"mode": "none"},
              "harnesses": {"fake": {"command": agent}}}
    (root / "oompa.json").write_text(json.dumps(config, indent=2))
    run("add", "-A")
    run("commit", "-q", "-m", "big spec")
    return root


async def timed(coroutine) -> float:
    began = time.perf_counter()
    await asyncio.wait_for(coroutine, WAIT_S)
    return time.perf_counter() - began


async def code_lens(client: BenchClient, uri: str) -> Any:
    return await client.text_document_code_lens_async(lsp.CodeLensParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))


async def change_and_wait(client: BenchClient, uri: str, version: int, text: str) -> float:
    """Send a whole-document change; the time until diagnostics for that version arrive."""
    began = time.perf_counter()
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)]))
    deadline = began + WAIT_S
    while time.perf_counter() < deadline:
        for seen_version, at in client.diagnostics.get(uri, []):
            if seen_version == version:
                return at - began
        await asyncio.sleep(0.0005)
    raise TimeoutError(f"no diagnostics for version {version} of {uri}")


def open_doc(client: BenchClient, path: Path, language: str) -> str:
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(
        uri=path.as_uri(), language_id=language, version=1, text=path.read_text())))
    return path.as_uri()


def summary(name: str, seconds: list[float], baseline_p50: float | None) -> dict[str, Any]:
    ordered = sorted(seconds)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    row = {"what": name, "n": len(ordered), "p50_ms": round(p50 * 1000, 2), "p95_ms": round(p95 * 1000, 2)}
    if baseline_p50:
        row["p50_x_baseline"] = round(p50 / baseline_p50, 1)
    return row


async def measure(items: int, rounds: int, swarm_seconds: float) -> list[dict[str, Any]]:
    """swarm_seconds 0 skips the swarm (and the event latency)."""
    with tempfile.TemporaryDirectory(prefix="oompa-bench-") as scratch:
        repo = make_repo(Path(scratch) / "repo", items)
        client = BenchClient()
        env = {**os.environ, "OOMPA_DEMO_DELAY": "0"}
        command = json.loads(os.environ.get("OOMPA_BENCH_SERVER", "null")) or [sys.executable, "-m", "oompa_lsp"]
        await client.start_io(*command, env=env)
        await asyncio.wait_for(client.initialize_async(lsp.InitializeParams(
            capabilities=lsp.ClientCapabilities(), root_uri=repo.as_uri(), process_id=os.getpid())), WAIT_S)
        client.initialized(lsp.InitializedParams())
        spec_uri = open_doc(client, repo / "spec.md", "markdown")
        other_uri = open_doc(client, repo / "oompa.json", "json")
        task_path = repo / "tasks" / "pending" / "task-0000.json"
        task_uri = open_doc(client, task_path, "json")
        lenses = await asyncio.wait_for(code_lens(client, spec_uri), WAIT_S)
        assert len(lenses) >= items, f"expected a lens per item, got {len(lenses)}"

        baseline = [await timed(code_lens(client, other_uri)) for _ in range(rounds)]
        lens_times = [await timed(code_lens(client, spec_uri)) for _ in range(rounds)]
        spec_text = (repo / "spec.md").read_text()
        spec_times = [await change_and_wait(client, spec_uri, 10 + n, spec_text + ("\n" * (n % 2))) for n in range(rounds)]
        task_text = task_path.read_text()
        task_times = [await change_and_wait(client, task_uri, 10 + n, task_text.replace("thing", "Thing" if n % 2 else "thing"))
                      for n in range(rounds)]

        during_run: list[float] = []
        if swarm_seconds > 0:
            await asyncio.wait_for(client.workspace_execute_command_async(
                lsp.ExecuteCommandParams(command="oompa.startSwarm", arguments=[])), WAIT_S)
            await asyncio.sleep(swarm_seconds)
            during_run = [await timed(code_lens(client, spec_uri)) for _ in range(max(5, rounds // 4))]
        await asyncio.wait_for(client.shutdown_async(None), WAIT_S)
        client.exit(None)
        await asyncio.wait_for(client.stop(), WAIT_S)

    base = statistics.median(baseline)
    rows = [summary("baseline: codeLens on a file oompa does not render", baseline, None),
            summary(f"codeLens on spec.md ({items} items, {items} tasks)", lens_times, base),
            summary(f"diagnostics after didChange of spec.md ({items} items)", spec_times, base),
            summary("diagnostics after didChange of a task file", task_times, base)]
    if during_run:
        rows.append(summary("codeLens on spec.md while the swarm runs", during_run, base))
    if client.worker_latencies:
        rows.append(summary("engine event -> oompa/workerUpdated (4 workers)", client.worker_latencies, base))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--swarm-seconds", type=float, default=15.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = asyncio.run(measure(args.items, args.rounds, args.swarm_seconds))
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'what':<66} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p50/base':>9}")
    for row in rows:
        print(f"{row['what']:<66} {row['n']:>5} {row['p50_ms']:>8} {row['p95_ms']:>8} {row.get('p50_x_baseline', ''):>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
