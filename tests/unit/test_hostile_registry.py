"""A registry's answers are untrusted: digests become file names and URLs, so a manifest
or index naming anything but ``sha256:`` and 64 hex digits is refused in one line, before
anything is read, written or fetched (issue 10, class 1)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shipway.errors import ShipwayError
from shipway.image import base, oci
from shipway.image.blobs import BlobStore, sha256_bytes
from shipway.image.reference import parse
from tests.helpers.fake_registry import Answer, Registry

GOOD = "sha256:" + "a" * 64


def manifest(config: Any = None, layers: Any = None) -> bytes:
    document = {
        "schemaVersion": 2,
        "mediaType": oci.MANIFEST,
        "config": config or {"mediaType": oci.CONFIG, "digest": GOOD, "size": 2},
        "layers": [] if layers is None else layers,
    }
    return json.dumps(document).encode()


def answering(body: bytes, media: str = oci.MANIFEST) -> Answer:
    def answer(path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        if "/manifests/" in path:
            return 200, {"Content-Type": media}, body
        return 404, {}, b'{"errors": [{"code": "BLOB_UNKNOWN"}]}'

    return answer


HOSTILE = [
    manifest({"mediaType": oci.CONFIG, "digest": "sha256:../../../etc/passwd", "size": 2}),
    manifest({"mediaType": oci.CONFIG, "digest": "sha256:" + "A" * 64, "size": 2}),
    manifest({"mediaType": oci.CONFIG, "digest": "md5:" + "a" * 32, "size": 2}),
    manifest({"mediaType": oci.CONFIG, "digest": 7, "size": 2}),
    manifest({"mediaType": oci.CONFIG, "digest": GOOD, "size": "2"}),
    manifest({"mediaType": oci.CONFIG, "digest": GOOD, "size": -1}),
    manifest(layers=[{"mediaType": oci.CONFIG, "digest": "sha256:/etc/shadow", "size": 1}]),
    manifest(layers=["not a descriptor"]),
    manifest(layers={"digest": GOOD}),
    json.dumps(
        {
            "manifests": [
                {"digest": "sha256:../x", "platform": {"os": "linux", "architecture": "amd64"}}
            ]
        }
    ).encode(),
]


@pytest.mark.parametrize("body", HOSTILE)
def test_hostile_digests_are_refused_before_any_file_is_touched(
    serve: Callable[[Answer], Registry], body: bytes, tmp_path: Path
) -> None:
    registry = serve(answering(body))
    store = BlobStore(tmp_path / "store" / "blobs")
    with pytest.raises(ShipwayError) as caught:
        base.fetch(registry.client(), parse(f"{registry.host}/base/python:3.12", "base"), store)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    assert not any(p.is_file() for p in tmp_path.rglob("*"))  # nothing downloaded or written
    assert not any("/blobs/" in r for r in registry.requests)  # nothing fetched by that name


@pytest.mark.parametrize("digest", ["sha256:../../x", "sha256:", "", "sha512:" + "a" * 128])
def test_the_blob_store_names_files_by_valid_digests_only(tmp_path: Path, digest: str) -> None:
    with pytest.raises(ShipwayError, match="is not a sha256 digest"):
        BlobStore(tmp_path).path(digest)
    assert BlobStore(tmp_path).path(GOOD) == tmp_path / "sha256" / ("a" * 64)


def serving_config(config: bytes, sent: bytes | None = None) -> Answer:
    """A registry whose manifest lists ``config`` by its true digest and size, and that
    sends ``sent`` (default: the config itself) for it."""
    descriptor = {"mediaType": oci.CONFIG, "digest": sha256_bytes(config), "size": len(config)}

    def answer(path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        if "/manifests/" in path:
            return 200, {"Content-Type": oci.MANIFEST}, manifest(descriptor)
        return 200, {}, config if sent is None else sent

    return answer


@pytest.mark.parametrize(
    "config",
    [
        b"[]",
        b'{"config": []}',
        b'{"config": {"Env": "PATH=/x"}}',
        b'{"config": {"Env": [1]}}',
        b'{"rootfs": {"diff_ids": ["sha256:../../x"]}}',
        b'{"rootfs": "layers"}',
        b'{"history": [1]}',
        b'{"architecture": ["amd64"]}',
        b"not json",
        b"[" * 100_000,
    ],
)
def test_a_malformed_base_config_is_refused_in_one_line(
    serve: Callable[[Answer], Registry], config: bytes, tmp_path: Path
) -> None:
    registry = serve(serving_config(config))
    ref = parse(f"{registry.host}/base/python:3.12", "base")
    with pytest.raises(ShipwayError, match=r"config"):
        base.fetch(registry.client(), ref, BlobStore(tmp_path / "blobs"))


def test_a_blob_larger_than_its_descriptor_is_cut_off(
    serve: Callable[[Answer], Registry], tmp_path: Path
) -> None:
    config = b'{"architecture": "amd64"}'
    registry = serve(serving_config(config, sent=config + b" " * (1 << 20)))
    ref = parse(f"{registry.host}/base/python:3.12", "base")
    with pytest.raises(ShipwayError, match=r"larger than the 25 bytes its descriptor states"):
        base.fetch(registry.client(), ref, BlobStore(tmp_path / "blobs"))
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and p.stat().st_size > 25]


def test_a_config_listed_over_the_bound_is_not_fetched(
    serve: Callable[[Answer], Registry], tmp_path: Path
) -> None:
    huge = {"mediaType": oci.CONFIG, "digest": GOOD, "size": base.CONFIG_BYTES + 1}
    registry = serve(answering(manifest(huge)))
    ref = parse(f"{registry.host}/base/python:3.12", "base")
    with pytest.raises(ShipwayError, match=r"config over 4 MiB"):
        base.fetch(registry.client(), ref, BlobStore(tmp_path / "blobs"))
    assert not any("/blobs/" in r for r in registry.requests)
