"""Every error is a one-line JSON answer: ``{"error": "…"}`` with the status its kind
calls for; never a stack trace, whatever went wrong."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from shipway.errors import ShipwayError

log = logging.getLogger("shipway.server")

STATUS = {
    "invalid": 400,
    "unauthenticated": 401,
    "denied": 403,
    "not-found": 404,
    "conflict": 409,
    "busy": 429,
    "unavailable": 503,
}


def error(status: int, message: str, kind: str) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="shipway"'} if status == 401 else None
    return JSONResponse({"error": message, "kind": kind}, status_code=status, headers=headers)


#: A front end's own answer to an error of one of its requests (a page), or None.
Pages = Callable[[Request, int, str, str], Response | None]


def install(app: FastAPI, pages: Pages | None = None) -> None:
    def answer(request: Request, status: int, message: str, kind: str) -> Response:
        page = pages(request, status, message, kind) if pages else None
        return page or error(status, message, kind)

    async def shipway_error(request: Request, exc: ShipwayError) -> Response:
        return answer(request, STATUS.get(exc.kind, 400), str(exc), exc.kind)

    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problem = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in problem.get("loc", ()) if p not in ("body", "query"))
        message = f"{where or 'request'}: {problem.get('msg', 'invalid')}"
        return answer(request, 422, message.replace("\n", " ")[:300], "invalid")

    async def http_error(request: Request, exc: HTTPException) -> Response:
        kind = {401: "unauthenticated", 403: "denied", 404: "not-found", 405: "invalid"}
        status = exc.status_code
        return answer(request, status, str(exc.detail), kind.get(status, "invalid"))

    async def unexpected(request: Request, exc: Exception) -> Response:
        # The trace goes to the server's log for its operator, never to the client.
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return answer(request, 500, "internal error (the server's log has the details)", "internal")

    app.add_exception_handler(ShipwayError, shipway_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, invalid)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, unexpected)
