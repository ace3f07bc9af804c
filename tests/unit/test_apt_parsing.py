"""The text formats of the apt layer: the Aptfile, apt's source lists, Debian's control
files (Release, Packages, dpkg status), and the generated Dockerfile's apt step."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway import project
from shipway.errors import ShipwayError, SpecError
from shipway.image.aptfile import MAX_BYTES, read_aptfile
from shipway.image.deb822 import paragraphs, provided, relations, release_files
from shipway.image.debsources import (
    debian_mirror,
    image_is_unstable,
    parse_deb822,
    parse_one_line,
)
from shipway.image.dockerfile import dockerfile
from tests.helpers.appdir import make_app


def test_aptfile_names_comments_and_blank_lines(tmp_path: Path) -> None:
    app = make_app(
        tmp_path, {"Aptfile": "# system libraries\nlibpq5\n\n  git curl # tools\nlibpq5\n"}
    )
    found = read_aptfile(app)
    assert found is not None
    assert [p.name for p in found] == ["libpq5", "git", "curl"]
    assert [str(p.where) for p in found] == ["Aptfile:2", "Aptfile:4", "Aptfile:4"]


def test_no_aptfile_is_none(tmp_path: Path) -> None:
    assert read_aptfile(make_app(tmp_path, {"app.py": ""})) is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "https://user:s3cret@example.test/pkg.deb",
            "Aptfile:2: URLs of .deb files are not supported",
        ),
        (":repo:deb http://example.test/ stable main", "Aptfile:2: extra apt repositories"),
        ("./vendor/foo.deb", "Aptfile:2: paths to .deb files are not supported"),
        ("libpq5=15.1", "Aptfile:2: 'libpq5=15.1': version pins"),
        ("LibPQ", "Aptfile:2: 'LibPQ' is not a Debian package name"),
        ("x", "Aptfile:2: 'x' is not a Debian package name"),
    ],
)
def test_aptfile_refuses_what_is_not_a_package_name(
    tmp_path: Path, line: str, message: str
) -> None:
    app = make_app(tmp_path, {"Aptfile": f"libpq5\n{line}\n"})
    with pytest.raises(SpecError) as caught:
        read_aptfile(app)
    text = str(caught.value)
    assert text.startswith(message)
    assert "\n" not in text and "s3cret" not in text
    assert "; " in text  # the fix follows


def test_aptfile_outside_the_app_or_too_large_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.write_text("libpq5\n")
    app = make_app(tmp_path, {"app.py": ""})
    (app / "Aptfile").symlink_to(outside)
    with pytest.raises(SpecError, match=r"^Aptfile: links outside the app directory; copy"):
        read_aptfile(app)
    (app / "Aptfile").unlink()
    (app / "Aptfile").symlink_to("Aptfile")
    with pytest.raises(SpecError, match=r"^Aptfile: is a symbolic link loop"):
        read_aptfile(app)
    (app / "Aptfile").unlink()
    (app / "Aptfile").write_text("libpq5\n" * (MAX_BYTES // 7 + 1))
    with pytest.raises(SpecError, match="larger than 64 KiB"):
        read_aptfile(app)


def test_one_line_sources() -> None:
    sources = parse_one_line(
        "# comment\n"
        "deb-src http://src.test/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://one.test/debian bookworm main\n"
        "deb http://sec.test/debian-security bookworm-security main # trailing\n"
    )
    assert [(s.types, s.uris, s.suites) for s in sources] == [
        (("deb-src",), ("http://src.test/debian",), ("bookworm",)),
        (("deb",), ("http://one.test/debian",), ("bookworm",)),
        (("deb",), ("http://sec.test/debian-security",), ("bookworm-security",)),
    ]


def test_deb822_sources_and_the_mirror_chosen() -> None:
    sources = parse_deb822(
        "Types: deb\n# a comment\nURIs: http://off.test/debian\nSuites: trixie\nEnabled: no\n"
        "\n  \n"
        "Types: deb deb-src\nURIs: http://sec.test/debian-security\nSuites: trixie-security\n"
        "\n"
        "Types: deb\nURIs: http://main.test/debian/\nSuites: trixie trixie-updates\n"
    )
    assert [s.usable for s in sources] == [False, True, True]
    assert debian_mirror("trixie", sources) == "http://main.test/debian"
    # No source of the wanted suite: a main archive's serves every suite.
    assert debian_mirror("bookworm", sources) == "http://main.test/debian"
    with pytest.raises(ShipwayError, match="SHIPWAY_DEBIAN_MIRROR"):
        debian_mirror("bookworm", sources[:2])


def test_mirror_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPWAY_DEBIAN_MIRROR", "http://env.test/debian/")
    assert debian_mirror("bookworm", []) == "http://env.test/debian"


def test_unstable_is_told_by_the_image_sources() -> None:
    assert image_is_unstable(parse_one_line("deb http://m.test/debian sid main\n"))
    assert not image_is_unstable(parse_one_line("deb http://m.test/debian trixie main\n"))
    assert image_is_unstable(parse_deb822("Types: deb\nURIs: http://m.test/d\nSuites: unstable\n"))


def test_paragraphs_keep_asked_fields_and_join_continuations() -> None:
    text = (
        "Package: a\nDescription: short\n long line\n .\nDepends: b\n\n"
        "# not a field\nPackage: c\nVersion: 1\n"
    )
    assert list(paragraphs(text)) == [
        {"Package": "a", "Description": "short\nlong line\n.", "Depends": "b"},
        {"Package": "c", "Version": "1"},
    ]
    assert list(paragraphs(text, frozenset({"Package"}))) == [{"Package": "a"}, {"Package": "c"}]


def test_relations_drop_versions_and_qualifiers() -> None:
    assert relations(
        "libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, perl:any, x [amd64] <!nocheck>"
    ) == (
        ("libc6",),
        ("debconf", "debconf-2.0"),
        ("perl",),
        ("x",),
    )
    assert relations("") == ()
    assert provided("libfoo (= 1.0), bar") == ("libfoo", "bar")


def test_release_files_by_sha256() -> None:
    release = (
        "Origin: Debian\nCodename: bookworm\nMD5Sum:\n 0123 10 main/binary-amd64/Packages\n"
        "SHA256:\n ABCD 10 main/binary-amd64/Packages\n ef01  5 main/binary-amd64/Packages.xz\n"
    )
    files = release_files(release, "dists/bookworm")
    assert files["main/binary-amd64/Packages"].sha256 == "abcd"
    assert files["main/binary-amd64/Packages.xz"].size == 5
    with pytest.raises(ShipwayError, match="no SHA256"):
        release_files("Origin: Debian\n", "dists/bookworm")


def test_dockerfile_installs_the_aptfile_before_the_dependencies(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"requirements.txt": "flask\n", "app.py": "", "Aptfile": "libpq5\n"})
    plan = project.load(app).plan
    lines = dockerfile(plan, app_dir=app).splitlines()
    apt = next(i for i, line in enumerate(lines) if "apt-get install" in line)
    assert lines[apt - 1] == "COPY Aptfile ./"
    assert apt < next(i for i, line in enumerate(lines) if "pip install" in line)
    assert "--no-install-recommends" in lines[apt] and "rm -rf /var/lib/apt/lists/*" in lines[apt]
    assert "Aptfile" not in dockerfile(plan)
