"""Every error is a one-line JSON answer: ``{"error": "…"}`` with the status its kind
calls for; never a stack trace, whatever went wrong."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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


def install(app: FastAPI) -> None:
    app.add_exception_handler(ShipwayError, _shipway_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


async def _shipway_error(_request: Request, exc: ShipwayError) -> JSONResponse:
    return error(STATUS.get(exc.kind, 400), str(exc), exc.kind)


async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
    problem = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(p) for p in problem.get("loc", ()) if p not in ("body", "query"))
    message = f"{where or 'request'}: {problem.get('msg', 'invalid')}"
    return error(422, message.replace("\n", " ")[:300], "invalid")


async def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
    kind = {401: "unauthenticated", 403: "denied", 404: "not-found", 405: "invalid"}
    return error(exc.status_code, str(exc.detail), kind.get(exc.status_code, "invalid"))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The trace goes to the server's log for its operator, never to the client.
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error(500, "internal error (the server's log has the details)", "internal")
