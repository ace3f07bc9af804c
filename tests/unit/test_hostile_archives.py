"""Issue 10, class 9: compressed and archived data from outside (a registry's layers, a
mirror's index and packages, a build step's output) is read within stated bounds. A
decompression bomb, an oversized or sparse tar header, or an entry whose path or links
leave the archive's root is refused in one line naming it, or neutralised — and nothing
is ever written outside the staging directory, nor read from this machine's files."""

from __future__ import annotations

import gzip
import hashlib
import io
import lzma
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from shipway.buildsteps import layer_from_tar
from shipway.errors import ShipwayError
from shipway.image import apt, base, compression, oci
from shipway.image.aptresolve import Package
from shipway.image.blobs import BlobStore, sha256_bytes
from shipway.image.debextract import extract_deb
from shipway.image.debmirror import Mirror
from shipway.image.reference import parse
from shipway.image.rootview import read_root
from tests.helpers.fake_registry import Registry
from tests.unit.test_apt_extract import ar, make_deb

MiB = 1 << 20
GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
ZSTD_LAYER = "application/vnd.oci.image.layer.v1.tar+zstd"
#: What every bomb here expands to: past the 64 MiB floor, ~1000 times its size.
BOMB_MIB = 100
BOUND = "expands to more than 64 MiB"
SECRET = "host-secret-7f3a9c"

Compress = Callable[[bytes], bytes]


def _zstd(data: bytes) -> bytes:
    return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True).stdout


COMPRESS: dict[str, Compress] = {
    "gz": lambda data: gzip.compress(data, mtime=0),
    "xz": lzma.compress,
    "zst": _zstd,
}
needs_zstd = pytest.mark.skipif(not shutil.which("zstd"), reason="no zstd command")
KINDS = ["gz", "xz", pytest.param("zst", marks=needs_zstd)]


def bomb(kind: str, prefix: bytes = b"", mib: int = BOMB_MIB) -> bytes:
    """``prefix`` then ``mib`` MiB of zeros, compressed as concatenated streams (each of
    gzip, xz and zstd reads them as one): about a KB per MiB, made in no time."""
    compress = COMPRESS[kind]
    return compress(prefix) + compress(b"\0" * MiB) * mib


def big_file_header(name: str = "big", mib: int = BOMB_MIB) -> bytes:
    """A tar header announcing a file of ``mib`` MiB: the zeros of a bomb are its data."""
    info = tarfile.TarInfo(name)
    info.size = mib * MiB
    return info.tobuf(tarfile.GNU_FORMAT)


def entry(
    name: str, kind: bytes = tarfile.REGTYPE, link: str = "", data: bytes = b""
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, len(data)
    return info, data


def tar_of(entries: list[tuple[tarfile.TarInfo, bytes]], form: int = tarfile.GNU_FORMAT) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=form) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return out.getvalue()


def one_line(caught: pytest.ExceptionInfo[ShipwayError]) -> str:
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message, message
    assert SECRET not in message
    return message


def layer_file(tmp_path: Path, data: bytes, name: str = "layer") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- the bound itself ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("compressed", "cap", "limit"),
    [
        (0, compression.MAX_EXPANDED, 64 * MiB),  # small data may always expand to the floor
        (100 * 1024, compression.MAX_EXPANDED, 64 * MiB),
        (10 * MiB, compression.MAX_EXPANDED, 1000 * MiB),  # then 100 times its size
        (1 << 30, compression.MAX_EXPANDED, 16 << 30),  # and never past the cap
        (10 * MiB, 512 * MiB, 512 * MiB),  # or a caller's smaller one
    ],
)
def test_the_expansion_limit(compressed: int, cap: int, limit: int) -> None:
    assert compression.expansion_limit(compressed, cap) == limit


# -- decompression bombs, wherever they come in ---------------------------------------


def test_a_bomb_layer_from_a_registry_is_refused(
    serve: Callable[..., Registry], tmp_path: Path
) -> None:
    """The registry serves a layer whose digest is right: the bytes are what the manifest
    promised, but they expand to 100 MiB of zeros from ~100 KB."""
    blob = bomb("gz", big_file_header())
    digest = sha256_bytes(blob)

    def answer(path: str, _query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        return (200, {}, blob) if path.endswith(f"/blobs/{digest}") else (404, {}, b"")

    registry = serve(answer)
    store = BlobStore(tmp_path / "blobs")
    layer = oci.Descriptor(GZIP_LAYER, digest, len(blob))
    image = base.BaseImage(parse(f"{registry.host}/lib/base:1", "base"), {}, [layer])
    base.ensure_layers(registry.client(), image, store)
    with pytest.raises(ShipwayError) as caught:
        read_root([(store.path(digest), GZIP_LAYER)], {"big"})
    message = one_line(caught)
    assert message.startswith(f"image layer {digest[7:23]}: {BOUND} from ")
    assert "at most 100 times" in message and "never over 16 GiB" in message
    assert "decompression bomb" in message


def test_a_zstd_bomb_layer_is_refused(tmp_path: Path) -> None:
    if not shutil.which("zstd"):
        pytest.skip("no zstd command")
    path = layer_file(tmp_path, bomb("zst", big_file_header()))
    with pytest.raises(ShipwayError) as caught:
        read_root([(path, ZSTD_LAYER)], set())
    assert one_line(caught).startswith(f"image layer layer: {BOUND}")


def test_a_layer_that_expands_within_the_bound_is_read(tmp_path: Path) -> None:
    """Zeros compress 1000 times too, but 60 MiB is under the floor: not a bomb."""
    wanted = tar_of([entry("etc/os-release", data=b"ID=debian\n"), entry("zeros", data=b"")])
    path = layer_file(tmp_path, bomb("gz", wanted, mib=60))
    assert read_root([(path, GZIP_LAYER)], {"etc/os-release"}).read("etc/os-release") == (
        b"ID=debian\n"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_a_bomb_in_a_package_is_refused_before_it_fills_the_disk(tmp_path: Path, kind: str) -> None:
    deb = tmp_path / "bomb.deb"
    deb.write_bytes(
        ar(
            [
                ("debian-binary", b"2.0\n"),
                ("control.tar.gz", gzip.compress(tar_of([entry("./control", data=b"P: b\n")]))),
                (f"data.tar.{kind}", bomb(kind, big_file_header("./usr/share/big"))),
            ]
        )
    )
    staging = tmp_path / "staging"
    staging.mkdir()
    with pytest.raises(ShipwayError) as caught:
        extract_deb(deb, staging, "bomb 1")
    assert one_line(caught).startswith(f"bomb 1: data.tar.{kind}: {BOUND}")
    staged = sum(p.stat().st_size for p in staging.iterdir())
    assert staged <= 64 * MiB  # stopped at the bound, not after 100 MiB


def test_a_bomb_in_the_control_tar_is_refused(tmp_path: Path) -> None:
    deb = tmp_path / "bomb.deb"
    control = bomb("gz", big_file_header("./postinst"))
    deb.write_bytes(ar([("debian-binary", b"2.0\n"), ("control.tar.gz", control)]))
    with pytest.raises(ShipwayError) as caught:
        extract_deb(deb, tmp_path, "bomb 1")
    assert one_line(caught).startswith(f"bomb 1: control.tar.gz: {BOUND}")


def test_a_bomb_package_index_from_a_mirror_is_refused(
    serve: Callable[..., Registry], tmp_path: Path
) -> None:
    """The index matches the (unsigned) Release's hash: only its size gives it away."""
    index = bomb("xz", b"Package: a\n")
    path = "dists/bookworm/main/binary-amd64/Packages.xz"
    release = (
        "Origin: Debian\nSuite: stable\nCodename: bookworm\nSHA256:\n"
        f" {hashlib.sha256(index).hexdigest()} {len(index)} main/binary-amd64/Packages.xz\n"
    )
    mirror = serve(lambda p, _q: (200, {}, index) if p == f"/{path}" else (404, {}, b""))
    debian = Mirror(f"http://{mirror.host}", store=BlobStore(tmp_path / "debian"))
    with pytest.raises(ShipwayError) as caught:
        debian.index(release, "bookworm", "amd64")
    message = one_line(caught)
    assert message.startswith(f"the Debian mirror's {path}: {BOUND}")
    assert "never over 512 MiB" in message  # an index has a cap of its own


def test_a_bomb_from_a_build_step_is_refused(tmp_path: Path) -> None:
    data = bomb("gz", big_file_header("app/static/big"))
    with pytest.raises(ShipwayError) as caught:
        layer_from_tar(data, BlobStore(tmp_path / "blobs"))
    assert one_line(caught).startswith(f"the build steps' output: {BOUND}")
    assert not (tmp_path / "blobs").exists() or not any((tmp_path / "blobs").rglob("sha256/*"))


# -- tar headers that make tarfile read without bound -----------------------------------


def _pax_bomb() -> bytes:
    info, data = entry("big-header")
    info.pax_headers = {"comment": "x" * (2 * MiB)}
    return tar_of([(info, data)], tarfile.PAX_FORMAT)


def _long_name() -> bytes:
    return tar_of([entry("a/" * 2100 + "x")])


def _sparse() -> bytes:
    info, _ = entry("holes", tarfile.GNUTYPE_SPARSE)
    return tar_of([(info, b"")])


@pytest.mark.parametrize(
    ("archive", "problem"),
    [
        (_pax_bomb, "an extended header of 2 MiB (over 1 MiB)"),
        (_long_name, "a name longer than 4096 bytes"),
        (_sparse, "a sparse entry"),
    ],
    ids=["pax-header", "long-name", "sparse"],
)
def test_tar_headers_that_would_fill_memory_are_refused(
    tmp_path: Path, archive: Callable[[], bytes], problem: str
) -> None:
    path = layer_file(tmp_path, gzip.compress(archive()))
    with pytest.raises(ShipwayError) as caught:
        read_root([(path, GZIP_LAYER)], set())
    assert one_line(caught) == f"image layer layer: the archive holds {problem}; Shipway refuses it"


def test_a_tar_of_too_many_entries_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compression, "MAX_TAR_ENTRIES", 5)
    path = layer_file(tmp_path, gzip.compress(tar_of([entry(f"f{n}") for n in range(6)])))
    with pytest.raises(ShipwayError) as caught:
        read_root([(path, GZIP_LAYER)], set())
    assert one_line(caught).endswith("holds more than 5 entries; Shipway refuses it")


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # cut short
        lambda data: data[:20] + bytes(b ^ 0x55 for b in data[20:]),  # garbled
        lambda _data: gzip.compress(b"<html>rate limited</html>" * 40),  # not a tar
    ],
    ids=["truncated", "garbled", "not-a-tar"],
)
def test_a_damaged_layer_is_a_one_line_error(
    tmp_path: Path, damage: Callable[[bytes], bytes]
) -> None:
    good = gzip.compress(
        tar_of([entry(f"usr/lib/f{n}", data=bytes(range(256)) * 64) for n in range(20)])
    )
    path = layer_file(tmp_path, damage(good))
    with pytest.raises(ShipwayError) as caught:
        read_root([(path, GZIP_LAYER)], {"usr/lib/"})
    assert one_line(caught).startswith("image layer layer: not a valid archive (")


# -- paths and links that leave the root ----------------------------------------------


@pytest.mark.parametrize("name", ["../etc/passwd", "/etc/passwd", "usr/../../x", "a/\0b"])
def test_a_base_layer_entry_outside_the_root_is_refused(tmp_path: Path, name: str) -> None:
    hostile, data = entry(name, data=b"x")
    hostile.pax_headers = {"path": name}  # a NUL survives only in a pax header
    archive = tar_of([entry("ok"), (hostile, data)], tarfile.PAX_FORMAT)
    path = layer_file(tmp_path, gzip.compress(archive))
    with pytest.raises(ShipwayError) as caught:
        read_root([(path, GZIP_LAYER)], {"etc/passwd"})
    assert "holds an entry outside the image's root" in one_line(caught)


def test_base_layer_links_never_read_this_machines_files(tmp_path: Path) -> None:
    """Links, hard links and a device at the wanted paths, all aimed at a file of this
    machine: the view resolves them inside the image, where there is nothing."""
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    climb = "../" * 40 + str(secret).lstrip("/")
    layer = tar_of(
        [
            entry("etc/os-release", tarfile.SYMTYPE, climb),
            entry("usr/lib/os-release", tarfile.LNKTYPE, str(secret)),
            entry("etc/host", tarfile.SYMTYPE, str(tmp_path)),
            entry("etc/host/secret", data=b"inside"),
            entry("var/lib/dpkg/status", tarfile.CHRTYPE),
        ]
    )
    wanted = {"etc/os-release", "usr/lib/os-release", "var/lib/dpkg/status", "etc/host/secret"}
    view = read_root([(layer_file(tmp_path, gzip.compress(layer)), GZIP_LAYER)], wanted)
    assert view.read("etc/os-release") is None
    assert view.read("usr/lib/os-release") is None
    assert view.read("var/lib/dpkg/status") is None
    assert SECRET.encode() not in b"".join(view.files.values())
    # The file written "through" the link stays a name in the image, never a host path.
    assert view.files == {"etc/host/secret": b"inside"}


def deb_of(path: Path, files: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    return make_deb(path, [(info, data or None) for info, data in files])


def test_a_package_writing_through_its_own_link_stays_in_the_image(tmp_path: Path) -> None:
    """A link to a directory of this machine, then files through it, a hard link to the
    first and a device: the layer's names stay inside the image's root, the files are
    numbered copies in the staging directory, and nothing outside it changes."""
    outside = tmp_path / "outside"
    outside.mkdir()
    deb = deb_of(
        tmp_path / "evil.deb",
        [
            entry("./usr/x", tarfile.SYMTYPE, str(outside)),
            entry("./usr/x/owned", data=b"!"),
            entry("./usr/x/again", tarfile.LNKTYPE, "./usr/x/owned"),
            entry("./usr/x/null", tarfile.CHRTYPE),
        ],
    )
    work = tmp_path / "work"
    work.mkdir()
    base_view = read_root([], set())
    pkg = Package("evil", "1", "amd64", "pool/evil.deb", "00", 1)
    entries = apt._entries([(pkg, deb)], base_view, "", work)
    names = {e.name for e in entries}
    assert f"{str(outside).lstrip('/')}/owned" in names  # the link's target, in the image
    assert all(not n.startswith(("/", "../")) and "/../" not in n for n in names)
    assert list(outside.iterdir()) == []
    sources = {e.source for e in entries if e.source is not None}
    assert all(work in source.parents for source in sources)


@pytest.mark.parametrize(
    "files",
    [
        [entry("./usr/lib/evil", tarfile.SYMTYPE, "../../../../etc")],
        [entry("./usr/bin/x", tarfile.LNKTYPE, "../../etc/shadow")],
        [entry("./usr/bin/y", tarfile.LNKTYPE, "/etc/shadow")],
        [entry("./usr/./../../etc/cron.d/x", data=b"* * * * * root id\n")],
    ],
    ids=["relative-link-out", "dotdot-hardlink", "absolute-hardlink", "dotdot-file"],
)
def test_a_package_entry_leaving_the_root_refuses_the_package(
    tmp_path: Path, files: list[tuple[tarfile.TarInfo, bytes]]
) -> None:
    deb = deb_of(tmp_path / "evil.deb", [entry("./usr/bin/ok", data=b"ok"), *files])
    staging = tmp_path / "staging"
    staging.mkdir()
    with pytest.raises(ShipwayError) as caught:
        extract_deb(deb, staging, "evil 1")
    assert one_line(caught).startswith("evil 1: the .deb holds an unsafe entry")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.deb", "staging"]


#: A link two levels up, so a path through it climbs further than its text says.
CLIMB = entry("app/s/t/u/l", tarfile.SYMTYPE, "../..")


def build_output(entries: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    return gzip.compress(tar_of(entries))


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        (  # each link alone stays in /app (read as text); through l, e is /
            [CLIMB, entry("app/e", tarfile.SYMTYPE, "s/t/u/l/../../..")],
            "made a link out of /app: 'app/e'",
        ),
        (  # the same, the links in the other order
            [entry("app/e", tarfile.SYMTYPE, "s/t/u/l/../../.."), CLIMB],
            "made a link out of /app: 'app/e'",
        ),
        (
            [entry("app/a", tarfile.SYMTYPE, "b"), entry("app/b", tarfile.SYMTYPE, "a")],
            "too many levels of symbolic links",
        ),
        (  # a file written through the output's own link (inside /app, still refused)
            [entry("app/static", tarfile.SYMTYPE, "media"), entry("app/static/x", data=b"x")],
            "puts 'app/static/x' under its own link 'app/static'",
        ),
        (  # the file first: sorted into the layer, it would still go through the link
            [entry("app/s/x", data=b"x"), entry("app/s", tarfile.SYMTYPE, "../app/t")],
            "puts 'app/s/x' under its own link 'app/s'",
        ),
    ],
    ids=["chained-links", "chained-links-reversed", "link-loop", "through-link", "link-later"],
)
def test_build_step_links_are_resolved_together(
    tmp_path: Path, entries: list[tuple[tarfile.TarInfo, bytes]], problem: str
) -> None:
    with pytest.raises(ShipwayError) as caught:
        layer_from_tar(build_output(entries), BlobStore(tmp_path / "blobs"))
    assert problem in one_line(caught)


def test_build_step_hard_links_and_devices_are_left_out(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    data = build_output(
        [
            entry("app/ok", data=b"fine"),
            entry("app/shadow", tarfile.LNKTYPE, str(secret)),
            entry("app/tty", tarfile.CHRTYPE),
            entry("app/fifo", tarfile.FIFOTYPE),
            entry("app/here", tarfile.SYMTYPE, "ok"),
        ]
    )
    store = BlobStore(tmp_path / "blobs")
    layer = layer_from_tar(data, store)
    with tarfile.open(store.path(layer.digest)) as built:
        members = {m.name: m for m in built.getmembers()}
        assert sorted(members) == ["app", "app/here", "app/ok"]
        assert members["app/here"].linkname == "ok"
        ok = built.extractfile(members["app/ok"])
        assert ok is not None and ok.read() == b"fine"
