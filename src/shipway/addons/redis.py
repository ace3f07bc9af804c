"""Redis: the official ``redis`` image with a password and AOF persistence; ``REDIS_URL``."""

from __future__ import annotations

from urllib.parse import quote

from shipway.addons.base import Addon, Binding


class Redis(Addon):
    kind = "redis"
    image_repository = "redis"
    default_version = "7.2"
    port = 6379
    data_path = "/data"
    password_env = "REDIS_PASSWORD"
    url_vars = ("REDIS_URL",)

    def server_env(self, b: Binding) -> dict[str, str]:
        return {"REDIS_PASSWORD": b.password}

    def args(self) -> list[str]:
        # Kubernetes expands $(REDIS_PASSWORD) from the container's env at start.
        return [
            "redis-server",
            "--appendonly",
            "yes",
            "--dir",
            self.data_path,
            "--requirepass",
            "$(REDIS_PASSWORD)",
        ]

    def url(self, b: Binding) -> str:
        return f"redis://:{quote(b.password, safe='')}@{self.host(b)}:{self.port}/0"
