"""The server's settings, in one typed object."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


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
    #: Where builds run: ``pool``, warm in this process's workers; ``job``, each as a
    #: Kubernetes Job of ``build_image`` in the app's namespace (``shipway.buildjob``).
    build_runner: Literal["pool", "job"] = "pool"
    #: The image build Jobs run (the server's own; SHIPWAY_SERVER_IMAGE).
    build_image: str | None = None
    #: The server as build Jobs' pods reach it (SHIPWAY_INTERNAL_URL).
    internal_url: str | None = None

    @model_validator(mode="after")
    def _job_needs(self) -> ServerSettings:
        if self.build_runner == "job" and not (self.build_image and self.internal_url):
            raise ValueError(
                "--build-runner job needs the image builds run (--build-image or "
                "$SHIPWAY_SERVER_IMAGE) and the server's in-cluster URL (--internal-url or "
                "$SHIPWAY_INTERNAL_URL); shipway server install sets both"
            )
        return self
