"""``shipway deploy`` in remote mode: upload the app's source archive, then follow the
deploy's event stream to the URL or the failure, printing what the direct deploy prints
(its log lines as they come, then "vN deployed: IMAGE" and the URL, or the same JSON).

A dropped stream is resumed where it stopped (``Last-Event-ID``), so a restart of a proxy
between here and the server loses no line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shipway.cli.progress import RichProgress
from shipway.cli.remote import Remote
from shipway.errors import DeployFailed, ShipwayError, TemporaryError

#: The largest archive sent (the server may allow less: it then answers 413).
MAX_UPLOAD = 200 * 1024 * 1024
#: Times a dropped event stream is resumed before giving up.
RESUMES = 5


def deploy_remote(
    remote: Remote, app_dir: Path, app_name: str | None, force: bool, as_json: bool
) -> dict[str, Any]:
    """Deploy through the server; the result ``shipway deploy --json`` prints (the caller
    prints it, as it prints a direct deploy's). A failed
    deploy raises ``DeployFailed`` (with the version rolled back to), an aborted one a
    ``ShipwayError`` naming why."""
    from shipway import sources
    from shipway.cli.app_name import app_name as name_of

    name = app_name or name_of(app_dir)
    with RichProgress(enabled=not as_json) as progress:
        archive = sources.make(app_dir, MAX_UPLOAD)
        progress.step(f"uploading the sources ({sources.size_text(len(archive))})")
        queued = remote.request(
            "POST",
            f"/apps/{name}/sources",
            params={"force": force},
            content=archive,
            content_type="application/gzip",
        )
        deploy_id = int(queued["deploy"])
        progress.step(f"deploy {deploy_id} queued")
        end: dict[str, Any] = {}
        for kind, data in events(remote, deploy_id):
            if kind == "log":
                progress.step(str(data.get("text", "")))
            elif kind == "end":
                end = data
    status = end.get("status")
    if status == "failed":
        reason = str(end.get("reason") or "the deploy failed")
        back = end.get("rolled_back_to")
        raise DeployFailed(reason, back if isinstance(back, int) else None)
    if status != "finished":
        raise ShipwayError(f"deploy {deploy_id} {status}: {end.get('reason') or 'no reason given'}")
    result = {
        "status": "succeeded" if end.get("changed", True) else "unchanged",
        "app": name,
        "release": end.get("release"),
        "description": end.get("description"),
        "image": end.get("image"),
        "url": end.get("url"),
        "warnings": end.get("warnings", []),
        "deploy": deploy_id,
    }
    return result


def events(remote: Remote, deploy_id: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind, data) of the deploy's server-sent events until its ``end``, resuming a
    dropped stream after the last event received."""
    last = 0
    for attempt in range(RESUMES + 1):
        headers = {"Last-Event-ID": str(last)} if last else {}
        try:
            for seq, kind, data in parse(
                remote.stream("GET", f"/deploys/{deploy_id}/events", headers=headers)
            ):
                last = seq or last
                yield kind, data
                if kind == "end":
                    return
        except TemporaryError:
            if attempt == RESUMES:
                raise
    raise TemporaryError(f"the event stream of deploy {deploy_id} ended before the deploy")


def parse(lines: Iterator[bytes]) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """Server-sent events from the stream's lines: (id, event, JSON data)."""
    seq, kind, data = 0, "message", ""
    for raw in lines:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if data:
                try:
                    parsed = json.loads(data)
                except ValueError:
                    parsed = {"text": data}
                yield seq, kind, parsed if isinstance(parsed, dict) else {"value": parsed}
            seq, kind, data = 0, "message", ""
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "id" and value.isdigit():
            seq = int(value)
        elif field == "event":
            kind = value
        elif field == "data":
            data = f"{data}\n{value}" if data else value
