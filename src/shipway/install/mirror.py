"""Copy the platform's base images into the in-cluster registry, so the server's builds
(in a pod, where the node's 127.0.0.1 is not reachable) find them at the registry's
Service address. Blobs the target has are skipped; layers pass through the local blob
store (kept, so a second install uploads only what the target lacks)."""

from __future__ import annotations

from shipway.image.base import ensure_layers, fetch
from shipway.image.blobs import BlobStore
from shipway.image.builder import client_for
from shipway.image.layer import Layer
from shipway.image.push import push_image
from shipway.image.reference import parse


def copy_image(source: str, target: str, insecure: bool, store: BlobStore) -> str:
    """Copy ``source`` (any reference) to ``target`` (HOST/REPO:TAG); its digest."""
    ref = parse(source, "image to copy")
    client = client_for(ref, insecure, None)
    image = fetch(client, ref, store)
    ensure_layers(client, image, store)
    layers = [
        Layer(d.digest, diff_id, d.size, d.media_type)
        for d, diff_id in zip(image.layers, image.diff_ids, strict=True)
    ]
    parse(target, "copy target")
    return push_image(target, image.config, layers, store)


def base_images(
    bases: dict[str, str], default: str | None, push_host: str, insecure: bool, store: BlobStore
) -> tuple[dict[str, str], str | None]:
    """Copy each base image (per Python minor, and the default) to ``push_host``; the
    same maps with the copies' paths (``base/…:TAG``, without the host)."""
    copied: dict[str, str] = {}

    def one(source: str) -> str:
        if source not in copied:
            ref = parse(source, "base image")
            path = f"{ref.repository}:{ref.tag or 'latest'}"
            copy_image(source, f"{push_host}/{path}", insecure, store)
            copied[source] = path
        return copied[source]

    return {minor: one(image) for minor, image in bases.items()}, one(default) if default else None


#: Tags copied per addon repository at most (a mirror of a few server versions).
MAX_TAGS = 20


def addon_images(
    repositories: dict[str, str], push_host: str, insecure: bool, store: BlobStore
) -> dict[str, str]:
    """Copy each addon repository's tags to ``push_host``; per addon, the copy's path."""
    copied = {}
    for kind, repository in repositories.items():
        ref = parse(repository, f"addon_images.{kind}")
        client = client_for(ref, insecure, None)
        for tag in sorted(client.list_tags(ref.repository))[:MAX_TAGS]:
            source = f"{ref.registry}/{ref.repository}:{tag}"
            copy_image(source, f"{push_host}/{ref.repository}:{tag}", insecure, store)
        copied[kind] = ref.repository
    return copied
