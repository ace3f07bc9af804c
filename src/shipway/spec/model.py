"""The typed description of an application: what every loader produces.

``AppSpec`` is the single shape that the rest of Shipway reads, whichever file the
user wrote (``shipway.yaml``, ``Procfile``, ``app.json``, ``.cupaas.yml``).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shipway.errors import excerpt

#: Kubernetes DNS-1123 label; the app name also prefixes object names, hence the short cap.
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
APP_NAME_MAX = 40
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
PROCESS_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$"
DOMAIN = r"^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
#: Pods per process type; more is a typo (or a hostile app.json), not a plan.
MAX_REPLICAS = 100
#: Process types of one app: each is a Deployment.
MAX_PROCESSES = 50
SUPPORTED_PYTHON = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.8")

AddonKind = Literal["mongodb", "postgresql", "redis"]
ADDON_KINDS: tuple[str, ...] = ("mongodb", "postgresql", "redis")
Quantity = Annotated[str, Field(pattern=QUANTITY)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Resources(Model):
    """Requests for scheduling; limits are derived (memory limit = 2x request)."""

    cpu: Quantity = "100m"
    memory: Quantity = "256Mi"


class Process(Model):
    """One process type, as in a Procfile line.

    ``command`` is a shell string (run with ``/bin/sh -c``, so ``$PORT`` expands), an
    exec-form list, or ``None`` to keep the image's own entrypoint.
    """

    command: str | list[str] | None = None
    #: Strict: YAML's ``false`` must not mean 0 replicas.
    replicas: int = Field(default=1, ge=0, le=MAX_REPLICAS, strict=True)
    resources: Resources | None = None

    @field_validator("command")
    @classmethod
    def _non_empty(cls, value: str | list[str] | None) -> str | list[str] | None:
        if value is not None and not (value.strip() if isinstance(value, str) else value):
            raise ValueError("the command is empty; give the command that starts this process")
        return value


class Service(Model):
    """A backing service (addon) the app needs; ``version`` picks the server's version."""

    version: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    storage: Quantity = "1Gi"
    #: The environment variable the connection URL goes in, when not the addon's default.
    env_var: str | None = Field(default=None, pattern=ENV_NAME, alias="as")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Runtime(Model):
    language: Literal["python"] = "python"
    version: str | None = None

    @field_validator("version")
    @classmethod
    def _supported(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.fullmatch(r"\d{1,2}\.\d{1,2}(\.\d{1,2})?", value):
            raise ValueError(
                f"'{excerpt(value)}' is not a Python version; write it like 3.12 or 3.12.4"
            )
        minor = ".".join(value.split(".")[:2])
        if minor not in SUPPORTED_PYTHON:
            supported = ", ".join(sorted(SUPPORTED_PYTHON, key=lambda v: int(v.split(".")[1])))
            raise ValueError(f"Python {value} is not supported; use one of {supported}")
        return value


class AppSpec(Model):
    """Everything Shipway needs to know about an app, from whichever files it has."""

    name: str = Field(pattern=DNS_LABEL, max_length=APP_NAME_MAX)
    runtime: Runtime = Runtime()
    processes: dict[Annotated[str, Field(pattern=PROCESS_NAME, max_length=20)], Process] = Field(
        default={}, max_length=MAX_PROCESSES
    )
    port: int | None = Field(default=None, ge=1, le=65535, strict=True)
    env: dict[Annotated[str, Field(pattern=ENV_NAME)], str] = {}
    services: dict[AddonKind, Service] = {}
    healthcheck: str | None = Field(default=None, pattern=r"^/[^\s]*$")
    resources: Resources = Resources()
    domains: list[Annotated[str, Field(pattern=DOMAIN, max_length=253)]] = []
    #: Run once per deploy before the new release starts (Procfile ``release:``).
    release: str | None = None
    #: Run at build time in the built image, with the config vars (e.g. ``npm run build``);
    #: what it writes under /app ships with the image.
    build: str | None = None
    #: A read-only root file system (only /tmp writable); by default the app may write
    #: beside its code, as on Heroku (ephemeral: gone with the pod).
    read_only: bool = Field(default=False, strict=True)
    #: Config vars whose value Shipway generates once and keeps (app.json ``generator``).
    generated_env: list[Annotated[str, Field(pattern=ENV_NAME)]] = []

    @field_validator("processes")
    @classmethod
    def _process_names_free(cls, value: dict[str, Process]) -> dict[str, Process]:
        for name in value:
            if name in ADDON_KINDS:
                raise ValueError(f"process type '{name}' has the name of an addon; rename it")
        return value

    @property
    def web(self) -> Process | None:
        return self.processes.get("web")
