"""Handlers for oompa's commands (`oompa.startSwarm`, `oompa.approve`, ...): check the
arguments against protocol.COMMANDS, ask the session, answer a `CommandResult`. The engine's
refusals become Invalid Params, its failures RequestFailed.

Must not import: oompa_lsp.engine, oompa_lsp.adapters, oompa_lsp.cli.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from pygls.exceptions import JsonRpcInvalidParams

from oompa_lsp.core.errors import EngineRequestError, OompaError
from oompa_lsp.core.review_notes import LineComment

from . import protocol as p
from .handlers_requests import review_diff
from .server import OompaServer
from .ticking import tick, tick_edit

DEFAULT_REJECT_FEEDBACK = "Rejected in the editor without comment: look again at the task and its acceptance criteria."


def register(server: OompaServer) -> None:
    @server.command(p.START_SWARM)
    async def start(ls: OompaServer, *args: Any) -> dict[str, Any]:
        p.command_arguments(p.START_SWARM, args)
        return await start_swarm(ls)

    @server.command(p.STOP_SWARM)
    async def stop(ls: OompaServer, *args: Any) -> dict[str, Any]:
        p.command_arguments(p.STOP_SWARM, args)
        return done(ls, await (await ls.require_session()).stop())

    @server.command(p.APPROVE)
    async def approve(ls: OompaServer, *args: Any) -> dict[str, Any]:
        review_id, *rest = p.command_arguments(p.APPROVE, args)
        notes = line_comments(rest[0] if rest else [])
        return done(ls, await engine_answer((await ls.require_session()).approve(review_id, notes)))

    @server.command(p.REJECT)
    async def reject(ls: OompaServer, *args: Any) -> dict[str, Any]:
        review_id, *rest = p.command_arguments(p.REJECT, args)
        comments = line_comments(rest[1] if len(rest) > 1 else [])
        feedback = rest[0].strip() if rest else ""
        if not feedback and not comments:
            feedback = DEFAULT_REJECT_FEEDBACK
        return done(ls, await engine_answer((await ls.require_session()).reject(review_id, feedback, comments)))

    @server.command(p.REQUEUE)
    async def requeue(ls: OompaServer, *args: Any) -> dict[str, Any]:
        (task_id,) = p.command_arguments(p.REQUEUE, args)
        return done(ls, await engine_answer((await ls.require_session()).requeue(task_id)))

    @server.command(p.CANCEL_TASK)
    async def cancel_task(ls: OompaServer, *args: Any) -> dict[str, Any]:
        (task_id,) = p.command_arguments(p.CANCEL_TASK, args)
        return done(ls, await engine_answer((await ls.require_session()).cancel_task(task_id)))

    @server.command(p.RESUME_QUEUE)
    async def resume_queue(ls: OompaServer, *args: Any) -> dict[str, Any]:
        p.command_arguments(p.RESUME_QUEUE, args)
        return done(ls, await engine_answer((await ls.require_session()).resume_queue()))

    @server.command(p.OPEN_DIFF)
    async def open_diff(ls: OompaServer, *args: Any) -> dict[str, Any]:
        (review_id,) = p.command_arguments(p.OPEN_DIFF, args)
        return await review_diff(ls, review_id)

    @server.command(p.TICK_ITEM)
    async def tick_item(ls: OompaServer, *args: Any) -> dict[str, Any]:
        (task_id,) = p.command_arguments(p.TICK_ITEM, args)
        if tick_edit(ls, task_id) is None:
            raise JsonRpcInvalidParams(f"task {task_id!r} links to no unticked item of the spec")
        applied = await tick(ls, task_id)
        return done(ls, "ticked" if applied else "the editor did not apply the edit", ok=applied)


async def start_swarm(ls: OompaServer) -> dict[str, Any]:
    """Start the swarm (`oompa.startSwarm`, or `autoStart` once initialized)."""
    session = await ls.require_session()
    try:
        message = await session.start()
    except OompaError as exc:
        ls.show_message("error", f"oompa: the swarm could not start: {exc}")
        raise p.RequestFailed(str(exc)) from None
    ls.forwarder.swarm_state(urgent=True)
    ls.forwarder.schedule_refresh()
    return done(ls, message)


async def engine_answer(request: Awaitable[str]) -> str:
    """Await a session request, turning the engine's refusals into Invalid Params."""
    try:
        return await request
    except EngineRequestError as exc:
        raise JsonRpcInvalidParams(str(exc)) from None
    except OompaError as exc:
        raise p.RequestFailed(str(exc)) from None


def line_comments(located: list[p.LocatedComment]) -> list[LineComment]:
    return [LineComment(c.path, c.side, c.start_line, c.end_line, c.body) for c in located]


def done(ls: OompaServer, message: str, ok: bool = True) -> dict[str, Any]:
    return p.to_payload(p.CommandResult(ok=ok, message=message, viewer=ls.viewer))
