"""A git push is a deploy (issue 13). ``git receive-pack`` hands every ref a push updates
to the ``proc-receive`` hook (``shipway.githook``), which passes them to this process
over a Unix socket, with the one-time token the git route gave that push. Here a push
to the app's deploy branch is exported, queued as a deploy and followed, each of its log
lines sent back to print as ``remote:`` lines; the branch moves only when the deploy
has finished, so it always names the last commit deployed from git. A failed deploy
rejects the push with its reason, and the running release keeps serving.

Pushes to one app are serialized end to end (the check that the branch is where the
client saw it, the deploy, the branch's update), so a second push waits, says so, and
is refused if the first moved the branch under it."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anyio import to_thread

from shipway import githook, gitrepos, gitsettings
from shipway.access import Actor
from shipway.errors import ShipwayError, excerpt
from shipway.server.routes.deploys import Deploys
from shipway.server.sse import follow

log = logging.getLogger("shipway.git")

#: The longest request a hook may send (its push's ref updates).
MAX_REQUEST = 1024 * 1024
#: The most refs one push may update.
MAX_REFS = 100

Say = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class Pusher:
    """Who a push's receive-pack runs for."""

    app: str
    actor: Actor
    team_id: int


class Pushes:
    def __init__(self, deploys: Deploys):
        self.deploys = deploys
        self.root = deploys.srv.git_root
        self.hooks = deploys.srv.settings.state_dir / "git-hooks"
        self._pushers: dict[str, Pusher] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._socket_dir: Path | None = None
        self._server: asyncio.AbstractServer | None = None

    @property
    def socket(self) -> Path:
        assert self._socket_dir is not None, "the hook socket opens when the server starts"
        return self._socket_dir / "hook.sock"

    async def start(self) -> None:
        self._install_hook()
        # A socket path must stay under ~100 bytes, which a state directory may not.
        self._socket_dir = Path(tempfile.mkdtemp(prefix="shipway-git-"))
        self._server = await asyncio.start_unix_server(
            self._serve, path=str(self.socket), limit=MAX_REQUEST
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)

    def _install_hook(self) -> None:
        self.hooks.mkdir(parents=True, exist_ok=True, mode=0o700)
        hook = self.hooks / "proc-receive"
        source = Path(githook.__file__).read_text(encoding="utf-8")
        hook.write_text(f"#!{sys.executable} -I\n{source}", encoding="utf-8")
        hook.chmod(0o700)

    def config(self) -> dict[str, str]:
        """git settings every backend runs with: Shipway's hook decides every ref."""
        return {
            "core.hooksPath": str(self.hooks),
            "receive.procReceiveRefs": "refs/",
            "receive.maxInputSize": str(self.deploys.srv.settings.max_upload),
            # A pushed object git would call corrupt or dangerous (a tree entry named
            # ``.git``, a ``..`` path) is refused before anything reads it.
            "receive.fsckObjects": "true",
        }

    @contextmanager
    def pushing(self, pusher: Pusher) -> Iterator[dict[str, str]]:
        """The environment a receive-pack for ``pusher`` runs with, valid while open."""
        token = secrets.token_urlsafe(24)
        self._pushers[token] = pusher
        try:
            yield {"SHIPWAY_HOOK_SOCKET": str(self.socket), "SHIPWAY_HOOK_TOKEN": token}
        finally:
            self._pushers.pop(token, None)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def say(text: str) -> None:
            writer.write(json.dumps({"say": excerpt(text, 2000)}).encode() + b"\n")
            await writer.drain()

        try:
            asked = json.loads(await reader.readline())
            pusher = self._pushers.pop(str(asked.get("token")), None)
            updates = asked.get("commands")
            if pusher is None or not isinstance(updates, list):
                return  # the hook reports the refs refused
            results = await self._results(pusher, updates, say)
            writer.write(json.dumps({"results": results}).encode() + b"\n")
            await writer.drain()
        except (ValueError, TypeError, ConnectionError, asyncio.LimitOverrunError) as exc:
            log.warning("a git hook's request failed: %s", type(exc).__name__)
        finally:
            writer.close()

    async def _results(
        self, pusher: Pusher, updates: list[Any], say: Say
    ) -> list[list[str | None]]:
        """[ref, reason or None] of each update, in order."""
        if len(updates) > MAX_REFS:
            return [[str(ref), f"more than {MAX_REFS} refs in one push"] for *_, ref in updates]
        return [
            [str(ref), await self._update(pusher, str(old), str(new), str(ref), say)]
            for old, new, ref in updates
        ]

    async def _update(self, pusher: Pusher, old: str, new: str, ref: str, say: Say) -> str | None:
        """The reason ``ref`` may not move from ``old`` to ``new``; None once it has."""
        settings = await to_thread.run_sync(self._settings, pusher.app)
        branch = ref.removeprefix("refs/heads/")
        if not ref.startswith("refs/heads/") or branch not in settings.branches:
            first = settings.branches[0]
            return f"only {first} deploys; push there: git push shipway HEAD:{first}"
        if not (gitrepos.COMMIT.fullmatch(old) and gitrepos.COMMIT.fullmatch(new)):
            return "not a ref update git sends"
        if not new.strip("0"):
            return f"{branch} is the deploy branch, which is never deleted"
        lock = self._locks.setdefault(pusher.app, asyncio.Lock())
        if lock.locked():
            await say(f"another push to {pusher.app} is deploying; waiting for it to end")
        async with lock:
            return await self._deploy(pusher, settings, (old, new, ref), say)

    def _settings(self, app: str) -> gitsettings.GitSettings:
        with self.deploys.srv.session() as session:
            return gitsettings.of(session, app)

    async def _deploy(
        self,
        pusher: Pusher,
        settings: gitsettings.GitSettings,
        update: tuple[str, str, str],
        say: Say,
    ) -> str | None:
        old, new, ref = update
        repo = gitrepos.repo_path(self.root, pusher.app)
        current = await to_thread.run_sync(gitrepos.resolve, repo, ref)
        if current != (old if old.strip("0") else None):
            return "the branch moved while this push waited; fetch, then push again"
        await say(f"deploying {new[:12]} to {pusher.app}")
        try:
            deploy_id = await to_thread.run_sync(
                lambda: self.deploys.submit_commit(
                    pusher.app, "git", new, repo, settings.subdir, pusher.actor, pusher.team_id
                )
            )
        except ShipwayError as exc:
            return excerpt(str(exc), 300)
        end = await self._relay(deploy_id, say)
        if end.get("status") != "finished":
            return f"deploy failed: {excerpt(str(end.get('reason') or end.get('status')), 300)}"
        await to_thread.run_sync(gitrepos.git, repo, "update-ref", ref, new, old)
        url = end.get("url") or "no URL (no web process)"
        if end.get("changed", True):
            await say(f"released v{end.get('release')}: {url}")
        else:
            await say(f"nothing changed: v{end.get('release')} keeps serving: {url}")
        return None

    async def _relay(self, deploy_id: int, say: Say) -> dict[str, Any]:
        """Say the deploy's log lines as they come; its end."""
        await say(f"deploy {deploy_id} queued")
        reader = self.deploys.reader(deploy_id)
        async for event in follow(self.deploys.notifier, deploy_id, 0, reader):
            if event is None:
                continue
            _seq, kind, data = event
            if kind == "log":
                with suppress(ConnectionError):  # the client left: the deploy goes on
                    await say(str(data.get("text", "")))
            elif kind == "end":
                return data
        return {}
