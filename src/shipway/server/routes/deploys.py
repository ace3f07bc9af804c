"""Deploys: upload sources (a deploy joins the queue), list and read deploys, follow one
as server-sent events. A deploy is read with the permission to read its app: one of
another team's app is not found, like one that does not exist."""

from __future__ import annotations

import secrets
import shutil
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

from shipway import buildjob, gitrepos, sources, teams
from shipway.access import Action, Actor
from shipway.db.models import Deploy, utcnow
from shipway.errors import NotFound, ShipwayError
from shipway.queue import Queue, records
from shipway.queue import Request as DeployRequest
from shipway.queue.runner import deploy_runner, roll_back_cut_short
from shipway.server.auth import CurrentActor, server
from shipway.server.sse import Notifier, Reader, stream
from shipway.server.state import Server

GZIP = ("application/gzip", "application/x-gzip", "application/x-tar+gzip")


def router(deploys: Deploys) -> APIRouter:
    """The routes of ``deploys`` (its queue is recovered when the server starts)."""
    routes = APIRouter(tags=["deploys"])
    routes.add_event_handler("startup", deploys.start)
    routes.add_event_handler("shutdown", deploys.queue.shutdown)
    routes.add_api_route(
        "/apps/{app}/sources",
        deploys.upload,
        methods=["POST"],
        status_code=202,
        summary="Deploy uploaded sources (a tar.gz)",
    )
    routes.add_api_route(
        "/build-sources",
        deploys.build_sources,
        summary="A build Job's sources (once, for the deploy's one-time token)",
        include_in_schema=False,
    )
    routes.add_api_route(
        "/apps/{app}/deploys", deploys.list_deploys, summary="The app's deploys, newest first"
    )
    routes.add_api_route("/deploys/{deploy_id}", deploys.get_deploy, summary="A deploy, its steps")
    routes.add_api_route(
        "/deploys/{deploy_id}/events",
        deploys.events,
        summary="A deploy's events (text/event-stream), after Last-Event-ID",
    )
    return routes


def may_deploy(request: Request, app: str, actor: CurrentActor) -> tuple[Actor, int]:
    """A dependency: a request to deploy an app the actor may not is refused before its
    body is read."""
    with server(request).session() as session:
        return actor, teams.app_for(session, actor, app, Action.DEPLOY).team_id


class Deploys:
    """The deploy queue of this process, and the deploys' routes."""

    def __init__(self, srv: Server):
        self.srv = srv
        self.notifier = Notifier()
        self.handoff = buildjob.Handoff()
        settings = srv.settings
        builder = None
        if settings.build_runner == "job":
            assert settings.build_image and settings.internal_url
            job = buildjob.JobSettings.from_environment(settings.build_image, settings.internal_url)
            builder = buildjob.job_builder(job, self.handoff)
        self.queue = Queue(
            srv.sessions,
            deploy_runner(settings.context, builder=builder),
            max_builds=srv.settings.max_builds,
            queue_size=srv.settings.queue_size,
            lock=srv.app_lock,
            notify=self.notifier.notify,
        )
        self.uploads = srv.settings.state_dir / "sources"

    def start(self) -> None:
        # Sources of a previous process are of deploys that end aborted now.
        shutil.rmtree(self.uploads, ignore_errors=True)
        self.uploads.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.queue.recover(roll_back_cut_short(self.srv.target))

    async def upload(
        self,
        request: Request,
        app: str,
        allowed: Annotated[tuple[Actor, int], Depends(may_deploy)],
        force: Annotated[bool, Query(description="Release even if nothing changed.")] = False,
    ) -> JSONResponse:
        actor, team_id = allowed
        kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if kind not in GZIP:
            raise ShipwayError("send the sources as a tar.gz (Content-Type: application/gzip)")
        received_at = utcnow()
        work_dir = await self._receive(request)
        wanted = DeployRequest(app, "upload", actor.email, work_dir, force, None, received_at)

        deploy_id = await to_thread.run_sync(
            lambda: self.submit(wanted, actor, team_id, force=force)
        )
        return JSONResponse(
            {
                "deploy": deploy_id,
                "app": app,
                "status": "queued",
                "events": f"/api/v1/deploys/{deploy_id}/events",
            },
            status_code=202,
        )

    def submit(
        self, wanted: DeployRequest, actor: Actor, team_id: int | None, **detail: Any
    ) -> int:
        """Queue a deploy and audit it (its sources are removed if it is refused)."""
        try:
            deploy = self.queue.enqueue(wanted)
        except BaseException:
            shutil.rmtree(wanted.work_dir, ignore_errors=True)
            raise
        with self.srv.session() as session:
            teams.audit(session, actor, "deploy", team_id, wanted.app, deploy=deploy.id, **detail)
        return deploy.id

    def submit_commit(
        self, app: str, source: str, commit: str, repo: Path, subdir: str, actor: Actor,
        team_id: int | None, received_at: datetime | None = None, force: bool = False,
        **detail: Any,
    ) -> int:  # fmt: skip
        """Queue a deploy of ``commit``'s files (of ``subdir`` in it), taken out of
        ``repo``: a push's, a webhook's or a redeploy's, by ``actor``."""
        work_dir = self.work_dir()
        try:
            gitrepos.export(repo, commit, work_dir, subdir)
        except BaseException:
            shutil.rmtree(work_dir, ignore_errors=True)
            raise
        wanted = DeployRequest(app, source, actor.email, work_dir, force, commit, received_at)
        return self.submit(wanted, actor, team_id, commit=commit, **detail)

    def work_dir(self) -> Path:
        """A new directory's path for a deploy's sources (removed when it ends)."""
        return self.uploads / secrets.token_hex(8)

    def reader(self, deploy_id: int) -> Reader:
        def read(seq: int) -> list[tuple[int, str, dict[str, Any]]]:
            with self.srv.session() as session:
                found = records.events_after(session, deploy_id, seq)
                return [(e.seq, e.kind, e.data) for e in found]

        return read

    async def _receive(self, request: Request) -> Path:
        """The body, saved then unpacked into a directory of its own."""
        work_dir = self.work_dir()
        archive = work_dir.with_suffix(".tar.gz")
        try:
            with archive.open("wb") as out:
                async for chunk in request.stream():
                    out.write(chunk)

            def unpack() -> None:
                with archive.open("rb") as data:
                    sources.extract(data, work_dir)

            await to_thread.run_sync(unpack)
        except BaseException:
            shutil.rmtree(work_dir, ignore_errors=True)
            raise
        finally:
            archive.unlink(missing_ok=True)
        return work_dir

    def build_sources(
        self, token: Annotated[str, Header(alias=buildjob.TOKEN_HEADER)] = ""
    ) -> FileResponse:
        """A build Job's sources: once, for the token its deploy made; 404 otherwise."""
        archive = self.handoff.take(token) if token else None
        if archive is None or not archive.is_file():
            raise NotFound("no sources for this token")
        return FileResponse(archive, media_type="application/gzip")

    def list_deploys(
        self, app: str, actor: CurrentActor, limit: Annotated[int, Query(ge=1, le=500)] = 50
    ) -> list[dict[str, Any]]:
        with self.srv.session() as session:
            teams.app_for(session, actor, app, Action.READ)
            return [records.as_json(d) for d in records.of_app(session, app, limit)]

    def get_deploy(self, deploy_id: int, actor: CurrentActor) -> dict[str, Any]:
        with self.srv.session() as session:
            deploy = session.get(Deploy, deploy_id)
            try:
                if deploy is None:
                    raise NotFound("")
                teams.app_for(session, actor, deploy.app, Action.READ)
            except NotFound:
                raise NotFound(f"no deploy {deploy_id}") from None
            return records.as_json(deploy, records.steps(session, deploy_id))

    def events(
        self,
        deploy_id: int,
        actor: CurrentActor,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> StreamingResponse:
        self.get_deploy(deploy_id, actor)
        after = (last_event_id or "0").strip()
        if not after.isdigit() or len(after) > 9:
            raise ShipwayError("Last-Event-ID: give the id of the last event received")

        return StreamingResponse(
            stream(self.notifier, deploy_id, int(after), self.reader(deploy_id)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
