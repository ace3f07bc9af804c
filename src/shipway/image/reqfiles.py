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

Indexes are the app's visible choice: ``--index-url`` (instead of PyPI) and
``--extra-index-url`` lines are kept in ``indexes`` and printed by ``shipway build``, and
uv installs with ``--index-strategy first-index``: a package comes from the first index
that has it (extra indexes first), never from whichever index offers the highest
version, so a public package cannot shadow a private one of the same name. uv merges
``--find-links`` candidates with the index's, highest version first, so a
``--find-links`` needs ``--no-index``; a wheel of the app is named by its path instead.
Remote requirements are http(s), git or ssh URLs: ``git+file://`` would clone whatever
the builder holds. Lock files' lines (``lockfiles``, ``poetry``) go through the same
checks, through ``add``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from shipway.detect.files import MAX_REQUIREMENTS_BYTES
from shipway.errors import SpecError
from shipway.image.appread import contained, read_text

#: Where an absolute path goes in a line's text when it is rendered for uv.
MARK = "\0path\0"
MAX_DEPTH = 8
MAX_FILES = 64
#: Every file at most ``MAX_REQUIREMENTS_BYTES`` (hash-pinned files run long); all of
#: them together at most this, and this many requirement and option lines.
MAX_TOTAL_BYTES = 16 * 1024 * 1024
MAX_LINES = 50_000
DEFAULT_INDEX = "https://pypi.org/simple"
#: What Pipfiles and locks write for the default index: PyPI by its names, or pip's own
#: setting (pipenv expands ``${PIP_INDEX_URL}``). Each means whatever index the builder
#: is configured with (a mirror, a proxy), so none becomes an index line; no other
#: variable is expanded (an app's file must not read the builder's environment).
DEFAULT_INDEXES = frozenset(
    {DEFAULT_INDEX, "https://pypi.python.org/simple", "${PIP_INDEX_URL}", "$PIP_INDEX_URL"}
)
#: Schemes of remote requirements (after a ``git+``…): never ``file``, which reads the
#: builder's disk; local files of the app are named by their path.
REMOTE_SCHEMES = ("https", "http", "ssh", "git")
INDEX_OPTIONS = {"-i": "--index-url", "--index-url": "--index-url",
                 "--extra-index-url": "--extra-index-url"}  # fmt: skip
USERINFO = re.compile(r"(?<=://)[^/@\s]*@")
HASH = re.compile(r"^(sha256|sha384|sha512):[0-9a-fA-F]+$")
ARCHIVES = (".whl", ".tar.gz", ".tgz", ".zip", ".tar.bz2")
DIRECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[^\]]*\])?\s*@\s*(\S+)")
VCS = re.compile(r"^[a-z]+\+")
#: A ``#`` that starts a comment (pip's rule); a look-behind keeps the search linear.
COMMENT = re.compile(r"(?:^|(?<=\s))#")
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


@dataclass(frozen=True)
class Index:
    """An index option the app's files give: ``option`` (``--index-url``,
    ``--extra-index-url``, ``--find-links`` or ``--no-index``), its URL or app-relative
    directory, and where it is written."""

    option: str
    location: str
    where: str

    def describe(self) -> str:
        return f"{redact(self.location)} ({self.option}, {self.where})"


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
    indexes: list[Index] = field(default_factory=list)

    def lookup_order(self) -> list[str]:
        """Where uv looks for packages, in order (a package comes from the first that has
        it), for people; empty when the app names no index (PyPI, or the builder's)."""
        if not self.indexes:
            return []
        named = [i for i in self.indexes if i.option == "--extra-index-url"]
        named += [i for i in self.indexes if i.option == "--index-url"][-1:]
        described = [i.describe() for i in named]
        no_index = next((i for i in self.indexes if i.option == "--no-index"), None)
        if no_index is not None:
            described = [f"no package index (--no-index, {no_index.where})"]
        elif not any(i.option == "--index-url" for i in named):
            described.append(f"{DEFAULT_INDEX} (the default index)")
        links = [i.describe() for i in self.indexes if i.option == "--find-links"]
        return described + links

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
    return _unmerged(reader.result)


def parse(app_dir: Path, text: str, label: str) -> Requirements:
    """Requirements from text made by a tool (``uv export``) or from a lock's entry,
    checked the same way; errors name ``label``."""
    root = app_dir.resolve()
    reader = _Reader(root, Requirements(label), root)
    reader.numbered = False
    reader.text(text, label, ".", constraint=False, depth=0)
    return _unmerged(reader.result)


def add(result: Requirements, app_dir: Path, text: str, label: str) -> None:
    """Add to ``result`` what ``text`` (lines a lock or project file gives) says, checked
    as a requirement file's lines are."""
    if "\n" in text or "\r" in text:  # one entry, one line: a value never adds options
        raise SpecError(label, None, "a value holds a line break", "write each value on one line")
    part = parse(app_dir, text, label)
    result.lines += [line for line in part.lines if line not in result.lines]
    result.files += [rel for rel in part.files if rel not in result.files]
    result.projects += [rel for rel in part.projects if rel not in result.projects]
    result.indexes += [index for index in part.indexes if index not in result.indexes]
    for name, where in part.origins.items():
        result.origins.setdefault(name, where)


def local_line(path: Any) -> str:
    """A path a lock or project file gives, as a line that is read as a path (``util``
    alone would be the package ``util`` from an index)."""
    text = _file_path(str(path))
    return text if text.startswith((".", "/")) else f"./{text}"


def hash_options(values: Any, where: str) -> str:
    """``--hash`` options of a lock's hashes, each checked (a value never adds options)."""
    listed = [str(value) for value in values] if isinstance(values, list) else []
    for value in listed:
        if not HASH.match(value):
            raise SpecError(where, None, f"'{value[:80]}' is not a hash", "lock again")
    return "".join(f" --hash={value}" for value in listed)


def redact(text: str) -> str:
    """``text`` with the credentials of any URL in it (``https://user:token@…``) hidden."""
    return USERINFO.sub("***@", text)


def _unmerged(result: Requirements) -> Requirements:
    """``result``, unless a ``--find-links`` would be merged with a package index."""
    options = {index.option for index in result.indexes}
    links = next((i for i in result.indexes if i.option == "--find-links"), None)
    if links is not None and "--no-index" not in options:
        raise SpecError(
            links.where, "--find-links",
            "uv merges these files with the package index, where a public package of the "
            "same name and a higher version would win",
            "add --no-index, name the wheel by its path (./wheels/x-1.0-py3-none-any.whl), "
            "or use --extra-index-url for an index",
        )  # fmt: skip
    return result


@dataclass
class _Reader:
    root: Path
    result: Requirements
    #: Where included files may be (the app, or the repository holding it).
    limit: Path
    #: Whether errors name line numbers (not in text a tool made up).
    numbered: bool = True
    #: Bytes and lines read so far, over all included files.
    size: int = 0
    lines: int = 0

    def file(self, rel: str, constraint: bool, depth: int) -> None:
        if rel in self.result.files:
            return  # included twice (or a cycle): once is enough
        if len(self.result.files) >= MAX_FILES:
            raise SpecError(rel, None, f"more than {MAX_FILES} files are included", "merge some")
        self.result.files.append(rel)
        text = read_text(self.root, rel, self.limit, MAX_REQUIREMENTS_BYTES)
        self.size += len(text)
        if self.size > MAX_TOTAL_BYTES:
            raise SpecError(rel, None, f"the included files exceed {MAX_TOTAL_BYTES >> 20} MiB "
                            "together", "include fewer, or smaller, files")  # fmt: skip
        self.text(text, rel, str(PurePosixPath(rel).parent), constraint, depth)

    def text(self, text: str, label: str, base: str, constraint: bool, depth: int) -> None:
        for number, line in _logical_lines(text):
            where = f"{label}:{number}" if self.numbered else label
            self.lines += 1
            if self.lines > MAX_LINES:
                raise SpecError(where, None, f"more than {MAX_LINES} lines are listed",
                                "split the requirements, or list fewer")  # fmt: skip
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
        elif name in INDEX_OPTIONS and not _is_url(value):
            raise SpecError(where, name, "must be an http(s) URL", "use an index URL")
        elif name in PASSED:
            if name in INDEX_OPTIONS or name == "--no-index":
                self.result.indexes.append(Index(INDEX_OPTIONS.get(name, name), value, where))
            self.result.lines.append(Line(line))
        else:
            raise SpecError(where, name, "is not an option uv reads", "remove the line")

    def _include(self, value: str, where: str, base: str, constraint: bool, depth: int) -> None:
        if depth >= MAX_DEPTH:
            raise SpecError(where, None, f"includes nest deeper than {MAX_DEPTH}", "flatten them")
        if _is_url(value):
            raise SpecError(
                where, None, f"{redact(value)} is a URL", "include files of the app only"
            )
        self.file(self._inside(base, value, where, self.limit), constraint, depth + 1)

    def _project(self, value: str, where: str) -> None:
        if _is_url(value) or "+" in value.split(":", 1)[0]:
            raise SpecError(
                where, "-e", "only a directory of the app can be editable", "drop the -e"
            )
        rel = self._inside(".", _file_path(value), where)
        if not (self.root / rel).is_dir():
            raise SpecError(where, "-e", f"{value} is not a directory", "fix the path")
        if rel not in self.result.projects:
            self.result.projects.append(rel)

    def _find_links(self, value: str, where: str, base: str) -> None:
        if _is_url(value):
            self.result.indexes.append(Index("--find-links", value, where))
            self.result.lines.append(Line(f"--find-links {value}"))
            return
        candidate = str(PurePosixPath(base) / value)
        relative_to = base if (self.root / candidate).exists() else "."
        rel = self._inside(relative_to, _file_path(value), where)
        self.result.indexes.append(Index("--find-links", rel, where))
        self.result.files.append(rel)
        self.result.lines.append(Line(f"--find-links {MARK}", rel))

    def _requirement(self, line: str, where: str, constraint: bool) -> None:
        spec, options = _split_options(line)
        target = _local_path(spec)
        if target is not None:
            self._local(spec, target, options, where)
            return
        _check_remote(spec, where)
        name = _name(spec)
        if name is None:
            raise SpecError(
                where, None, f"'{redact(spec)[:60]}' is not a requirement", "fix the line"
            )
        if name and not constraint:
            self.result.origins.setdefault(name, where)
        (self.result.constraints if constraint else self.result.lines).append(Line(line))

    def _local(self, spec: str, target: str, options: str, where: str) -> None:
        path, extras = _extras(target)
        rel = self._inside(".", _file_path(path), where)
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
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if raw.endswith("\\"):
            pending.append(raw[:-1])
            continue
        line = "".join([*pending, raw])
        comment = COMMENT.search(line)
        line = (line if comment is None else line[: comment.start()]).strip()
        pending = []
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
    """``./pkg[a,b]`` as ``./pkg`` and ``[a,b]``: the first ``[`` after any ``]`` before
    the last character (string searches: a regexp backtracks on ``[[[[…``)."""
    if not path.endswith("]"):
        return path, ""
    opening = path.find("[", path.rfind("]", 0, len(path) - 1) + 1)
    return (path, "") if opening < 0 else (path[:opening], path[opening:])


def _file_path(value: str) -> str:
    """The path of ``file:///x``, ``file:x`` or a plain path."""
    return value.removeprefix("file://").removeprefix("file:")


def _check_remote(spec: str, where: str) -> None:
    """A remote requirement's URL must name a remote place (see ``REMOTE_SCHEMES``)."""
    head = spec.split(";", 1)[0].strip()
    named = DIRECT.match(head)
    url = named.group(1) if named else head
    scheme, separator, _ = url.partition(":")
    if not separator or not (named or "://" in url or VCS.match(url)):
        return  # a name and version, not a URL
    if VCS.sub("", scheme.lower()) not in REMOTE_SCHEMES:
        raise SpecError(
            where, None, f"'{redact(url)[:60]}' is not an http(s), git or ssh URL",
            "install a file of the app by its path (./vendor/x-1.0-py3-none-any.whl)",
        )  # fmt: skip


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


def is_default_index(url: str) -> bool:
    return url.strip().rstrip("/") in DEFAULT_INDEXES


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))
