"""A deploy's page: its steps with their status and durations and its full build log,
updating live over server-sent events while it runs (htmx's SSE extension swaps each
event's fragment in: a step's row, a log line, the outcome); and redeploying a branch
of the app's repository; and the app's logs, following live."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from shipway import gitrepos, gitsettings
from shipway.access import Action
from shipway.dashboard import pages
from shipway.dashboard.auth import CurrentVisitor, Posted, dashboard, text
from shipway.db.models import Deploy
from shipway.errors import NotFound, ShipwayError
from shipway.ops.apps import LogsQuery
from shipway.ops.table import VERBS, Call
from shipway.queue import records
from shipway.server.auth import server
from shipway.server.routes.deploys import Deploys
from shipway.server.routes.verbs import owned, relayed
from shipway.server.sse import follow

router = APIRouter(dependencies=[Depends(dashboard)])
SSE_HEADERS = {**pages.HEADERS, "X-Accel-Buffering": "no"}
#: The most log lines a page shows of a deploy (its records keep them all).
MAX_LOG = 5000


def _deploy(request: Request, visitor: Any, app: str, deploy_id: int) -> dict[str, Any]:
    owned(request, visitor.actor, app, Action.READ)
    with server(request).session() as session:
        deploy = session.get(Deploy, deploy_id)
        if deploy is None or deploy.app != app:
            raise NotFound(f"no deploy {deploy_id} of {app}")
        found = records.as_json(deploy, records.steps(session, deploy_id))
        lines: list[str] = []
        last = 0
        while len(lines) < MAX_LOG:
            events = records.events_after(session, deploy_id, last)
            if not events:
                break
            lines += [str(e.data.get("text", "")) for e in events if e.kind == "log"]
            last = events[-1].seq
    return {"deploy": found, "lines": lines[:MAX_LOG], "after": last}


@router.get("/apps/{app}/deploys/{deploy_id}")
def deploy_page(request: Request, visitor: CurrentVisitor, app: str, deploy_id: int) -> Response:
    found = _deploy(request, visitor, app, deploy_id)
    ended = found["deploy"]["status"] in records.ENDED
    return pages.render(request, "deploy.html", app=app, ended=ended, **found)


@router.get("/apps/{app}/deploys/{deploy_id}/live")
def deploy_live(
    request: Request, visitor: CurrentVisitor, app: str, deploy_id: int, after: int = 0
) -> StreamingResponse:
    """The deploy's events after ``after`` (or, when the browser reconnects, after the
    last one it received) as HTML fragments, until it ends."""
    _deploy(request, visitor, app, deploy_id)  # may the visitor read it at all
    received = request.headers.get("last-event-id", "")
    if received.isdigit() and len(received) < 10:
        after = max(after, int(received))
    deploys: Deploys = request.app.state.deploys
    events = follow(deploys.notifier, deploy_id, max(0, after), deploys.reader(deploy_id))
    return StreamingResponse(
        _fragments(request, app, deploy_id, events),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )


async def _fragments(
    request: Request, app: str, deploy_id: int, events: AsyncIterator[Any]
) -> AsyncIterator[bytes]:
    async for event in events:
        if event is None:
            yield b": still working\n\n"
            continue
        seq, kind, data = event
        if kind == "step":
            name = str(data.get("step", ""))
            html = _part(request, "step.html", step={"name": name, **data})
            yield _message(seq, f"step-{name}", html)
        elif kind == "log":
            yield _message(seq, "log", _part(request, "log_line.html", line=data.get("text", "")))
        elif kind == "end":
            end = {key: data.get(key) for key in ("status", "reason", "release", "url")}
            html = _part(request, "deploy_end.html", app=app, deploy_id=deploy_id, end=end)
            yield _message(seq, "end", html)


def _part(request: Request, template: str, **context: Any) -> str:
    return pages.fragment(request, template, **context)


def _message(seq: int, event: str, html: str) -> bytes:
    data = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
    return f"id: {seq}\nevent: {event}\n{data}\n".encode()


@router.post("/apps/{app}/redeploy")
def redeploy(request: Request, visitor: CurrentVisitor, app: str, form: Posted) -> Response:
    """Build and release the head of a branch of the app's repository again (even when
    nothing changed: a redeploy is asked for)."""
    allowed = owned(request, visitor.actor, app, Action.DEPLOY)
    srv = server(request)
    branch = text(form, "branch", 250)
    if branch not in gitrepos.branches(srv.git_root, app):
        raise ShipwayError(f"branch: {app}'s repository has no branch '{branch[:60]}'; push it")
    repo = gitrepos.repo_path(srv.git_root, app)
    commit = gitrepos.resolve(repo, f"refs/heads/{branch}")
    assert commit is not None  # listed just now
    with srv.session() as session:
        subdir = gitsettings.of(session, app).subdir
    deploys: Deploys = request.app.state.deploys
    deploy_id = deploys.submit_commit(
        app, "dashboard", commit, repo, subdir, visitor.actor, allowed.team_id, force=True
    )
    return pages.redirect(request, f"/apps/{app}/deploys/{deploy_id}")


@router.get("/apps/{app}/logs")
def logs_page(request: Request, visitor: CurrentVisitor, app: str) -> Response:
    owned(request, visitor.actor, app, Action.READ)
    return pages.render(request, "logs.html", app=app)


@router.get("/apps/{app}/logs/live")
def logs_live(request: Request, visitor: CurrentVisitor, app: str) -> StreamingResponse:
    """The app's log lines as they come (the last 200 first), until the page closes."""
    allowed = owned(request, visitor.actor, app, Action.READ)
    call = Call(target=server(request).target, actor=allowed.actor)
    items = relayed(call, VERBS["logs"], app, LogsQuery(follow=True, tail=200))

    async def lines() -> AsyncIterator[bytes]:
        seq = 0
        async for item in items:
            seq += 1
            if "line" in item:
                yield _message(seq, "log", _part(request, "log_line.html", line=item["line"]))
            elif "error" in item:
                yield _message(seq, "log", _part(request, "log_line.html", line=item["error"]))

    return StreamingResponse(lines(), media_type="text/event-stream", headers=SSE_HEADERS)
