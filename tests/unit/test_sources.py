"""Source archives (``shipway.sources``): reproducible, honouring ``.dockerignore`` and
size-limited when made; unpacked only into their own directory, whatever the archive
says, with a one-line error for anything hostile."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipway import sources
from shipway.errors import ShipwayError

pytestmark = pytest.mark.unit


def _app(root: Path) -> Path:
    app = root / "app"
    (app / "pkg").mkdir(parents=True)
    (app / "app.py").write_text("print('hi')\n")
    (app / "pkg" / "__init__.py").write_text("")
    (app / "run.sh").write_text("#!/bin/sh\n")
    (app / "run.sh").chmod(0o755)
    (app / "secret.env").write_text("TOKEN=x\n")
    (app / ".dockerignore").write_text("secret.env\n")
    (app / ".git").mkdir()
    (app / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (app / "link").symlink_to("pkg/__init__.py")
    return app


def _names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return [m.name for m in tar.getmembers()]


def test_archive_is_reproducible_sorted_and_honours_dockerignore(tmp_path: Path) -> None:
    app = _app(tmp_path)
    first = sources.make(app, 10**6)
    os.utime(app / "app.py", (1, 1))
    assert sources.make(app, 10**6) == first
    assert _names(first) == [
        ".dockerignore",
        "app.py",
        "link",
        "pkg",
        "pkg/__init__.py",
        "run.sh",
    ]
    with tarfile.open(fileobj=io.BytesIO(first), mode="r:gz") as tar:
        for member in tar.getmembers():
            assert (member.mtime, member.uid, member.gid, member.uname) == (0, 0, 0, "")
        assert tar.getmember("run.sh").mode == 0o755
        assert tar.getmember("app.py").mode == 0o644
        assert tar.getmember("link").linkname == "pkg/__init__.py"


def test_archive_over_the_limit_is_one_line_naming_it(tmp_path: Path) -> None:
    app = _app(tmp_path)
    (app / "big.bin").write_bytes(os.urandom(300_000))
    with pytest.raises(ShipwayError) as caught:
        sources.make(app, 100_000)
    assert str(caught.value) == (
        "the app's source archive is larger than the server's limit of 97.7 KiB; "
        "add large files to .dockerignore"
    )


def test_round_trip(tmp_path: Path) -> None:
    app = _app(tmp_path)
    dest = sources.extract(io.BytesIO(sources.make(app, 10**6)), tmp_path / "out")
    assert (dest / "app.py").read_text() == "print('hi')\n"
    assert os.readlink(dest / "link") == "pkg/__init__.py"
    assert (dest / "run.sh").stat().st_mode & 0o777 == 0o755
    assert not (dest / "secret.env").exists()
    assert not (dest / ".git").exists()


def _tar(*members: tuple[tarfile.TarInfo, bytes | None]) -> io.BytesIO:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return io.BytesIO(gzip.compress(raw.getvalue()))


def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _special(name: str, kind: bytes, link: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info, None


HOSTILE = [
    ([_file("/etc/evil")], "paths must be relative"),
    ([_file("../evil")], "paths must be relative"),
    ([_file("a/../../evil")], "paths must be relative"),
    ([_special("l", tarfile.SYMTYPE, "/etc/passwd")], "points outside the archive"),
    ([_special("l", tarfile.SYMTYPE, "../../x")], "points outside the archive"),
    ([_special("d/l", tarfile.SYMTYPE, "../..")], "points outside the archive"),
    ([_special("l", tarfile.SYMTYPE, "d"), _file("l/evil")], "lies below a symbolic link"),
    ([_special("h", tarfile.LNKTYPE, "app.py")], "hard links, devices and FIFOs"),
    ([_special("dev", tarfile.CHRTYPE)], "hard links, devices and FIFOs"),
    ([_special("fifo", tarfile.FIFOTYPE)], "hard links, devices and FIFOs"),
    ([_file("a"), _file("a")], "is given twice"),
    ([_file("a"), _file("a/b")], "cannot be unpacked"),
]


@pytest.mark.parametrize(("members", "message"), HOSTILE)
def test_hostile_archives_are_refused_in_one_line(
    tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], message: str
) -> None:
    with pytest.raises(ShipwayError) as caught:
        sources.extract(_tar(*members), tmp_path / "out")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("source archive: ")
    # Nothing outside the destination.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_too_many_entries(tmp_path: Path) -> None:
    archive = _tar(*[_file(f"f{i}") for i in range(11)])
    with pytest.raises(ShipwayError, match="more than 10 entries"):
        sources.extract(archive, tmp_path / "out", max_entries=10)


def test_a_gzip_bomb_stops_at_the_bound(tmp_path: Path) -> None:
    """100 MiB of zeros in one file, about 100 KB compressed: refused at 1 MiB unpacked."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("zeros")
        info.size = 100 * 1024**2
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    bomb = gzip.compress(raw.getvalue(), compresslevel=9)
    assert len(bomb) < 200_000
    with pytest.raises(ShipwayError, match=r"unpacks to more than 1 MiB"):
        sources.extract(io.BytesIO(bomb), tmp_path / "out", max_bytes=1024**2)


def test_a_huge_pax_header_is_bounded_too(tmp_path: Path) -> None:
    info = tarfile.TarInfo("x")
    info.pax_headers = {"comment": "A" * (4 * 1024**2)}
    archive = _tar((info, b"x"))
    with pytest.raises(ShipwayError, match="unpacks to more than"):
        sources.extract(archive, tmp_path / "out", max_entries=10, max_bytes=1024**2)


@pytest.mark.parametrize("data", [b"", b"not gzip", gzip.compress(b"not a tar" * 100)])
def test_garbage_is_one_line(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(ShipwayError, match=r"^source archive: not a readable tar\.gz"):
        sources.extract(io.BytesIO(data), tmp_path / "out")


def test_destination_must_be_new(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(FileExistsError):
        sources.extract(_tar(_file("a")), tmp_path / "out")


NAME = st.text(alphabet="ab./", min_size=1, max_size=12)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(NAME, st.sampled_from([tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.DIRTYPE]), NAME),
        min_size=1,
        max_size=6,
    )
)
def test_whatever_the_archive_says_nothing_lands_outside(
    tmp_path_factory: pytest.TempPathFactory, members: list[tuple[str, bytes, str]]
) -> None:
    base = tmp_path_factory.mktemp("x")
    dest = base / "out"
    infos = []
    for name, kind, link in members:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, link if kind == tarfile.SYMTYPE else ""
        infos.append((info, b"data" if kind == tarfile.REGTYPE else None))
    try:
        sources.extract(_tar(*infos), dest)
    except ShipwayError as exc:
        assert "\n" not in str(exc)
    assert [p.name for p in base.iterdir()] == ["out"]
    for path in dest.rglob("*"):
        if path.is_symlink():  # where its text points (a loop resolves nowhere)
            landed = os.path.normpath(path.parent / os.readlink(path))
            assert Path(landed).is_relative_to(dest)
        else:
            assert path.resolve().is_relative_to(dest.resolve())
