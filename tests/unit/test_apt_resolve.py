"""Choosing the packages to add, on small handwritten Packages indexes and dpkg statuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.errors import ShipwayError, SpecError
from shipway.image import aptresolve, reference
from shipway.image.apt import check_available, debian_suite
from shipway.image.aptfile import parse_aptfile
from shipway.image.aptresolve import installed_names, parse_index, resolve
from shipway.image.base import BaseImage
from shipway.image.rootview import RootView


def entry(name: str, depends: str = "", extra: str = "") -> str:
    lines = [
        f"Package: {name}",
        "Version: 1.0-1",
        "Architecture: amd64",
        f"Filename: pool/main/{name[0]}/{name}/{name}_1.0-1_amd64.deb",
        f"SHA256: {'ab' * 32}",
        "Size: 100",
        "Description: a package",
        " with a long description",
    ]
    if depends:
        lines.append(f"Depends: {depends}")
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n"


INDEX = "\n".join(
    [
        entry("libpq5", "libc6 (>= 2.34), libssl3 (>= 3.0.0), libldap-2.5-0"),
        entry("libldap-2.5-0", "libc6, libsasl2-2 | libsasl2-modules-gssapi-heimdal"),
        entry("libsasl2-2", "libsasl2-modules-db, libc6"),
        entry("libsasl2-modules-db", "libdb5.3"),
        entry("libdb5.3", "libc6"),
        entry("libssl3", "libc6"),
        entry("libc6", "libgcc-s1"),
        entry("libgcc-s1"),
        entry("mawk", "", "Provides: awk"),
        entry("gawk", "", "Provides: awk"),
        entry("needs-awk", "awk"),
        entry("needs-missing", "libc6, no-such-lib"),
        entry("loop-a", "loop-b"),
        entry("loop-b", "loop-a", "Pre-Depends: libssl3"),
        entry("libpq5", "something-else"),  # a second version: the first wins
    ]
)
STATUS = (
    "Package: libc6\nStatus: install ok installed\nVersion: 2.36\n\n"
    "Package: libgcc-s1\nStatus: install ok installed\n\n"
    "Package: libssl3\nStatus: deinstall ok config-files\n\n"
    "Package: debconf\nStatus: install ok installed\nProvides: debconf-2.0\n"
)


def names(packages: list[aptresolve.Package]) -> list[str]:
    return [p.name for p in packages]


def test_index_fields() -> None:
    index = parse_index(INDEX)
    libpq = index.packages["libpq5"]
    assert libpq.depends == (("libc6",), ("libssl3",), ("libldap-2.5-0",))
    assert libpq.filename == "pool/main/l/libpq5/libpq5_1.0-1_amd64.deb"
    assert libpq.sha256 == "ab" * 32 and libpq.size == 100
    assert sorted(index.providers["awk"]) == ["gawk", "mawk"]
    assert index.packages["loop-b"].depends == (("libssl3",), ("loop-a",))


def test_installed_only_counts_installed_packages_and_their_provides() -> None:
    assert installed_names(STATUS) == {"libc6", "libgcc-s1", "debconf", "debconf-2.0"}


def test_dependencies_are_followed_and_installed_ones_skipped() -> None:
    chosen = resolve(["libpq5"], parse_index(INDEX), installed_names(STATUS))
    assert names(chosen) == [
        "libdb5.3",
        "libldap-2.5-0",
        "libpq5",
        "libsasl2-2",
        "libsasl2-modules-db",
        "libssl3",  # its status is "deinstall": not installed
    ]


def test_on_an_empty_base_everything_is_added() -> None:
    chosen = resolve(["libssl3"], parse_index(INDEX), set())
    assert names(chosen) == ["libc6", "libgcc-s1", "libssl3"]


def test_an_alternative_already_present_satisfies_the_group() -> None:
    index = parse_index(entry("tool", "libnope | debconf-2.0") + "\n" + entry("libnope"))
    assert names(resolve(["tool"], index, installed_names(STATUS))) == ["tool"]
    # Nothing of the group installed: the first the index has.
    assert names(resolve(["tool"], index, set())) == ["libnope", "tool"]


def test_virtual_packages_take_a_provider_deterministically() -> None:
    chosen = resolve(["needs-awk"], parse_index(INDEX), set())
    assert names(chosen) == ["gawk", "needs-awk"]
    # A provider already installed satisfies it.
    assert names(resolve(["needs-awk"], parse_index(INDEX), {"mawk", "awk"})) == ["needs-awk"]


def test_cycles_end() -> None:
    assert names(resolve(["loop-a"], parse_index(INDEX), {"libssl3"})) == ["loop-a", "loop-b"]


def test_a_missing_dependency_names_who_needs_it() -> None:
    with pytest.raises(ShipwayError, match="needs-missing depends on no-such-lib, which is not"):
        resolve(["needs-missing"], parse_index(INDEX), {"libc6"})


def test_the_number_of_packages_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    chain = "\n".join(entry(f"p{i}", f"p{i + 1}") for i in range(20)) + "\n" + entry("p20")
    assert len(resolve(["p0"], parse_index(chain), set())) == 21
    monkeypatch.setattr(aptresolve, "MAX_PACKAGES", 10)
    with pytest.raises(ShipwayError, match="more than 10 others"):
        resolve(["p0"], parse_index(chain), set())


def test_an_unknown_aptfile_package_names_its_line() -> None:
    wanted = parse_aptfile("libc6\n# x\nlibpq5 libpq-typo\n", Path("/app/Aptfile"))
    index = parse_index(INDEX)
    with pytest.raises(SpecError) as caught:
        check_available(wanted, index, {"libc6"}, "bookworm")
    assert str(caught.value) == (
        "Aptfile:3: 'libpq-typo' is not a package of Debian bookworm (main); "
        "check the name with `apt-cache search`, or remove it"
    )
    check_available(wanted[:2], index, set(), "bookworm")  # all there: no error


BOOKWORM = b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_CODENAME=bookworm\n'
FORKY = b'PRETTY_NAME="Debian GNU/Linux forky/sid"\nID=debian\nVERSION_CODENAME=forky\n'
BASE = BaseImage(reference.parse("python:3.12-slim"), {}, [])


@pytest.mark.parametrize(
    ("files", "suite"),
    [
        ({"usr/lib/os-release": BOOKWORM}, "bookworm"),
        ({"usr/lib/os-release": FORKY}, "forky"),  # testing
        (
            {
                "usr/lib/os-release": FORKY,
                "etc/apt/sources.list.d/debian.sources": b"Types: deb\nURIs: http://m.test/debian\n"
                b"Suites: sid\nComponents: main\n",
            },
            "sid",
        ),
        (
            {
                "usr/lib/os-release": FORKY,
                "etc/apt/sources.list": b"deb http://m.test/d sid main\n",
            },
            "sid",
        ),
    ],
)
def test_the_base_images_suite(files: dict[str, bytes], suite: str) -> None:
    root = RootView(files, {"etc/os-release": "../usr/lib/os-release"})
    assert debian_suite(root, BASE) == suite


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"etc/os-release": b"ID=alpine\nVERSION_ID=3.20\n"}, "is 'alpine', not a Debian release"),
        ({}, "has no /etc/os-release, not a Debian release"),
    ],
)
def test_a_base_image_that_is_not_debian(files: dict[str, bytes], message: str) -> None:
    with pytest.raises(ShipwayError, match=message):
        debian_suite(RootView(files, {}), BASE)
