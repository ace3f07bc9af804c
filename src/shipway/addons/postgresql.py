"""PostgreSQL: the official ``postgres`` image; the app gets ``DATABASE_URL``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from shipway.addons.base import Addon, Binding


class PostgreSQL(Addon):
    kind = "postgresql"
    image_repository = "postgres"
    default_version = "16"
    port = 5432
    data_path = "/var/lib/postgresql/data"
    password_env = "POSTGRES_PASSWORD"
    url_vars = ("DATABASE_URL",)

    def server_env(self, b: Binding) -> dict[str, str]:
        return {
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": b.password,
            "POSTGRES_DB": self.database(b),
        }

    def extra_env(self) -> list[dict[str, Any]]:
        # initdb refuses a non-empty directory, and a fresh volume has lost+found.
        return [{"name": "PGDATA", "value": f"{self.data_path}/pgdata"}]

    def url(self, b: Binding) -> str:
        return (
            f"postgresql://{self.user}:{quote(b.password, safe='')}@{self.host(b)}:"
            f"{self.port}/{self.database(b)}"
        )
