"""Latency of the language server on a big repository, as a real client sees it.

A throwaway git repository gets a spec.md of 2,000 checklist items and 2,000 task files (each
linked to an item); `oompa-lsp` runs on it as a subprocess and a pygls client measures:

- `textDocument/codeLens` on spec.md (all 2,000 items rendered from the snapshot);
- diagnostics: `didChange` of spec.md → its `publishDiagnostics` (parse, link, 2,000 items),
  and `didChange` of one task file → its `publishDiagnostics` (decode with exact ranges);
- the same code lens request while a swarm of scripted agents runs on those 2,000 tasks
  (sampled all along the run, with the baseline request between), and engine event → client
  notification: every `oompa/workerUpdated` carries the time its event was recorded
  (`since`), compared with the time the client received it (one machine, one clock).

The client takes code lens answers and diagnostics as JSON, the way an editor does: pygls's
client would also turn the 2,000 lenses into lsprotocol objects (cattrs, in Python), a cost
of this Python client that no editor pays; it is timed apart, for context.

The baseline, measured in the same run, is a request the server answers without work (a
code lens request for a file oompa does not render); results are reported as p50/p95 in
milliseconds and as ratios to that baseline. Judged (issue 18, point 5): codeLens on spec.md
p50 <= 10x and p95 <= 20x the baseline's p50; while the swarm runs, p50 and p95 <= 2x the
idle ones. Run: `python -m bench --only lsp_latency`, or alone `python -m bench.lsp_latency
[--items N]` (`OOMPA_BENCH_SERVER='["argv", ...]'` runs another server command, e.g. under a
profiler).
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
import uuid
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient
from pygls.protocol import default_converter
from pygls.protocol import JsonRPCNotification, JsonRPCResponseMessage, LanguageServerProtocol

WAIT_S = 120.0


RAW_ID = "raw-"
RAW_METHODS = ("oompa/", lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)


class RawNotifications(LanguageServerProtocol):
    """Keeps oompa's notifications, diagnostics and the answers to requests sent with a `raw-`
    id as JSON values, as an editor would (no lsprotocol objects made of them)."""

    def structure_message(self, data: dict[str, Any]):
        if "jsonrpc" not in data:
            return data  # called for every object inside a message too: the cheapest answer first
        method = data.get("method", "")
        if "id" not in data and method.startswith(RAW_METHODS):
            return JsonRPCNotification(method=method, jsonrpc=data["jsonrpc"], params=data.get("params"))
        if "result" in data and str(data.get("id", "")).startswith(RAW_ID):
            self._result_types.pop(data["id"], None)
            return JsonRPCResponseMessage(id=data["id"], jsonrpc=data["jsonrpc"], result=data["result"])
        return super().structure_message(data)


class BenchClient(LanguageClient):
    def __init__(self) -> None:
        super().__init__("oompa-bench", "1", protocol_cls=RawNotifications)
        self.diagnostics: dict[str, list[tuple[int | None, float]]] = {}
        self.worker_latencies: list[float] = []

        @self.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def diagnostics(ls: BenchClient, params: dict) -> None:
            ls.diagnostics.setdefault(params["uri"], []).append((params.get("version"), time.perf_counter()))

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
    """The answer as JSON values (see RawNotifications)."""
    params = lsp.CodeLensParams(text_document=lsp.TextDocumentIdentifier(uri=uri))
    return await client.protocol.send_request_async(lsp.TEXT_DOCUMENT_CODE_LENS, params,
                                                    msg_id=f"{RAW_ID}{uuid.uuid4().hex}")


def structuring_cost(answer: list, times: int = 5) -> list[float]:
    """What pygls's client would add to each answer: making lsprotocol objects of it."""
    converter = default_converter()
    spent = []
    for _ in range(times):
        began = time.perf_counter()
        converter.structure(answer, list[lsp.CodeLens])
        spent.append(time.perf_counter() - began)
    return spent


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


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def summary(name: str, seconds: list[float], baseline_p50: float | None) -> dict[str, Any]:
    row = {"what": name, "n": len(seconds), "p50_ms": round(statistics.median(seconds) * 1000, 2),
           "p95_ms": round(percentile(seconds, 0.95) * 1000, 2)}
    if baseline_p50:
        row["p50_x_baseline"] = round(statistics.median(seconds) / baseline_p50, 1)
    return row


async def during_swarm(client: BenchClient, spec_uri: str, other_uri: str, seconds: float) -> tuple[list, list]:
    """Code lens requests on spec.md (and the baseline request between them) all along the run,
    about ten a second, after a second for the workers to get going."""
    await asyncio.sleep(1.0)
    lenses, baseline = [], []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        lenses.append(await timed(code_lens(client, spec_uri)))
        baseline.append(await timed(code_lens(client, other_uri)))
        await asyncio.sleep(0.1)
    return lenses, baseline


async def measure_async(items: int, rounds: int, swarm_seconds: float, workdir: str | None = None) -> dict[str, list]:
    """Every series, in seconds; swarm_seconds 0 skips the swarm (and the event latency)."""
    with tempfile.TemporaryDirectory(prefix="oompa-bench-lsp-", dir=workdir) as scratch:
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

        series: dict[str, list] = {"structuring": structuring_cost(lenses)}
        series["baseline"] = [await timed(code_lens(client, other_uri)) for _ in range(rounds)]
        series["lens"] = [await timed(code_lens(client, spec_uri)) for _ in range(rounds)]
        spec_text = (repo / "spec.md").read_text()
        series["spec_change"] = [await change_and_wait(client, spec_uri, 10 + n, spec_text + ("\n" * (n % 2)))
                                 for n in range(rounds)]
        task_text = task_path.read_text()
        series["task_change"] = [
            await change_and_wait(client, task_uri, 10 + n, task_text.replace("thing", "Thing" if n % 2 else "thing"))
            for n in range(rounds)]
        series["swarm_lens"], series["swarm_baseline"] = [], []
        if swarm_seconds > 0:
            await asyncio.wait_for(client.workspace_execute_command_async(
                lsp.ExecuteCommandParams(command="oompa.startSwarm", arguments=[])), WAIT_S)
            series["swarm_lens"], series["swarm_baseline"] = await during_swarm(client, spec_uri, other_uri,
                                                                                swarm_seconds)
        await asyncio.wait_for(client.shutdown_async(None), WAIT_S)
        client.exit(None)
        await asyncio.wait_for(client.stop(), WAIT_S)
    series["events"] = client.worker_latencies
    return series


def rows(series: dict[str, list], items: int) -> list[dict[str, Any]]:
    base = statistics.median(series["baseline"])
    out = [summary("baseline: codeLens on a file oompa does not render", series["baseline"], None),
           summary(f"codeLens on spec.md ({items} items, {items} tasks)", series["lens"], base),
           summary(f"diagnostics after didChange of spec.md ({items} items)", series["spec_change"], base),
           summary("diagnostics after didChange of a task file", series["task_change"], base)]
    if series["swarm_lens"]:
        out.append(summary("codeLens on spec.md while the swarm runs", series["swarm_lens"], base))
        out.append(summary("baseline while the swarm runs", series["swarm_baseline"], base))
    if series["events"]:
        out.append(summary("engine event -> oompa/workerUpdated (4 workers)", series["events"], base))
    out.append(summary("context: pygls's client making lsprotocol objects of the answer", series["structuring"], base))
    return out


def measure(workdir: Path, *, items: int, rounds: int, swarm_seconds: float, log) -> list:
    """The suite of `python -m bench` (issue 18, point 5): figures in ms and judged ratios."""
    from .stats import Figure, at_most

    series = asyncio.run(measure_async(items, rounds, swarm_seconds, str(workdir)))
    for row in rows(series, items):
        log(f"{row['what']}: p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms")
    ms = lambda values: [v * 1000 for v in values]  # noqa: E731
    base, lens, during = statistics.median(series["baseline"]), series["lens"], series["swarm_lens"]
    figures = [
        Figure("18.5", "lsp baseline: codeLens on a file oompa does not render", "ms", ms(series["baseline"])),
        Figure("18.5", f"codeLens on spec.md ({items} items)", "ms", ms(lens)),
        at_most(Figure("18.5", "codeLens on spec.md / baseline p50", "x", [t / base for t in lens]), 10),
        at_most(Figure("18.5", "codeLens on spec.md p95 / baseline p50", "x", [percentile(lens, 0.95) / base]), 20),
        Figure("18.5", f"diagnostics after didChange of spec.md ({items} items)", "ms", ms(series["spec_change"])),
        Figure("18.5", "diagnostics after didChange of a task file", "ms", ms(series["task_change"])),
    ]
    if during:
        figures += [
            Figure("18.5", "codeLens on spec.md while the swarm runs", "ms", ms(during)),
            Figure("18.5", "lsp baseline while the swarm runs", "ms", ms(series["swarm_baseline"])),
            at_most(Figure("18.5", "codeLens while the swarm runs / idle, p50", "x",
                           [statistics.median(during) / statistics.median(lens)]), 2),
            at_most(Figure("18.5", "codeLens while the swarm runs / idle, p95", "x",
                           [percentile(during, 0.95) / percentile(lens, 0.95)]), 2),
        ]
    if series["events"]:
        figures.append(Figure("18.5", "engine event -> oompa/workerUpdated", "ms", ms(series["events"])))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--swarm-seconds", type=float, default=15.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    table = rows(asyncio.run(measure_async(args.items, args.rounds, args.swarm_seconds)), args.items)
    if args.json:
        print(json.dumps(table, indent=2))
        return 0
    print(f"{'what':<66} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p50/base':>9}")
    for row in table:
        print(f"{row['what']:<66} {row['n']:>5} {row['p50_ms']:>8} {row['p95_ms']:>8} {row.get('p50_x_baseline', ''):>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
