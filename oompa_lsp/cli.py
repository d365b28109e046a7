"""`oompa`: the engine headless. Translates arguments into engine calls and events into text.

Holds no swarm state: a running swarm is driven through `Swarm` in this process, or through
the control inbox when another process (an editor, another terminal) runs it.
May import: core, adapters, engine, console, live_run, demo. Must not import: lsp (and nothing
it imports may import cli: the demo and the CLI share live_run instead).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import msgspec

from . import console
from .adapters import control
from .adapters.config_file import load_config
from .adapters.git import Repo
from .adapters.run_log import RunLog, SwarmLock
from .adapters.task_store import TaskStore
from .core.commands import Approve, Reject, Requeue, ResumeQueue, StopSwarm
from .core.errors import OompaError
from .core.review_notes import LineComment, parse_comment
from .core.snapshot import Snapshot
from .core.tasks import file_name_notice
from .demo import run_demo
from .engine.leftovers import blocked_reasons
from .engine.review_places import check_comments
from .engine.swarm import Swarm
from .live_run import run_swarm


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    run: Command = args.run  # set by _add for every subcommand (one is required)
    try:
        return run(args)
    except OompaError as exc:
        print(f"oompa: {exc}", file=sys.stderr)
        return 2
    except BaseExceptionGroup as group:  # raised inside a task group (the swarm's start, say)
        failure = _only_oompa_error(group)
        if failure is None:
            raise
        print(f"oompa: {failure}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _only_oompa_error(group: BaseExceptionGroup[BaseException]) -> OompaError | None:
    """The error to tell the user when everything that went wrong is one of ours."""
    matched, rest = group.split(OompaError)
    if matched is None or rest is not None:
        return None
    first: BaseException = matched
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    return first if isinstance(first, OompaError) else None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oompa", description="Run a swarm of coding agents on a git repository.")
    parser.add_argument("-C", "--repo", type=Path, default=Path.cwd(), help="the repository (default: here)")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    swarm = _add(sub, "swarm", cmd_swarm, "run the swarm until the queue is drained")
    swarm.add_argument("--quiet", action="store_true", help="print only the final line")
    swarm.add_argument("--plain", action="store_true", help="event lines, no live dashboard (as piped or in CI)")
    demo = _add(sub, "demo", cmd_demo, "run a demo swarm in a throwaway repository (no API key)")
    demo.add_argument("--dir", type=Path, help="where to make the demo repository (default: a temp folder)")
    _add(sub, "init", cmd_init, "write oompa.json (for the agent CLIs found), a spec.md skeleton and the tasks folders")
    check = _add(sub, "check", cmd_check, "validate oompa.json, its prompts, the repository and each agent CLI")
    check.add_argument(
        "--show-prompt",
        metavar="ROLE",
        choices=["worker", "executor", "planner", "reviewer", "resolver"],
        help="print the full prompt ROLE would get (with a sample task) instead; starts no agent",
    )
    check.add_argument("--worker", metavar="N", type=int, help="with --show-prompt: use workers[N] of oompa.json")
    _add(sub, "status", cmd_status, "show the swarm's state").add_argument("--json", action="store_true")
    _add(sub, "tasks", cmd_tasks, "list tasks by state")
    _add(sub, "requeue", cmd_requeue, "return tasks to pending").add_argument("task_ids", nargs="+")
    review = _add(sub, "review", cmd_review, "list pending reviews, or approve/reject one")
    review.add_argument("action", nargs="?", choices=["list", "approve", "reject"], default="list")
    review.add_argument("review_id", nargs="?")
    review.add_argument("-m", "--feedback", default="", help="what the worker must change (reject)")
    review.add_argument(
        "--comment",
        action="append",
        default=[],
        metavar="PATH:LINE[-END]:TEXT",
        help="a line comment on the worker's version (repeatable; approve: a note for the log)",
    )
    review.add_argument(
        "--base-comment",
        action="append",
        default=[],
        metavar="PATH:LINE[-END]:TEXT",
        help="a line comment on the merge base's version (lines the change removed)",
    )
    _add(sub, "stop", cmd_stop, "stop the swarm running on this repository")
    _add(sub, "resume", cmd_resume, "let the merge queue land again after a move of the target it did not make")
    _add(sub, "cleanup", cmd_cleanup, "remove merged or discarded worktrees and branches")
    report = _add(sub, "report", cmd_report, "write a run's report: one HTML file with its timeline and tables")
    report.add_argument("run_id", nargs="?", metavar="RUN", help="a run id or its prefix (default: the latest run)")
    report.add_argument("-o", "--output", type=Path, help="the HTML file (default: .oompa/runs/RUN/report.html)")
    report.add_argument("--png", nargs="?", type=Path, const=True, metavar="FILE",
                        help="also write the timeline as a PNG (default: beside the HTML file)")  # fmt: skip
    return parser


Command = Callable[[argparse.Namespace], int]  # a subcommand: its parsed arguments to an exit code


def _add(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, run: Command, help_text: str
) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(run=run)
    return parser


# -- swarm ------------------------------------------------------------------------------


def cmd_swarm(args: argparse.Namespace) -> int:
    swarm = Swarm.open(args.repo)
    return run_swarm(swarm, quiet=args.quiet, plain=args.plain)


# -- demo -------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    return run_demo(args.dir)


# -- inspection -------------------------------------------------------------------------


def _repo_root(args: argparse.Namespace) -> Path:
    return Path(Repo.discover(args.repo).root)


def load_snapshot(root: Path) -> Snapshot:
    run_log = RunLog.open_latest(root / ".oompa")
    return run_log.snapshot() if run_log else Snapshot()


def cmd_status(args: argparse.Namespace) -> int:
    root = _repo_root(args)
    snapshot = load_snapshot(root)
    holder = SwarmLock(root / ".oompa").holder()
    if snapshot.state == "running" and holder is None:
        snapshot.state, snapshot.stopped_reason = "stopped", "the process running it is gone (next start recovers)"
    if args.json:
        print(json.dumps(msgspec.to_builtins(snapshot), indent=2))
    else:
        print(console.status_table(snapshot))
    return 0


def cmd_tasks(args: argparse.Namespace) -> int:
    root = _repo_root(args)
    store = TaskStore(root / load_config(root).config.tasks_dir)
    scan = store.scan()
    for state in ("pending", "current", "complete", "failed"):
        tasks = getattr(scan, state)
        print(f"{state.upper()} ({len(tasks)})")
        for task in tasks:
            who = f"  [{task.claimed_by}]" if task.claimed_by else ""
            print(f"  {task.id:<28} {task.summary}{who}")
            notice = file_name_notice(task)
            if notice:
                print(f"  {'':<28} warning: {notice}")
    for bad in scan.invalid:
        print(f"INVALID {bad.path}: " + "; ".join(p.message for p in bad.problems))
    for stray in store.stray_files(root):
        print(f"NOT READ {stray.path}: {stray.problem}")
    for reason in blocked_reasons(scan):
        print(f"BLOCKED {reason}")
    return 0


# -- control ----------------------------------------------------------------------------


def _running(root: Path) -> bool:
    return SwarmLock(root / ".oompa").holder() is not None


def cmd_requeue(args: argparse.Namespace) -> int:
    root = _repo_root(args)
    if _running(root):
        for task_id in args.task_ids:
            control.post(root / ".oompa", Requeue(task_id=task_id))
        print(f"asked the running swarm to requeue {', '.join(args.task_ids)}")
        return 0
    store = TaskStore(root / load_config(root).config.tasks_dir)
    for task_id in args.task_ids:
        store.requeue(task_id)
        print(f"{task_id} -> pending")
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    root = _repo_root(args)
    snapshot = load_snapshot(root)
    if args.action == "list":
        if not snapshot.reviews:
            print("no pending reviews")
        for r in snapshot.reviews.values():
            print(
                f"{r.review_id}  task {r.task_id} by {r.worker} ({r.mode}, round {r.round}) "
                f"diff: git diff {r.base[:10]} {r.head[:10]}"
            )
        return 0
    if not args.review_id:
        raise OompaError(f"oompa review {args.action} needs a review id (see `oompa review`)")
    if not _running(root):
        raise OompaError("no swarm is running in this repository; start one with `oompa swarm`")
    comments = _review_comments(root, snapshot, args)
    if args.action == "approve":
        control.post(root / ".oompa", Approve(review_id=args.review_id, comments=comments))
    else:
        if not args.feedback.strip() and not comments:
            raise OompaError("a rejection needs feedback: oompa review reject ID -m 'what to change'")
        control.post(root / ".oompa", Reject(review_id=args.review_id, feedback=args.feedback, comments=comments))
    print(f"sent: {args.action} {args.review_id}" + (f" with {len(comments)} line comment(s)" if comments else ""))
    return 0


def _review_comments(root: Path, snapshot: Snapshot, args: argparse.Namespace) -> list[LineComment]:
    """`--comment`s checked against the review's diff, with the lines' text, as the editor sends them."""
    given = [parse_comment(c, "head") for c in args.comment] + [parse_comment(c, "base") for c in args.base_comment]
    review = snapshot.reviews.get(args.review_id)
    if not given:
        return []
    if review is None:
        raise OompaError(f"no pending review {args.review_id!r} (see `oompa review`)")
    repo = Repo.discover(root)
    try:
        return list(check_comments(repo, review.base, review.head, given))
    finally:
        repo.close()


def cmd_stop(args: argparse.Namespace) -> int:
    root = _repo_root(args)
    holder = SwarmLock(root / ".oompa").holder()
    if holder is None:
        print("no swarm is running in this repository")
        return 1
    control.post(root / ".oompa", StopSwarm(reason="stopped with `oompa stop`"))
    print(f"asked the swarm (pid {holder.pid}) to stop")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    root = _repo_root(args)
    if not _running(root):
        print("no swarm is running in this repository")
        return 1
    control.post(root / ".oompa", ResumeQueue())
    print("asked the swarm's merge queue to go on")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .checkup import run_checkup, show_prompt

    if args.show_prompt:
        return show_prompt(args.repo, args.show_prompt, args.worker)
    return run_checkup(args.repo)


def cmd_init(args: argparse.Namespace) -> int:
    from .starter import run_init

    return run_init(args.repo)


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report  # matplotlib loads only for a report

    files = write_report(_repo_root(args) / ".oompa", args.run_id, args.output, args.png)
    print(f"report of run {files.run_id}: {files.html_path}")
    if files.png_path:
        print(f"timeline: {files.png_path}")
    return 0


def cmd_cleanup(args: argparse.Namespace) -> int:
    from .checkup import run_cleanup

    return run_cleanup(args.repo)


if __name__ == "__main__":
    sys.exit(main())
