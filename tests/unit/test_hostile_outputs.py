"""Issue 10, class 8: ``shipway build --output oci:PATH`` / ``docker-archive:PATH`` onto
a path that cannot take the image is a one-line exit-2 error before any build, and the
path is left as it was; writing never follows a link planted where a file goes."""

from __future__ import annotations

import json
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from shipway.errors import ShipwayError
from shipway.image import oci, outputs
from shipway.image.blobs import BlobStore
from tests.helpers.appdir import make_app
from tests.unit.test_hostile_terminal import run_main

SECRET = "keep me: host secret\n"


def _file(tmp: Path) -> Path:
    (tmp / "taken").write_text(SECRET)
    return tmp / "taken"


def _busy_dir(tmp: Path) -> Path:
    (tmp / "home").mkdir()
    (tmp / "home" / "notes.txt").write_text(SECRET)
    return tmp / "home"


def _dir(tmp: Path) -> Path:
    (tmp / "out").mkdir()
    return tmp / "out"


def _link_to_file(tmp: Path) -> Path:
    (tmp / "link").symlink_to(_file(tmp))
    return tmp / "link"


def _link_to_dir(tmp: Path) -> Path:
    (tmp / "link").symlink_to(_dir(tmp))
    return tmp / "link"


def _fifo(tmp: Path) -> Path:
    os.mkfifo(tmp / "fifo")
    return tmp / "fifo"


def _under_a_file(tmp: Path) -> Path:
    return _file(tmp) / "sub" / "image"


CASES = [
    ("oci", _file, "is a file, not a directory; give a new or empty directory"),
    ("oci", _busy_dir, "is a directory of other files, not an OCI layout; give a new or empty one"),
    ("oci", _link_to_dir, "is a symbolic link; give the directory itself"),
    ("oci", _under_a_file, "{tmp}/taken is a file, not a directory"),
    ("docker-archive", _dir, "is a directory; give the archive's file name"),
    ("docker-archive", _link_to_file, "is a symbolic link; give the file itself"),
    ("docker-archive", _fifo, "exists and is not a regular file; give another file name"),
    ("docker-archive", _under_a_file, "{tmp}/taken is a file, not a directory"),
]


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text() if p.is_file() and not p.is_fifo() else "-"
        for p in sorted(root.rglob("*"))
    }


@pytest.mark.parametrize(
    ("kind", "make", "problem"), CASES, ids=[f"{k}{m.__name__}" for k, m, _ in CASES]
)
def test_an_output_path_that_cannot_take_the_image_is_a_one_line_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    make: Callable[[Path], Path],
    problem: str,
) -> None:
    app = make_app(tmp_path / "src", {"requirements.txt": "flask\n", "app.py": ""})
    work = tmp_path / "work"
    work.mkdir()
    target = make(work)
    before = snapshot(work)
    code = run_main(monkeypatch, "build", str(app), "--output", f"{kind}:{target}")
    assert code == 2
    expected = f"error: --output {kind}:{target}: {problem.format(tmp=work)}\n"
    assert capsys.readouterr().err == expected
    assert snapshot(work) == before


def test_missing_parents_are_made_as_for_render_out(tmp_path: Path) -> None:
    for kind in ("oci", "docker-archive"):
        assert outputs.parse_output(f"{kind}:{tmp_path}/a/b/c") == (kind, tmp_path / "a/b/c")
    assert list(tmp_path.iterdir()) == []  # checked only: nothing made before the build


def _image(tmp_path: Path) -> tuple[BlobStore, oci.Descriptor, str, list[str]]:
    store = BlobStore(tmp_path / "blobs")
    config = store.put_bytes(b'{"architecture": "amd64", "os": "linux"}')
    layer = store.put_bytes(b"layer bytes")
    body = json.dumps({"config": config, "layers": [layer]}).encode()
    manifest = oci.Descriptor(oci.MANIFEST, store.put_bytes(body), len(body))
    return store, manifest, config, [layer]


def test_an_archive_replaces_a_file_and_makes_its_parents(tmp_path: Path) -> None:
    store, manifest, config, layers = _image(tmp_path)
    out = tmp_path / "dist" / "image.tar"
    for _ in range(2):  # made, then replaced
        outputs.write_docker_archive(out, store, manifest, config, layers, None)
    with tarfile.open(out) as archive:
        names = archive.getnames()
    assert "manifest.json" in names and f"blobs/sha256/{layers[0][7:]}" in names
    assert sorted(p.name for p in out.parent.iterdir()) == ["image.tar"]  # no temporary left


def test_a_link_planted_in_a_layout_is_replaced_not_followed(tmp_path: Path) -> None:
    store, manifest, config, layers = _image(tmp_path)
    layout = tmp_path / "layout"
    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "oci-layout").write_text("{}")
    outside = tmp_path / "outside" / "written-through-the-link"
    planted = layout / "blobs" / "sha256" / layers[0][7:]
    planted.symlink_to(outside)
    (layout / "index.json").symlink_to(tmp_path / "outside-index.json")
    outputs.write_oci_layout(layout, store, manifest, [config, *layers], None)
    assert not outside.exists() and not (tmp_path / "outside-index.json").exists()
    assert not planted.is_symlink() and planted.read_bytes() == b"layer bytes"
    assert json.loads((layout / "index.json").read_text())["manifests"][0]["digest"] == (
        manifest.digest
    )


def test_a_path_that_turns_into_a_file_during_the_build_is_a_one_line_error(
    tmp_path: Path,
) -> None:
    store, manifest, config, layers = _image(tmp_path)
    _, out = outputs.parse_output(f"oci:{tmp_path}/image")
    out.write_text(SECRET)  # while the build ran
    with pytest.raises(ShipwayError) as caught:
        outputs.write_oci_layout(out, store, manifest, [config, *layers], None)
    assert str(caught.value).startswith(f"--output oci:{out}: cannot write it (")
    assert "\n" not in str(caught.value) and out.read_text() == SECRET
