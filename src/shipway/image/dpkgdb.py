"""dpkg's files in the apt layer: its database, its path filters, and Shipway's own list.

No maintainer script runs, but the files are there, so the packages are recorded as dpkg
records an installed package: a paragraph in ``/var/lib/dpkg/status`` (the base image's,
with the new paragraphs after it) and ``/var/lib/dpkg/info/NAME.list`` and ``.md5sums``.
``dpkg -l`` in the container and image scanners then see them, and a later
``apt-get install`` does not fetch them again. ``/var/lib/shipway/apt-packages`` lists
what Shipway added, one ``name version architecture`` a line.

The base image's ``path-exclude``/``path-include`` options (``/etc/dpkg/dpkg.cfg.d``;
slim images leave out documentation and translations this way) are honoured, as dpkg in
that image would.
"""

from __future__ import annotations

import fnmatch

from shipway.image.aptresolve import Package
from shipway.image.debextract import DebContents

STATUS = "var/lib/dpkg/status"
INFO = "var/lib/dpkg/info"
ADDED = "var/lib/shipway/apt-packages"
INSTALLED = "Status: install ok installed"
CONFIG_DIR = "etc/dpkg/dpkg.cfg.d"
#: (include?, glob) in the order dpkg reads them: the last that matches a path decides.
Filters = list[tuple[bool, str]]


def path_filters(configs: list[bytes]) -> Filters:
    """The path filters of dpkg's configuration files (``option=value`` or ``option value``)."""
    rules = []
    for data in configs:
        for line in data.decode("utf-8", "replace").splitlines():
            option, _, value = line.strip().replace("=", " ", 1).partition(" ")
            if option in ("path-exclude", "path-include") and value.strip():
                rules.append((option == "path-include", value.strip()))
    return rules


def kept(path: str, rules: Filters) -> bool:
    """Whether dpkg would unpack ``path`` (absolute); its globs' ``*`` matches ``/`` too."""
    keep = True
    for include, pattern in rules:
        if fnmatch.fnmatchcase(path, pattern):
            keep = include
    return keep


def database_files(base_status: str, added: list[tuple[Package, DebContents]]) -> dict[str, bytes]:
    """Path (relative to the root) to content of every file to write."""
    files = {STATUS: status_text(base_status, added).encode()}
    for package, contents in added:
        stem = f"{INFO}/{info_name(package)}"
        files[f"{stem}.list"] = file_list(contents).encode()
        if contents.md5sums is not None:
            files[f"{stem}.md5sums"] = contents.md5sums
    lines = (f"{p.name} {p.version} {p.architecture}\n" for p, _ in added)
    files[ADDED] = "".join(sorted(lines)).encode()
    return files


def status_text(base_status: str, added: list[tuple[Package, DebContents]]) -> str:
    blocks = [base_status.strip()] if base_status.strip() else []
    for package, contents in added:
        blocks.append(_installed(contents.control or f"Package: {package.name}"))
    return "\n\n".join(blocks) + "\n"


def _installed(control: str) -> str:
    """The control paragraph with dpkg's ``Status`` line after ``Package``, as dpkg writes."""
    lines = [line for line in control.splitlines() if not line.startswith("Status:")]
    at = next((i + 1 for i, line in enumerate(lines) if line.startswith("Package:")), 0)
    return "\n".join([*lines[:at], INSTALLED, *lines[at:]])


def info_name(package: Package) -> str:
    """dpkg names the files of a ``Multi-Arch: same`` package with its architecture."""
    if package.multi_arch == "same":
        return f"{package.name}:{package.architecture}"
    return package.name


def file_list(contents: DebContents) -> str:
    """The package's paths as dpkg lists them: as the package names them, from ``/.``."""
    return "".join(f"{line}\n" for line in ["/.", *(f"/{m.name}" for m in contents.members)])
