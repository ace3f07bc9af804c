"""PostgreSQL: the official ``postgres`` image; the app gets ``DATABASE_URL``.

With a certificate the server also accepts TLS on its one port, so apps that force
``sslmode=require`` (written for Heroku Postgres) connect; the default ``pg_hba`` rules
(``host``) keep accepting plain connections too.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from shipway.addons import tls
from shipway.addons.base import Addon, Binding


class PostgreSQL(Addon):
    kind = "postgresql"
    image_repository = "postgres"
    default_version = "16"
    port = 5432
    data_path = "/var/lib/postgresql/data"
    password_env = "POSTGRES_PASSWORD"
    url_vars = ("DATABASE_URL",)
    serves_tls = True

    def server_env(self, b: Binding) -> dict[str, str]:
        return {
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": b.password,
            "POSTGRES_DB": self.database(b),
        }

    def args(self, b: Binding) -> list[str] | None:
        if not b.tls:
            return None
        # The official image's entrypoint and ours pass postgres' options through.
        return [
            "postgres",
            *("-c", "ssl=on"),
            *("-c", f"ssl_cert_file={tls.CERT_FILE}"),
            *("-c", f"ssl_key_file={tls.KEY_FILE}"),
        ]

    def extra_env(self) -> list[dict[str, Any]]:
        # initdb refuses a non-empty directory, and a fresh volume has lost+found.
        return [{"name": "PGDATA", "value": f"{self.data_path}/pgdata"}]

    def url(self, b: Binding) -> str:
        return (
            f"postgresql://{self.user}:{quote(b.password, safe='')}@{self.host(b)}:"
            f"{self.port}/{self.database(b)}"
        )
