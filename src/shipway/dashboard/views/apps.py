"""The apps of the visitor's teams, filtered by team."""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from shipway.dashboard import pages
from shipway.dashboard.auth import CurrentVisitor, dashboard
from shipway.queue import records
from shipway.server.auth import server
from shipway.server.routes.apps import app_rows

router = APIRouter(dependencies=[Depends(dashboard)])


@router.get("/")
def home() -> Response:
    return Response(status_code=303, headers={"Location": "/apps"})


@router.get("/apps")
async def apps_page(request: Request, visitor: CurrentVisitor, team: str = "") -> Response:
    rows = await to_thread.run_sync(lambda: listed(request, visitor.actor))
    teams = sorted({row["team"] for row in rows})
    shown = [row for row in rows if not team or row["team"] == team]
    return pages.render(request, "apps.html", apps=shown, teams=teams, team=team)


def listed(request: Request, actor: Any) -> list[dict[str, Any]]:
    """The API's list of apps, with each app's last deploy and what the page calls its
    state: a deploy under way, or a failed last deploy while the previous release serves,
    says more than the release's status."""
    srv = server(request)
    rows = app_rows(srv, actor)
    with srv.session() as session:
        last = records.latest_of(session, [row["app"] for row in rows])
        for row in rows:
            deploy = last.get(row["app"])
            row["deploy"] = records.as_json(deploy) if deploy else None
            row["state"] = state(row["status"], deploy.status if deploy else None)
    return rows


def state(release_status: str, deploy_status: str | None) -> str:
    if deploy_status in (records.WAITING, records.RUNNING):
        return "deploying"
    if deploy_status == "failed" and release_status in ("succeeded", "failed"):
        return "failed-serving" if release_status == "succeeded" else "failed"
    return {"succeeded": "running"}.get(release_status, release_status)
