"""Webhook deliveries: ``POST /hooks/{github,gitlab,generic}/{app}`` (issue 13), outside
``/api/v1`` and without a bearer token: the app's webhook secret is the credential.

Every delivery for an existing app is recorded, whatever its answer: 413 for a body over
``events.MAX_BODY``, 404 when the app has no webhook secret (the answer for an app that
does not exist, which is only logged: nobody could read its records), 401 for a
signature that is not the app's, 400 for a body that is no delivery, 200 for a replayed
id, a ping or a delivery that asks for nothing, and 202 once the work is handed to a
thread of its own (``hookwork``): the provider gets its answer without waiting on git."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from shipway import gitsettings
from shipway.db.models import App, utcnow
from shipway.errors import NotFound, ShipwayError, Unauthenticated
from shipway.server import hookwork
from shipway.server.routes.deploys import Deploys
from shipway.server.state import Server
from shipway.teams import check_label
from shipway.webhooks import deliveries, events, keys
from shipway.webhooks.decide import decide
from shipway.webhooks.providers import (
    PROVIDERS,
    Provider,
    delivery_of,
    event_name,
    parse,
    verified,
)

log = logging.getLogger("shipway.server")
#: The answer for an app that does not exist and for one without a secret alike.
NO_HOOK = "no webhook for this app here (check the URL; set a secret with shipway git:webhook)"


def router(deploys: Deploys) -> APIRouter:
    """The webhook routes; accepted deliveries queue their deploys in ``deploys``."""
    routes = APIRouter(tags=["webhooks"])

    def recover() -> None:
        with deploys.srv.session() as session:
            deliveries.interrupted(session)

    routes.add_event_handler("startup", recover)
    routes.add_api_route(
        "/hooks/{provider}/{app}",
        receive,
        methods=["POST"],
        status_code=202,
        summary="A delivery from GitHub, GitLab or the generic hook",
    )
    return routes


async def receive(request: Request, provider: str, app: str) -> JSONResponse:
    """A delivery from GitHub, GitLab or the generic hook (signed with the app's secret)."""
    found = PROVIDERS.get(provider)
    if found is None:
        raise NotFound("unknown provider: use /hooks/github, /hooks/gitlab or /hooks/generic")
    received_at = utcnow()
    body = await _bounded_body(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    deploys: Deploys = request.app.state.deploys
    status, answer = await to_thread.run_sync(
        _handle, deploys, found, app, headers, body, received_at
    )
    return JSONResponse(answer, status_code=status)


async def _bounded_body(request: Request) -> bytes | None:
    """The body, or None when it is larger than ``events.MAX_BODY`` (read no further)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > events.MAX_BODY:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > events.MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class _Refused(Exception):
    def __init__(self, status: int, reason: str, kind: str):
        super().__init__(reason)
        self.status, self.reason, self.kind = status, reason, kind


def _handle(
    deploys: Deploys,
    provider: Provider,
    app: str,
    headers: dict[str, str],
    body: bytes | None,
    received_at: datetime,
) -> tuple[int, dict[str, Any]]:
    srv = deploys.srv
    if not _exists(srv, app):
        log.info("webhook delivery for unknown app %r refused (404)", app[:63])
        return 404, {"error": NO_HOOK, "kind": "not-found"}
    delivery = delivery_of(provider, headers, body or b"")
    event = event_name(provider, headers) or "-"
    try:
        parsed = _check(srv, provider, app, headers, body)
    except _Refused as refused:
        with srv.session() as session:
            deliveries.record(
                session, app, provider.name, delivery, event,
                "failed" if refused.status >= 500 else "rejected", refused.reason, received_at,
            )  # fmt: skip
        said = NO_HOOK if refused.status == 404 else refused.reason
        return refused.status, {"error": said, "kind": refused.kind}
    return _accept(deploys, provider, app, delivery, event, parsed, received_at)


def _check(
    srv: Server, provider: Provider, app: str, headers: dict[str, str], body: bytes | None
) -> events.Event:
    """What a delivery asks for, once its size and signature are checked; ``_Refused``
    (recorded) otherwise."""
    if body is None:
        limit = events.MAX_BODY // 1024 // 1024
        raise _Refused(413, f"the body is larger than {limit} MiB", "invalid")
    try:
        secret = keys.read(srv.client, app).secret
    except ShipwayError as exc:
        raise _Refused(503, f"the webhook secret could not be read: {exc}", "unavailable") from None
    if not secret:
        reason = "no webhook secret is set for the app (shipway git:webhook)"
        raise _Refused(404, reason, "not-found")
    if not verified(provider, secret, headers, body):
        reason = f"the {provider.proof} header does not match the app's webhook secret"
        raise _Refused(401, reason, Unauthenticated.kind)
    try:
        return parse(provider, headers, body)
    except events.BadDelivery as exc:
        raise _Refused(400, str(exc), "invalid") from None


def _accept(
    deploys: Deploys,
    provider: Provider,
    app: str,
    delivery: str,
    event: str,
    parsed: events.Event,
    received_at: datetime,
) -> tuple[int, dict[str, Any]]:
    with deploys.srv.session() as session:
        claimed = deliveries.claim(session, app, provider.name, delivery, event, received_at)
        if claimed is None:
            reason = "this delivery id was received before (a replay or a retry)"
            row = deliveries.record(
                session, app, provider.name, delivery, event, "duplicate", reason, received_at
            )
            return 200, {"delivery": row.id, "outcome": "duplicate", "reason": reason}
        settings = gitsettings.of(session, app)
        action = decide(app, settings.hook(), parsed)
        if action.kind in ("pong", "ignore"):
            outcome = "pong" if action.kind == "pong" else "ignored"
            deliveries.finish(session, claimed.id, outcome, action.reason, None, None, None)
            return 200, {"delivery": claimed.id, "outcome": outcome, "reason": action.reason}
        record_id = claimed.id
    work = hookwork.Work(
        record_id, provider.name, app, action, parsed.branch, settings, received_at
    )
    hookwork.start(deploys, work)
    answer = {"delivery": record_id, "outcome": "accepted", "app": action.app}
    return 202, answer | {"action": action.kind}


def _exists(srv: Server, app: str) -> bool:
    try:
        check_label("app", app)
    except ShipwayError:
        return False
    with srv.session() as session:
        return session.get(App, app) is not None
