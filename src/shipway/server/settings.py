"""The server's settings, in one typed object."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


def default_state_dir() -> Path:
    return Path(os.environ.get("SHIPWAY_STATE_DIR") or Path.home() / ".local/state/shipway")


class ServerSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    #: ``postgresql://…``; None: SQLite in ``state_dir``.
    database: str | None = None
    state_dir: Path = Field(default_factory=default_state_dir)
    #: kubeconfig context of the cluster the server manages; None: in-cluster
    #: credentials when running in a pod, else the kubeconfig's current context.
    context: str | None = None
    #: Builds that run at once (the rest wait in the queue).
    max_builds: int = Field(default_factory=lambda: max(1, (os.cpu_count() or 2) // 2), ge=1)
    #: Deploys waiting, all apps together, before a new one answers 429.
    queue_size: int = Field(default=32, ge=1)
    #: Largest source archive a deploy may upload.
    max_upload: int = Field(default=200 * 1024 * 1024, ge=1024)
    #: Largest JSON body any other request may send.
    max_body: int = Field(default=1024 * 1024, ge=1024)
