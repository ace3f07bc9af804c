"""Bounded request bodies: a JSON request past ``default`` bytes, or an upload past
``uploads``, is refused with 413 while it streams in, not after it filled the memory."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Paths that take source archives or git's negotiations (their own, larger limit).
UPLOAD_SUFFIXES = ("/sources", "/git-upload-pack")
#: Paths whose routes bound their bodies themselves: webhooks (``routes/hooks.py``),
#: which record a delivery refused for its size; and (suffixes) git pushes, bounded by
#: git itself (``receive.maxInputSize``), which tells the pusher why in git's words.
OWN_LIMITS = ("/hooks/",)
OWN_SUFFIXES = ("/git-receive-pack",)


class TooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, default: int, uploads: int):
        self.app, self.default, self.uploads = app, default, uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(OWN_LIMITS) or path.endswith(OWN_SUFFIXES):
            await self.app(scope, receive, send)
            return
        limit = self.uploads if path.endswith(UPLOAD_SUFFIXES) else self.default
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, limit)
            return
        seen = 0
        exceeded = False

        async def counted() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                exceeded = True
                raise TooLarge
            return message

        async def answered(message: Message) -> None:
            # The app may catch TooLarge as it reads the body and answer its own error:
            # what the client gets is the 413, whatever the app says.
            if not exceeded:
                await send(message)
            elif message["type"] == "http.response.start":
                await _refuse(send, limit)

        try:
            await self.app(scope, counted, answered)
        except TooLarge:
            await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(
        {"error": f"request body too large: the limit is {limit} bytes", "kind": "invalid"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
