"""Redis: the official ``redis`` image with a password and AOF persistence; ``REDIS_URL``.

With a certificate it also serves TLS on 6380, as Heroku Redis does: the app gets
``REDIS_TLS_URL`` (``rediss://``) beside the plain ``REDIS_URL``. Clients are not asked
for certificates of their own; the password still guards both ports.
"""

from __future__ import annotations

from urllib.parse import quote

from shipway.addons import tls
from shipway.addons.base import Addon, Binding


class Redis(Addon):
    kind = "redis"
    image_repository = "redis"
    default_version = "7.2"
    port = 6379
    tls_port = 6380
    data_path = "/data"
    password_env = "REDIS_PASSWORD"
    url_vars = ("REDIS_URL",)
    tls_url_var = "REDIS_TLS_URL"
    serves_tls = True

    def server_env(self, b: Binding) -> dict[str, str]:
        return {"REDIS_PASSWORD": b.password}

    def args(self, b: Binding) -> list[str]:
        # Kubernetes expands $(REDIS_PASSWORD) from the container's env at start.
        args = [
            "redis-server",
            "--appendonly",
            "yes",
            "--dir",
            self.data_path,
            "--requirepass",
            "$(REDIS_PASSWORD)",
        ]
        if b.tls:
            args += [
                "--port",
                str(self.port),
                "--tls-port",
                str(self.tls_port),
                "--tls-cert-file",
                tls.CERT_FILE,
                "--tls-key-file",
                tls.KEY_FILE,
                "--tls-auth-clients",
                "no",
            ]
        return args

    def tls_ports(self) -> list[tuple[str, int]]:
        return [(f"{self.kind}-tls", self.tls_port)]

    def app_env(self, b: Binding) -> dict[str, str]:
        env = super().app_env(b)
        if b.tls:
            env[self.tls_url_var] = self.url(b, scheme="rediss", port=self.tls_port)
        return env

    def url(self, b: Binding, scheme: str = "redis", port: int | None = None) -> str:
        return f"{scheme}://:{quote(b.password, safe='')}@{self.host(b)}:{port or self.port}/0"
