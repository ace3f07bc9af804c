"""``/<app>.git``: each app's repository over git's smart HTTP protocol, served by git's
own ``git http-backend`` streamed both ways (issue 13). HTTP Basic with a token as the
password (any user name: what ``~/.netrc`` written by ``shipway login`` gives); a clone
or fetch needs read rights on the app, a push deploy rights. Errors are plain text,
which git prints to the user as ``remote:`` lines."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import ExitStack
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Header, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from shipway import githttp, gitrepos, gitsettings, teams
from shipway.access import Action
from shipway.errors import ShipwayError
from shipway.server.auth import address, current_actor, current_user, server
from shipway.server.errors import STATUS
from shipway.server.gitpush import Pusher, Pushes

log = logging.getLogger("shipway.git")

CHUNK = 64 * 1024
#: The most of the backend's error output kept for the server's log.
MAX_STDERR = 8 * 1024


def router(pushes: Pushes) -> APIRouter:
    routes = APIRouter(tags=["git"], include_in_schema=False)
    routes.add_event_handler("startup", pushes.start)
    routes.add_event_handler("shutdown", pushes.stop)
    handler = _GitRoute(pushes)
    routes.add_api_route("/{app}.git/{path:path}", handler.serve, methods=["GET", "POST"])
    return routes


class _GitRoute:
    def __init__(self, pushes: Pushes):
        self.pushes = pushes

    async def serve(
        self,
        request: Request,
        app: str,
        path: str,
        content_type: Annotated[str | None, Header()] = None,
        content_encoding: Annotated[str | None, Header()] = None,
        git_protocol: Annotated[str | None, Header()] = None,
    ) -> Response:
        stack = ExitStack()
        try:
            wanted = githttp.parse(
                app, f"/{path}", request.method, request.query_params.get("service")
            )
            pusher = await to_thread.run_sync(self._allowed, request, wanted)
            env = githttp.cgi_env(
                self.pushes.root,
                wanted,
                content_type=content_type,
                content_encoding=content_encoding,
                git_protocol=git_protocol,
                user=pusher.actor.email,
                address=address(request),
            ) | gitrepos.config_env(self.pushes.config())
            if wanted.service == "git-receive-pack" and wanted.path != "/info/refs":
                env |= stack.enter_context(self.pushes.pushing(pusher))
        except ShipwayError as exc:
            stack.close()
            return _refusal(exc)
        return await _backend(request, env, stack)

    def _allowed(self, request: Request, wanted: githttp.GitRequest) -> Pusher:
        actor = current_actor(request, current_user(request))
        needs = Action.DEPLOY if wanted.service == "git-receive-pack" else Action.READ
        srv = server(request)
        with srv.session() as session:
            owner = teams.app_for(session, actor, wanted.app, needs)
            branch = gitsettings.of(session, wanted.app).branches[0]
        gitrepos.ensure(self.pushes.root, wanted.app, branch)
        return Pusher(wanted.app, actor, owner.team_id)


def _refusal(exc: ShipwayError) -> Response:
    status = STATUS.get(exc.kind, 400)
    headers = {"WWW-Authenticate": 'Basic realm="shipway"'} if status == 401 else None
    return PlainTextResponse(f"{exc}\n", status_code=status, headers=headers)


async def _backend(request: Request, env: dict[str, str], stack: ExitStack) -> Response:
    """Run ``git http-backend``: the request's body into it, its answer out, as both
    come. ``stack`` closes when the backend has ended."""
    backend = await asyncio.create_subprocess_exec(
        "git",
        "http-backend",
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert backend.stdin and backend.stdout and backend.stderr
    feeding = asyncio.create_task(_feed(request, backend.stdin))
    errors = asyncio.create_task(_tail(backend.stderr))
    try:
        head, rest = await _head(backend.stdout)
        status, headers = githttp.response_head(head)
        # The whole request goes in before the answer starts: a streamed answer reads
        # the connection for a disconnect, which would take the request's last parts.
        # git's services answer only once they have read it all.
        await feeding
    except (ShipwayError, ConnectionError) as exc:
        await _end(backend, feeding, errors, stack)
        return PlainTextResponse(f"git http-backend failed: {exc}\n", status_code=502)

    async def body() -> AsyncIterator[bytes]:
        assert backend.stdout
        try:
            if rest:
                yield rest
            while chunk := await backend.stdout.read(CHUNK):
                yield chunk
        finally:
            await _end(backend, feeding, errors, stack)

    return StreamingResponse(body(), status_code=status, headers=dict(headers))


async def _feed(request: Request, stdin: asyncio.StreamWriter) -> None:
    try:
        async for chunk in request.stream():
            stdin.write(chunk)
            await stdin.drain()
    except (ConnectionError, BrokenPipeError):
        pass  # the backend stopped reading: its answer says why
    finally:
        stdin.close()


async def _tail(stderr: asyncio.StreamReader) -> bytes:
    """All the backend says on stderr (read, so it never blocks), its end kept."""
    kept = b""
    while chunk := await stderr.read(CHUNK):
        kept = (kept + chunk)[-MAX_STDERR:]
    return kept


async def _head(stdout: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """The backend's CGI headers, and what it wrote after them."""
    data = b""
    while len(data) <= githttp.MAX_HEAD:
        for end in (b"\r\n\r\n", b"\n\n"):
            if end in data:
                head, _, rest = data.partition(end)
                return head, rest
        chunk = await stdout.read(CHUNK)
        if not chunk:
            raise ConnectionError("it ended before its headers")
        data += chunk
    return data, b""  # response_head refuses it as too long


async def _end(
    backend: asyncio.subprocess.Process,
    feeding: asyncio.Task[None],
    errors: asyncio.Task[bytes],
    stack: ExitStack,
) -> None:
    feeding.cancel()
    if backend.returncode is None:
        try:
            await asyncio.wait_for(backend.wait(), 1)
        except TimeoutError:
            backend.kill()
            await backend.wait()
    said = await errors
    if backend.returncode and said:
        log.warning("git http-backend exited %s: %s", backend.returncode, said[-500:])
    stack.close()
