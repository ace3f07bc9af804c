"""Requirement files as pip writes them, read so that uv never reads outside the app.

An app's ``requirements.txt`` may include others (``-r requirements/prod.txt``,
``-c constraints.txt``), install local projects (``-e .``) or wheels (``./vendor/x.whl``)
and name indexes. uv could follow all of that itself, but then a file could make it read
``-r ../../etc/passwd`` or a ``--find-links`` directory anywhere on the builder, and the
layer's cache key would not know which files it came from. So the files are read here
(bounded in depth, count and size; every path inside the app after resolving symlinks,
or, for includes, inside the repository that holds the app when one is given)
and flattened into one list of lines for uv, with local paths made absolute at install
time, and the list of files whose bytes the cache key covers.

Paths follow pip: ``-r``/``-c``/``-f`` are relative to the including file, local project
and archive paths to the app directory (pip's working directory on Heroku). Local
directories are not given to uv as requirements: they are the app's own projects,
installed the way ``appproject`` installs the app (their code stays under ``/app``).
``${VAR}`` references are refused: uv would expand them from the builder's environment,
which an app's file must not be able to read (or send to an index of its choosing).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from packaging.requirements import InvalidRequirement, Requirement

from shipway.errors import SpecError
from shipway.image.appread import contained, read_text

#: Where an absolute path goes in a line's text when it is rendered for uv.
MARK = "\0path\0"
MAX_DEPTH = 8
MAX_FILES = 64
ARCHIVES = (".whl", ".tar.gz", ".tgz", ".zip", ".tar.bz2")
DIRECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[^\]]*\])?\s*@\s*(\S+)")
VCS = re.compile(r"^[a-z]+\+")
COMMENT = re.compile(r"(^|\s+)#.*$")
#: Options that pass through to uv as written (none of them names a file).
PASSED = {
    "--index-url", "-i", "--extra-index-url", "--no-index", "--pre", "--prefer-binary",
    "--only-binary", "--no-binary", "--trusted-host", "--require-hashes", "--use-feature",
}  # fmt: skip
INCLUDES = {"-r": False, "--requirement": False, "-c": True, "--constraint": True}


@dataclass(frozen=True)
class Line:
    """A line for uv; ``path`` (app-relative) replaces ``MARK`` in ``text`` when rendered."""

    text: str
    path: str | None = None

    def render(self, root: Path) -> str:
        return self.text if self.path is None else self.text.replace(MARK, str(root / self.path))


@dataclass
class Requirements:
    """What to install, read from the app's files.

    ``files`` are app-relative files (or ``--find-links`` directories) the result depends
    on; ``projects`` app-relative directories installed as projects (``.`` is the app);
    ``origins`` where each named package is listed, for error messages; ``complete`` says
    the lines pin everything (a lock), so projects' own requirements are not added.
    """

    source: str
    lines: list[Line] = field(default_factory=list)
    constraints: list[Line] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    projects: list[str] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)
    complete: bool = False

    def render(self, root: Path, constraints: bool = False) -> str:
        lines = self.constraints if constraints else self.lines
        return "".join(f"{line.render(root)}\n" for line in lines)


def read(app_dir: Path, rel: str, context: Path | None = None) -> Requirements:
    """The requirements ``rel`` (app-relative) lists, includes followed. Includes may
    name files in ``context`` (a repository holding the app), local projects and
    archives only files of the app."""
    root = app_dir.resolve()
    reader = _Reader(root, Requirements(rel), context.resolve() if context else root)
    reader.file(rel, constraint=False, depth=0)
    return reader.result


def parse(app_dir: Path, text: str, label: str) -> Requirements:
    """Requirements from text made by a tool (``uv export``), checked the same way."""
    root = app_dir.resolve()
    reader = _Reader(root, Requirements(label), root)
    reader.numbered = False
    reader.text(text, label, ".", constraint=False, depth=0)
    return reader.result


@dataclass
class _Reader:
    root: Path
    result: Requirements
    #: Where included files may be (the app, or the repository holding it).
    limit: Path
    #: Whether errors name line numbers (not in text a tool made up).
    numbered: bool = True

    def file(self, rel: str, constraint: bool, depth: int) -> None:
        if rel in self.result.files:
            return  # included twice (or a cycle): once is enough
        if len(self.result.files) >= MAX_FILES:
            raise SpecError(rel, None, f"more than {MAX_FILES} files are included", "merge some")
        self.result.files.append(rel)
        text = read_text(self.root, rel, self.limit)
        self.text(text, rel, str(PurePosixPath(rel).parent), constraint, depth)

    def text(self, text: str, label: str, base: str, constraint: bool, depth: int) -> None:
        for number, line in _logical_lines(text):
            where = f"{label}:{number}" if self.numbered else label
            if "${" in line:
                raise SpecError(
                    where, None, "environment variables (${...}) are not expanded here",
                    "write the value, or set the index in uv's own configuration",
                )  # fmt: skip
            if line.startswith("-"):
                self._option(line, where, base, constraint, depth)
            else:
                self._requirement(line, where, constraint)

    def _option(self, line: str, where: str, base: str, constraint: bool, depth: int) -> None:
        try:
            words = shlex.split(line)
        except ValueError:
            raise SpecError(where, None, "unbalanced quotes", "fix the line") from None
        name, _, value = words[0].partition("=")
        if not value and len(words) > 1:
            value = words[1]
        if not value and name not in PASSED:
            raise SpecError(where, name, "needs a value", "write the option's value after it")
        if name in INCLUDES:
            self._include(value, where, base, constraint or INCLUDES[name], depth)
        elif name in ("-e", "--editable"):
            self._project(value, where)
        elif name in ("-f", "--find-links"):
            self._find_links(value, where, base)
        elif name in ("-i", "--index-url", "--extra-index-url") and not _is_url(value):
            raise SpecError(where, name, "must be an http(s) URL", "use an index URL")
        elif name in PASSED:
            self.result.lines.append(Line(line))
        else:
            raise SpecError(where, name, "is not an option uv reads", "remove the line")

    def _include(self, value: str, where: str, base: str, constraint: bool, depth: int) -> None:
        if depth >= MAX_DEPTH:
            raise SpecError(where, None, f"includes nest deeper than {MAX_DEPTH}", "flatten them")
        if _is_url(value):
            raise SpecError(where, None, f"{value} is a URL", "include files of the app only")
        self.file(self._inside(base, value, where, self.limit), constraint, depth + 1)

    def _project(self, value: str, where: str) -> None:
        if _is_url(value) or "+" in value.split(":", 1)[0]:
            raise SpecError(
                where, "-e", "only a directory of the app can be editable", "drop the -e"
            )
        rel = self._inside(".", value.removeprefix("file:"), where)
        if not (self.root / rel).is_dir():
            raise SpecError(where, "-e", f"{value} is not a directory", "fix the path")
        if rel not in self.result.projects:
            self.result.projects.append(rel)

    def _find_links(self, value: str, where: str, base: str) -> None:
        if _is_url(value):
            self.result.lines.append(Line(f"--find-links {value}"))
            return
        candidate = str(PurePosixPath(base) / value)
        relative_to = base if (self.root / candidate).exists() else "."
        rel = self._inside(relative_to, value.removeprefix("file:"), where)
        self.result.files.append(rel)
        self.result.lines.append(Line(f"--find-links {MARK}", rel))

    def _requirement(self, line: str, where: str, constraint: bool) -> None:
        spec, options = _split_options(line)
        target = _local_path(spec)
        if target is not None:
            self._local(spec, target, options, where)
            return
        name = _name(spec)
        if name is None:
            raise SpecError(where, None, f"'{spec[:60]}' is not a requirement", "fix the line")
        if name and not constraint:
            self.result.origins.setdefault(name, where)
        (self.result.constraints if constraint else self.result.lines).append(Line(line))

    def _local(self, spec: str, target: str, options: str, where: str) -> None:
        path, extras = _extras(target)
        rel = self._inside(".", path.removeprefix("file://").removeprefix("file:"), where)
        if (self.root / rel).is_dir():
            if rel not in self.result.projects:
                self.result.projects.append(rel)
            return
        self.result.files.append(rel)
        prefix = spec[: spec.index(target)]  # "name @ " or nothing
        rest = spec[spec.index(target) + len(target) :]
        url = "file://" if prefix else ""
        self.result.lines.append(Line(f"{prefix}{url}{MARK}{extras}{rest} {options}".strip(), rel))

    def _inside(self, base: str, value: str, where: str, limit: Path | None = None) -> str:
        rel = contained(self.root, base, value, limit)
        if rel is None:
            raise SpecError(
                where, None, f"{value} is outside the app directory", "keep the file inside it"
            )
        return rel


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, line) with continuations joined and comments removed."""
    lines: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if raw.endswith("\\"):
            pending += raw[:-1]
            continue
        line = COMMENT.sub("", pending + raw).strip()
        pending = ""
        if line:
            lines.append((start, line))
    return lines


def _split_options(line: str) -> tuple[str, str]:
    """``six==1.16 --hash=sha256:…`` as the requirement and its options (pip's rule)."""
    match = re.search(r"\s--?[A-Za-z]", line)
    if match is None:
        return line, ""
    return line[: match.start()].rstrip(), line[match.start() :].strip()


def _local_path(spec: str) -> str | None:
    """The path of a local requirement (``.``, ``./x``, ``x.whl``, ``name @ file:…``)."""
    head = spec.split(";", 1)[0].strip()
    named = DIRECT.match(head)
    if named:
        url = named.group(1)
        return url if url.startswith("file:") else None
    if head.startswith("file:"):
        return head
    if "://" in head or VCS.match(head):
        return None
    local = head.startswith((".", "/", "~")) or head.endswith(ARCHIVES) or "/" in head
    return head if local else None


def _extras(path: str) -> tuple[str, str]:
    match = re.fullmatch(r"(.*?)(\[[^\]]*\])?", path)
    assert match is not None
    return match.group(1), match.group(2) or ""


def _name(spec: str) -> str | None:
    """The package's normalised name; None for a URL that does not say it."""
    try:
        return normalise(Requirement(spec).name)
    except InvalidRequirement:
        egg = re.search(r"#egg=([A-Za-z0-9._-]+)", spec)
        if egg:
            return normalise(egg.group(1))
        if "://" in spec:
            return ""
        return None


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))
