"""MongoDB: the official ``mongo`` image; the app gets ``MONGODB_URI`` and ``MONGO_URL``."""

from __future__ import annotations

from urllib.parse import quote

from shipway.addons.base import Addon, Binding


class MongoDB(Addon):
    kind = "mongodb"
    image_repository = "mongo"
    default_version = "7.0"
    port = 27017
    data_path = "/data/db"
    password_env = "MONGO_INITDB_ROOT_PASSWORD"
    url_vars = ("MONGODB_URI", "MONGO_URL")

    def server_env(self, b: Binding) -> dict[str, str]:
        return {
            "MONGO_INITDB_ROOT_USERNAME": self.user,
            "MONGO_INITDB_ROOT_PASSWORD": b.password,
            "MONGO_INITDB_DATABASE": self.database(b),
        }

    def url(self, b: Binding) -> str:
        return (
            f"mongodb://{self.user}:{quote(b.password, safe='')}@{self.host(b)}:{self.port}"
            f"/{self.database(b)}?authSource=admin"
        )
