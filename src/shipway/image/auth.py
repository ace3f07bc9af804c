"""Registry credentials: flags or environment first, then Docker's own config file.

``SHIPWAY_REGISTRY_USERNAME``/``SHIPWAY_REGISTRY_PASSWORD`` (or the CLI's flags) win;
otherwise the ``auths`` of ``~/.docker/config.json`` (``$DOCKER_CONFIG``) are used, so a
``docker login`` is enough. Credential helpers are not consulted.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from shipway.image.reference import DOCKER_HUB

DOCKER_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io")


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def __str__(self) -> str:  # never print the password
        return self.username

    def authorization(self) -> str:
        """The ``Authorization`` header of HTTP basic authentication (RFC 7617, UTF-8)."""
        pair = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(pair).decode()


def lookup(registry: str, explicit: Credentials | None = None) -> Credentials | None:
    if explicit is not None:
        return explicit
    user = os.environ.get("SHIPWAY_REGISTRY_USERNAME")
    password = os.environ.get("SHIPWAY_REGISTRY_PASSWORD")
    if user and password is not None:
        return Credentials(user, password)
    return _docker_config(registry)


def _docker_config(registry: str) -> Credentials | None:
    folder = os.environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
    try:
        auths = json.loads((Path(folder) / "config.json").read_text()).get("auths", {})
    except (OSError, ValueError, AttributeError):
        return None
    keys = (
        DOCKER_HUB_KEYS
        if registry == DOCKER_HUB
        else (registry, f"https://{registry}", f"http://{registry}")
    )
    for key in keys:
        entry = auths.get(key) if isinstance(auths, dict) else None
        if isinstance(entry, dict):
            found = _decode(entry)
            if found:
                return found
    return None


def _decode(entry: dict[str, str]) -> Credentials | None:
    if entry.get("username") and "password" in entry:
        return Credentials(entry["username"], entry["password"])
    try:
        user, _, password = base64.b64decode(entry.get("auth", "")).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return Credentials(user, password) if user else None
