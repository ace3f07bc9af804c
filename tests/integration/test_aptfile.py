"""An Aptfile's packages in a real image: Debian's real mirror (the one apt uses here),
the debootstrapped bookworm base, the registry, and a Docker engine that runs the image.
Also the mirror client's checks, against a tampered mirror served on 127.0.0.1."""

from __future__ import annotations

import gzip
import hashlib
import io
import lzma
import tarfile
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from shipway.errors import ShipwayError, TemporaryError
from shipway.image.aptresolve import Package
from shipway.image.blobs import BlobStore
from shipway.image.debmirror import KEYRING, Mirror
from tests.helpers.appdir import copy_example
from tests.integration.test_build import (  # noqa: F401  (fixtures)
    base_image,
    build_json,
    cli_env,
    docker,
    logged_in,
    shipway,
)


def layer_members(cache: Path, digest: str) -> dict[str, tarfile.TarInfo]:
    blob = cache / "blobs" / "sha256" / digest.split(":")[1]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob.read_bytes()))) as tar:
        return {member.name: member for member in tar.getmembers()}


def test_libpq5_from_the_real_mirror_runs_in_the_image(
    registry: Any,
    base_image: str,  # noqa: F811
    cli_env: dict[str, str],  # noqa: F811
    logged_in: None,  # noqa: F811
    tmp_path: Path,
) -> None:
    app = copy_example(tmp_path, "hello")
    (app / "Aptfile").write_text("# the PostgreSQL client library\nlibpq5\n")
    tag = f"{registry.host}/apps/with-apt:v1"
    result = build_json(app, tag, base_image, cli_env)
    roles = [layer["role"] for layer in result["layers"]]
    assert roles == ["base", "apt", "dependencies", "app"]
    apt = result["layers"][1]
    assert apt["status"] == "uploaded" and apt["cached"] is False

    members = layer_members(Path(cli_env["SHIPWAY_CACHE_DIR"]), apt["digest"])
    libpq = members["usr/lib/x86_64-linux-gnu/libpq.so.5"]
    assert libpq.issym() and libpq.linkname.startswith("libpq.so.5.")
    assert members[f"usr/lib/x86_64-linux-gnu/{libpq.linkname}"].isfile()
    assert "lib" not in members  # merged /usr: the base image's /lib link is kept
    assert all(m.uid == 0 and m.mtime == 0 for m in members.values())
    listing = members["var/lib/shipway/apt-packages"]
    assert listing.isfile()

    pinned = f"{registry.host}/apps/with-apt@{result['digest']}"
    docker("pull", pinned)
    check = "import ctypes; print(ctypes.CDLL('libpq.so.5').PQlibVersion())"
    run = docker("run", "--rm", pinned, "python3", "-c", check, timeout=120)
    assert int(run.stdout.strip()) >= 150000
    added = docker("run", "--rm", pinned, "cat", "/var/lib/shipway/apt-packages").stdout
    assert any(line.startswith("libpq5 ") for line in added.splitlines())
    status = docker("run", "--rm", pinned, "dpkg-query", "-W", "-f", "${Status}", "libpq5")
    assert status.stdout == "install ok installed"

    # Unchanged Aptfile and base: the cached layer, with no network (the mirror is unreachable).
    offline = {**cli_env, "SHIPWAY_DEBIAN_MIRROR": "http://127.0.0.1:9/debian"}
    again = build_json(app, tag, base_image, offline)
    cached = again["layers"][1]
    assert (cached["role"], cached["digest"], cached["cached"]) == ("apt", apt["digest"], True)
    assert cached["status"] == "present"
    assert again["digest"] == result["digest"]


def test_an_unknown_package_fails_with_its_aptfile_line(
    base_image: str,  # noqa: F811
    cli_env: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    app = copy_example(tmp_path, "hello")
    (app / "Aptfile").write_text("libpq5\nlibpq-does-not-exist\n")
    result = shipway("build", app, "--base-image", base_image, "--tag", "x/y:z", env=cli_env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error: Aptfile:2: 'libpq-does-not-exist' is not a package of Debian bookworm (main); "
        "check the name with `apt-cache search`, or remove it"
    )


# -- the mirror client against a mirror served here ----------------------------------


@pytest.fixture
def local_mirror(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    root = tmp_path / "mirror"
    root.mkdir()
    handler = partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *_args: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def put(root: Path, path: str, data: bytes) -> str:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


PACKAGES = b"Package: demo\nVersion: 1\nFilename: pool/demo.deb\nSHA256: 00\nSize: 1\n"


def release(sha: str, size: int, by_hash: bool) -> str:
    return (
        f"Origin: Debian\nCodename: bookworm\nAcquire-By-Hash: {'yes' if by_hash else 'no'}\n"
        f"SHA256:\n {sha} {size} main/binary-amd64/Packages.xz\n"
    )


def test_index_by_hash_is_checked_and_cached(
    local_mirror: tuple[Path, str], tmp_path: Path
) -> None:
    root, url = local_mirror
    packed = lzma.compress(PACKAGES)
    sha = hashlib.sha256(packed).hexdigest()
    put(root, f"dists/bookworm/main/binary-amd64/by-hash/SHA256/{sha}", packed)
    put(root, "dists/bookworm/main/binary-amd64/Packages.xz", b"a newer index, mid-update")
    store = BlobStore(tmp_path / "debian")
    index = Mirror(url, store).index(release(sha, len(packed), True), "bookworm", "amd64")
    assert list(index.packages) == ["demo"]
    assert store.has(f"sha256:{sha}")
    # Read by path (no by-hash), the mid-update file does not match the Release: refused.
    with pytest.raises(TemporaryError, match="another SHA256 than its index lists"):
        Mirror(url, BlobStore(tmp_path / "other")).index(
            release(sha, len(packed), False), "bookworm", "amd64"
        )
    assert not any((tmp_path / "other").rglob("sha256/*"))


def test_a_deb_with_another_hash_is_refused(local_mirror: tuple[Path, str], tmp_path: Path) -> None:
    root, url = local_mirror
    good = put(root, "pool/main/d/demo/demo_1_amd64.deb", b"!<arch>\nthe real one")
    package = Package("demo", "1", "amd64", "pool/main/d/demo/demo_1_amd64.deb", good, 20)
    mirror = Mirror(url, BlobStore(tmp_path / "debian"))
    assert mirror.deb(package).read_bytes() == b"!<arch>\nthe real one"
    tampered = Package("demo", "1", "amd64", package.filename, "ab" * 32, 20)
    with pytest.raises(TemporaryError, match=r"pool/main/d/demo/demo_1_amd64\.deb with another"):
        mirror.deb(tampered)
    missing = Package("gone", "1", "amd64", "pool/gone.deb", "ab" * 32, 1)
    with pytest.raises(ShipwayError, match=r"the Debian mirror has no pool/gone\.deb"):
        mirror.deb(missing)


def test_an_inrelease_not_signed_by_debian_is_refused(
    infra_installed: None, local_mirror: tuple[Path, str], tmp_path: Path
) -> None:
    assert KEYRING.is_file(), "hack/infra/install.sh installs Debian's archive keyring"
    root, url = local_mirror
    forged = (
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n"
        + release("00", 1, False)
        + "-----BEGIN PGP SIGNATURE-----\n\niQEzBAEBCAAdFiEE\n-----END PGP SIGNATURE-----\n"
    )
    put(root, "dists/bookworm/InRelease", forged.encode())
    with pytest.raises(ShipwayError, match="has no valid signature by a key of"):
        Mirror(url, BlobStore(tmp_path / "debian")).release("bookworm")


def test_a_release_that_is_not_debians_is_refused(
    local_mirror: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without gpgv, the unsigned Release is read: it must still say it is Debian's."""
    root, url = local_mirror
    monkeypatch.setattr("shipway.image.debmirror.shutil.which", lambda _name: None)
    put(root, "dists/bookworm/Release", b"Origin: Ubuntu\nCodename: bookworm\nSHA256:\n")
    with pytest.raises(ShipwayError, match=r"Release is not Debian's \(Origin: Ubuntu\)"):
        Mirror(url, BlobStore(tmp_path / "debian")).release("bookworm")
    put(root, "dists/bookworm/Release", b"Origin: Debian\nCodename: trixie\nSHA256:\n")
    with pytest.raises(ShipwayError, match="another suite's Release"):
        Mirror(url, BlobStore(tmp_path / "debian")).release("bookworm")
    put(root, "dists/bookworm/Release", b"Origin: Debian\nCodename: bookworm\nSHA256:\n")
    assert "Codename: bookworm" in Mirror(url, BlobStore(tmp_path / "d")).release("bookworm")
