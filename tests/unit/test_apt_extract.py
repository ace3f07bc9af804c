"""Unpacking .debs and reading base layers, on archives made here (some malicious)."""

from __future__ import annotations

import gzip
import io
import lzma
import shutil
import tarfile
from pathlib import Path

import pytest

from shipway.errors import ShipwayError
from shipway.image import apt, compression
from shipway.image.aptresolve import Package
from shipway.image.blobs import BlobStore
from shipway.image.debextract import extract_deb
from shipway.image.layer import write_layer
from shipway.image.rootview import canonical, read_root

Member = tuple[tarfile.TarInfo, bytes | None]


def info(
    name: str, kind: bytes = tarfile.REGTYPE, link: str = "", mode: int = 0o644
) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.linkname, member.mode = kind, link, mode
    return member


def tar_bytes(members: list[Member]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for member, data in members:
            member.size = len(data or b"")
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def ar(members: list[tuple[str, bytes]]) -> bytes:
    out = [b"!<arch>\n"]
    for name, data in members:
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n"
        out += [header.encode(), data, b"\n" if len(data) % 2 else b""]
    return b"".join(out)


def make_deb(path: Path, files: list[Member], kind: str = "xz", control: str = "") -> Path:
    compress = {"xz": lzma.compress, "gz": gzip.compress, "": bytes}[kind]
    suffix = f".{kind}" if kind else ""
    control_tar = tar_bytes(
        [
            (info("./control"), (control or "Package: demo\nVersion: 1\n").encode()),
            (info("./md5sums"), b"0123  usr/bin/demo\n"),
            (info("./postinst", mode=0o755), b"#!/bin/sh\nrm -rf /\n"),
        ]
    )
    path.write_bytes(
        ar(
            [
                ("debian-binary", b"2.0\n"),
                ("control.tar.gz", gzip.compress(control_tar)),
                (f"data.tar{suffix}", compress(tar_bytes(files))),
            ]
        )
    )
    return path


GOOD: list[Member] = [
    (info("./", tarfile.DIRTYPE, mode=0o755), None),
    (info("./usr/", tarfile.DIRTYPE, mode=0o755), None),
    (info("./usr/bin/demo", mode=0o755), b"#!/bin/sh\necho demo\n"),
    (info("./usr/bin/demo-again", tarfile.LNKTYPE, link="./usr/bin/demo"), None),
    (info("./lib/x86_64-linux-gnu/libdemo.so.1", mode=0o644), b"\x7fELF"),
    (info("./lib/x86_64-linux-gnu/libdemo.so", tarfile.SYMTYPE, link="libdemo.so.1"), None),
    (info("./etc/alt", tarfile.SYMTYPE, link="/etc/alternatives/alt"), None),
    (info("./dev/null", tarfile.CHRTYPE), None),
    (info("./fifo", tarfile.FIFOTYPE), None),
]


@pytest.mark.parametrize("kind", ["xz", "gz", "", "zst"])
def test_extract_stages_files_and_skips_devices(tmp_path: Path, kind: str) -> None:
    if kind == "zst" and not shutil.which("zstd"):
        pytest.skip("no zstd command to make the test archive")
    deb = tmp_path / "demo.deb"
    if kind == "zst":
        import subprocess  # noqa: PLC0415

        raw = tar_bytes(GOOD)
        packed = subprocess.run(
            ["zstd", "-q", "-c"], input=raw, capture_output=True, check=True
        ).stdout
        make_deb(deb, [], "")
        data = deb.read_bytes()
        deb.write_bytes(data[: data.index(b"data.tar")] + ar([("data.tar.zst", packed)])[8:])
    else:
        make_deb(deb, GOOD, kind)
    staging = tmp_path / "staging"
    staging.mkdir()
    contents = extract_deb(deb, staging, "demo 1")
    assert contents.control == "Package: demo\nVersion: 1"
    assert contents.md5sums == b"0123  usr/bin/demo\n"
    found = {m.name: m for m in contents.members}
    assert sorted(found) == [
        "etc/alt",
        "lib/x86_64-linux-gnu/libdemo.so",
        "lib/x86_64-linux-gnu/libdemo.so.1",
        "usr",
        "usr/bin/demo",
        "usr/bin/demo-again",
    ]
    assert found["usr/bin/demo"].executable and found["usr/bin/demo"].source is not None
    assert found["usr/bin/demo"].source.read_bytes() == b"#!/bin/sh\necho demo\n"
    assert found["usr/bin/demo-again"].source == found["usr/bin/demo"].source
    assert found["etc/alt"].link == "/etc/alternatives/alt"
    # Only numbered files in the staging directory: no archive name is a path here.
    assert sorted(p.name for p in staging.iterdir()) == ["2", "4"]


@pytest.mark.parametrize(
    "member",
    [
        info("/etc/passwd"),
        info("./usr/../../etc/passwd"),
        info("../escape"),
        info("./usr/lib/evil", tarfile.SYMTYPE, link="../../../etc"),
        info("./usr/bin/x", tarfile.LNKTYPE, link="/etc/shadow"),
        info("./usr/bin/y", tarfile.LNKTYPE, link="./usr/bin/not-in-this-package"),
    ],
    ids=[
        "absolute",
        "dotdot-inside",
        "dotdot",
        "escaping-link",
        "absolute-hardlink",
        "foreign-hardlink",
    ],
)
def test_malicious_entries_refuse_the_package(tmp_path: Path, member: tarfile.TarInfo) -> None:
    deb = make_deb(tmp_path / "evil.deb", [(info("./usr/bin/ok"), b"ok"), (member, b"")])
    staging = tmp_path / "staging"
    staging.mkdir()
    with pytest.raises(ShipwayError, match=r"^evil 1: the \.deb holds an unsafe entry"):
        extract_deb(deb, staging, "evil 1")
    assert not (tmp_path / "etc").exists() and not Path("/escape").exists()


def test_a_link_then_a_file_through_it_never_writes_outside(tmp_path: Path) -> None:
    """The classic tar attack: a link to a directory outside, then a file through it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    deb = make_deb(
        tmp_path / "sneaky.deb",
        [
            (info("./usr/x", tarfile.SYMTYPE, link=str(outside)), None),
            (info("./usr/x/owned"), b"!"),
        ],
    )
    staging = tmp_path / "staging"
    staging.mkdir()
    contents = extract_deb(deb, staging, "sneaky 1")
    assert list(outside.iterdir()) == []
    assert [m.name for m in contents.members] == ["usr/x", "usr/x/owned"]


def test_not_a_deb(tmp_path: Path) -> None:
    bad = tmp_path / "bad.deb"
    bad.write_bytes(b"<html>mirror error page</html>")
    with pytest.raises(ShipwayError, match=r"bad 1: the downloaded \.deb is not an ar archive"):
        extract_deb(bad, tmp_path, "bad 1")


def layer_blob(tmp_path: Path, name: str, members: list[Member]) -> tuple[Path, str]:
    path = tmp_path / name
    path.write_bytes(gzip.compress(tar_bytes(members)))
    return path, "application/vnd.oci.image.layer.v1.tar+gzip"


def test_root_view_follows_layers_whiteouts_and_links(tmp_path: Path) -> None:
    lower = layer_blob(
        tmp_path,
        "lower",
        [
            (info("lib", tarfile.SYMTYPE, link="usr/lib"), None),
            (info("etc/os-release", tarfile.SYMTYPE, link="../usr/lib/os-release"), None),
            (info("usr/lib/os-release"), b"ID=debian\nVERSION_CODENAME=bookworm\n"),
            (info("var/lib/dpkg/status"), b"old"),
            (info("opt/app/conf"), b"lower conf"),
            (info("srv/data/file"), b"gone"),
        ],
    )
    upper = layer_blob(
        tmp_path,
        "upper",
        [
            (info("./var/lib/dpkg/status"), b"new"),
            (info("opt/app/.wh..wh..opq"), b""),
            (info("srv/.wh.data"), b""),
        ],
    )
    wanted = {
        "etc/os-release",
        "usr/lib/os-release",
        "var/lib/dpkg/status",
        "opt/app/conf",
        "srv/data/file",
    }
    view = read_root([lower, upper], wanted)
    assert view.read("etc/os-release") == b"ID=debian\nVERSION_CODENAME=bookworm\n"
    assert view.read("var/lib/dpkg/status") == b"new"
    assert view.read("opt/app/conf") is None
    assert view.read("srv/data/file") is None
    assert view.links["lib"] == "usr/lib"


@pytest.mark.parametrize(
    ("path", "full", "expected"),
    [
        ("lib/x86_64-linux-gnu/libpq.so.5", False, "usr/lib/x86_64-linux-gnu/libpq.so.5"),
        ("lib", True, "usr/lib"),
        ("lib", False, "lib"),
        ("var/run/app.pid", False, "run/app.pid"),
        ("opt/up/../../x", False, "x"),
        ("usr/share/doc/a/file", False, "usr/share/doc/b/file"),
    ],
)
def test_canonical_paths(path: str, full: bool, expected: str) -> None:
    links = {"lib": "usr/lib", "var/run": "/run", "usr/share/doc/a": "../doc/b"}
    assert canonical(path, links, full) == expected


def test_canonical_paths_give_up_on_loops() -> None:
    with pytest.raises(ShipwayError, match="too many levels of symbolic links"):
        canonical("a/b", {"a": "a"}, full=True)


def package(name: str) -> Package:
    return Package(name, "1", "amd64", f"pool/{name}.deb", "00", 1, multi_arch="same")


def test_layer_entries_merge_usr_and_record_dpkg_status(tmp_path: Path) -> None:
    base = read_root(
        [layer_blob(tmp_path, "base", [(info("lib", tarfile.SYMTYPE, link="usr/lib"), None)])],
        set(),
    )
    deb = make_deb(
        tmp_path / "demo.deb", GOOD, control="Package: demo\nVersion: 1\nArchitecture: amd64"
    )
    work = tmp_path / "work"
    work.mkdir()
    entries = {
        e.name: e
        for e in apt._entries(
            [(package("demo"), deb)], base, "Package: libc6\nStatus: install ok installed", work
        )
    }
    assert "lib" not in entries and "lib/x86_64-linux-gnu" not in entries  # the base's link stays
    assert entries["usr/lib/x86_64-linux-gnu/libdemo.so"].link == "libdemo.so.1"
    assert entries["usr/lib/x86_64-linux-gnu/libdemo.so.1"].source is not None
    status = entries["var/lib/dpkg/status"].source
    assert status is not None
    assert status.read_text() == (
        "Package: libc6\nStatus: install ok installed\n\n"
        "Package: demo\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n"
    )
    listing = entries["var/lib/dpkg/info/demo:amd64.list"].source
    assert listing is not None and "/lib/x86_64-linux-gnu/libdemo.so.1\n" in listing.read_text()
    added = entries["var/lib/shipway/apt-packages"].source
    assert added is not None and added.read_text() == "demo 1 amd64\n"
    # The same packages give the same layer, byte for byte.
    store = BlobStore(tmp_path / "blobs")
    first = write_layer(entries.values(), store)
    again = tmp_path / "again"
    again.mkdir()
    second_entries = apt._entries(
        [(package("demo"), deb)], base, "Package: libc6\nStatus: install ok installed", again
    )
    assert write_layer(second_entries, store) == first


def test_the_base_images_dpkg_path_filters_are_honoured(tmp_path: Path) -> None:
    slim = b"# as slim images have\npath-exclude /usr/share/doc/*\npath-include=/usr/share/doc/*/copyright\n"
    base = read_root(
        [layer_blob(tmp_path, "base", [(info("etc/dpkg/dpkg.cfg.d/docker"), slim)])],
        {"etc/dpkg/dpkg.cfg.d/"},
    )
    files: list[Member] = [
        (info("./usr/share/doc/demo/changelog.gz"), b"log"),
        (info("./usr/share/doc/demo/copyright"), b"(c)"),
        (info("./usr/lib/libdemo.so.1"), b"\x7fELF"),
    ]
    deb = make_deb(tmp_path / "demo.deb", files)
    work = tmp_path / "work"
    work.mkdir()
    names = {e.name for e in apt._entries([(package("demo"), deb)], base, "", work)}
    assert "usr/share/doc/demo/copyright" in names and "usr/lib/libdemo.so.1" in names
    assert "usr/share/doc/demo/changelog.gz" not in names


def test_zstd_without_module_or_command_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(compression.shutil, "which", lambda _name: None)
    monkeypatch.setattr(compression.importlib, "import_module", _no_module)
    with (
        pytest.raises(ShipwayError, match="install one"),
        compression.decompressed(io.BytesIO(b""), "zst"),
    ):
        pass


def _no_module(name: str) -> None:
    raise ImportError(name)
