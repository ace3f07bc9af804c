"""Issue 11, build speed: what makes ``shipway build`` fast must not change what it makes.

gzip compressed by several threads is one ordinary gzip member, the same bytes whatever
the threads or the writes; bytecode compiled by several processes is what compileall
writes; a rebuild trusts its record of the blobs it pushed, and a stale record costs a
second pass, never a broken image."""

from __future__ import annotations

import contextlib
import gzip
import importlib.util
import io
import json
import marshal
import os
import random
import sys
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import cast

import pytest

from shipway.image import base as base_image
from shipway.image import builder, oci
from shipway.image.auth import Credentials
from shipway.image.blobs import BlobStore
from shipway.image.deps import _compile_bytecode
from shipway.image.layer import Entry, Layer, with_parents
from shipway.image.pgzip import BLOCK, ParallelGzip
from shipway.image.pushed import Pushed
from shipway.image.reference import parse
from shipway.image.target import Target
from shipway.project import Project
from tests.helpers.fake_registry import Reply, Request, Serve


def sample(size: int) -> bytes:
    """Compressible, not trivially: words drawn at random."""
    words = [bytes(random.Random(n).choices(range(97, 123), k=n % 9 + 2)) for n in range(500)]
    rng = random.Random(size)
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words) + b" "
    return bytes(out[:size])


def gzipped(data: bytes, workers: int, piece: int, level: int = 6) -> bytes:
    out = io.BytesIO()
    with ParallelGzip(out, level, workers) as stream:
        for start in range(0, len(data), piece):
            stream.write(data[start : start + piece])
    return out.getvalue()


def test_parallel_gzip_is_one_member_the_same_whatever_the_threads_and_writes() -> None:
    data = sample(3 * BLOCK + 12345)
    outputs = {
        gzipped(data, workers, piece) for workers, piece in [(1, 512), (2, 70001), (5, BLOCK)]
    }
    assert len(outputs) == 1
    (out,) = outputs
    assert gzip.decompress(out) == data
    reader = zlib.decompressobj(wbits=31)  # one gzip member, nothing after it
    assert reader.decompress(out) == data and reader.eof and reader.unused_data == b""
    assert out[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, time 0
    single = gzip.compress(data, 6, mtime=0)
    assert len(out) < len(single) * 1.01  # each block primed with the one before


@pytest.mark.parametrize("size", [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK])
def test_parallel_gzip_at_block_edges(size: int) -> None:
    data = sample(size)
    assert gzip.decompress(gzipped(data, 2, 4096, level=5)) == data


def test_parents_are_added_as_before() -> None:
    """The fast path for plain names gives what PurePosixPath's parents give."""
    rng = random.Random(7)
    parts = ["a", "b", "c d", ".", "..", ""]
    for _ in range(2000):
        names = ["/".join(rng.choices(parts, k=rng.randint(1, 5))) for _ in range(6)]
        entries = [Entry(name) for name in names]
        expected = {
            str(parent)
            for name in names
            for parent in PurePosixPath(name).parents
            if str(parent) != "."
        } - set(names)
        added = [entry.name for entry in with_parents(entries)[len(entries) :]]
        assert added == sorted(expected)


def test_bytecode_is_the_same_however_it_is_split_and_wherever_the_pycache_prefix_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fresh processes compile: the bytes do not depend on how many, nor on this process
    (pytest's, with its own interned strings); they are what compileall's py_compile
    writes in the image's __pycache__, even with a PYTHONPYCACHEPREFIX."""
    modules = {
        f"pkg{n % 5}/mod{n}.py": f"X = {n}\ndef f():\n    return X * {n}\n" for n in range(300)
    }
    modules["pkg0/broken.py"] = "def (:\n"
    for tree in ("one", "three"):
        for rel, text in modules.items():
            (tmp_path / tree / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / tree / rel).write_text(text)
    monkeypatch.setattr(sys, "pycache_prefix", str(tmp_path / "elsewhere"))
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for tree, cores in (("one", 1), ("three", 3)):
        monkeypatch.setattr(os, "cpu_count", lambda cores=cores: cores)
        _compile_bytecode(tmp_path / tree, Target(version, "x86_64-unknown-linux-gnu"))

    def tree(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.pyc"))}

    one = tree(tmp_path / "one")
    assert one == tree(tmp_path / "three")
    assert len(one) == 300  # not the broken one
    assert not (tmp_path / "elsewhere").exists()
    pyc = one[f"pkg1/__pycache__/mod1.{sys.implementation.cache_tag}.pyc"]
    assert pyc[:4] == importlib.util.MAGIC_NUMBER and pyc[4:8] == b"\x01\x00\x00\x00"
    assert marshal.loads(pyc[16:]).co_filename == "/opt/shipway/deps/pkg1/mod1.py"


# -- the record of pushed blobs ------------------------------------------------------------
def test_the_record_keeps_digests_only(tmp_path: Path) -> None:
    record = Pushed("http://127.0.0.1:5000", "app", tmp_path)
    record.add("sha256:" + "a" * 64)
    record.save()
    record.path.write_text(record.path.read_text() + "../../etc/passwd\nsha256:XYZ\n")
    again = Pushed("http://127.0.0.1:5000", "app", tmp_path)
    assert again.has("sha256:" + "a" * 64) and not again.has("sha256:XYZ")
    assert not Pushed("http://127.0.0.1:5000", "other", tmp_path).has("sha256:" + "a" * 64)
    again.forget()
    assert not Pushed("http://127.0.0.1:5000", "app", tmp_path).has("sha256:" + "a" * 64)


class Storing:
    """A registry that keeps blobs and refuses a manifest naming one it lacks."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def __call__(self, request: Request) -> Reply:
        parts = request.path.split("/")
        if "/blobs/uploads/" in request.path and request.method == "POST":
            return 202, {"Location": f"{request.path}up"}, b""
        if "/blobs/uploads/" in request.path and request.method == "PUT":
            self.blobs[request.query["digest"][0]] = request.body
            return 201, {}, b""
        if "/blobs/" in request.path and request.method == "HEAD":
            return (200 if parts[-1] in self.blobs else 404), {}, b""
        if "/manifests/" in request.path and request.method == "PUT":
            document = json.loads(request.body)
            named = [document["config"], *document["layers"]]
            if any(d["digest"] not in self.blobs for d in named):
                error = {"errors": [{"code": "MANIFEST_BLOB_UNKNOWN", "message": "blob unknown"}]}
                return 400, {}, json.dumps(error).encode()
            return 201, {}, b""
        return 404, {}, b""


def built_image(store: BlobStore) -> builder._Built:
    base_layer = Layer(store.put_bytes(b"base layer"), "sha256:" + "b" * 64, 10)
    ours = Layer(store.put_bytes(b"app layer"), "sha256:" + "c" * 64, 9)
    config = oci.Descriptor(oci.CONFIG, store.put_bytes(b"{}"), 2)
    layers = [oci.Descriptor(oci.OCI_LAYER + "+gzip", d.digest, d.size) for d in (base_layer, ours)]
    manifest = oci.canonical(oci.manifest(config, layers))
    base = base_image.BaseImage(parse("127.0.0.1:1/base/python:3.11"), {}, layers[:1])
    descriptor = oci.Descriptor(oci.MANIFEST, store.put_bytes(manifest), len(manifest))
    return builder._Built(base, [("app", ours, False)], config, descriptor)


def test_a_rebuild_trusts_the_record_and_a_stale_one_is_pushed_again(
    serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPWAY_CACHE_DIR", str(tmp_path / "cache"))
    storing = Storing()
    registry = serve(handle=storing)
    store = BlobStore(tmp_path / "blobs")
    built = built_image(store)
    request = builder.BuildRequest(
        project=cast(Project, None),
        base=parse(f"{registry.host}/base/python:3.11"),
        push=parse(f"{registry.host}/app:v1"),
    )

    def push() -> list[str]:
        assert request.push is not None
        client = builder.client_for(request.base, False, None)
        pusher = builder._Pusher(request, request.push, client, store, builder.Silent())
        try:
            reports = builder._push(built, pusher, store, builder.Silent())
        finally:
            pusher.close()
        return [report.status for report in reports]

    assert push() == ["uploaded", "uploaded"]
    registry.received.clear()
    assert push() == ["present", "present"]  # from the record: nothing asked
    assert [r.method for r in registry.received] == ["PUT"]
    storing.blobs.clear()  # the registry's garbage collection
    registry.received.clear()
    assert push() == ["uploaded", "uploaded"]
    methods = [r.method for r in registry.received]
    # refused, then asked again about the base layer (a config and an app layer are
    # uploaded without asking: they are new whenever the image is)
    assert methods[0] == "PUT" and methods.count("HEAD") == 1
    assert set(storing.blobs) == {built.config.digest, *(d.digest for d in built.layers)}


def test_the_record_lives_in_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPWAY_CACHE_DIR", str(tmp_path))
    assert Pushed("http://h", "r").path.parent == tmp_path / "pushed"
    assert os.path.basename(Pushed("http://h", "r").path) != os.path.basename(
        Pushed("https://h", "r").path
    )


def test_threads_sharing_a_client_answer_one_challenge_without_a_false_refusal(
    serve: Serve,
) -> None:
    """Two requests sent before either knew the registry wants basic credentials both get
    a 401: the second must retry with the credentials, not report them refused."""
    user = Credentials("alice", "a-password")
    arrived = threading.Barrier(2, timeout=5)

    def handle(request: Request) -> Reply:
        if request.authorization != user.authorization():
            with contextlib.suppress(threading.BrokenBarrierError):
                arrived.wait()  # both unauthenticated requests are in before either answer
            return 401, {"WWW-Authenticate": 'Basic realm="r"'}, b""
        return 200, {}, b""

    registry = serve(handle=handle)
    client = registry.client(user)
    with ThreadPoolExecutor(2) as pool:
        found = list(pool.map(lambda n: client.blob_exists("app", f"sha256:{n * 64}"), "ab"))
    assert found == [True, True]
