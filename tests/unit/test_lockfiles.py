"""Reading what an app installs, without installing it: requirement files and their
includes, Poetry constraints and locks, Pipfile(.lock), packages and their key inputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipway.detect.plan import Dependencies
from shipway.errors import ShipwayError, SpecError
from shipway.image import appproject, editable, installer, lockfiles, poetry, reqfiles
from shipway.image.config import WORKDIR
from shipway.image.target import Target
from tests.helpers.appdir import make_app

TARGET = Target("3.12", "x86_64-manylinux_2_28")


def read(app: Path, rel: str = "requirements.txt") -> reqfiles.Requirements:
    return reqfiles.read(app, rel)


def test_includes_are_followed_relative_to_their_file_and_all_listed(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {
            "requirements.txt": "-r requirements/prod.txt\n",
            "requirements/prod.txt": "-r base.txt\n-c ../constraints.txt\nsix  # pinned below\n",
            "requirements/base.txt": "idna\\\n  >=3\n-r prod.txt\n",  # a cycle is read once
            "constraints.txt": "six==1.16.0\n",
        },
    )
    req = read(app)
    assert req.files == [
        "requirements.txt", "requirements/prod.txt", "requirements/base.txt", "constraints.txt",
    ]  # fmt: skip
    assert req.render(app) == "idna  >=3\nsix\n"
    assert req.render(app, constraints=True) == "six==1.16.0\n"
    assert req.origins == {"idna": "requirements/base.txt:1", "six": "requirements/prod.txt:3"}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("-r ../../etc/x", "requirements.txt:1: ../../etc/x is outside the app directory"),
        ("-c /etc/passwd", "requirements.txt:1: /etc/passwd is outside the app directory"),
        ("--requirement=link.txt", "requirements.txt:1: link.txt is outside the app directory"),
        ("-r https://example.org/r.txt", "requirements.txt:1: https://example.org/r.txt is a URL"),
        ("-f /tmp", "requirements.txt:1: /tmp is outside the app directory"),
        ("-e ../lib", "requirements.txt:1: ../lib is outside the app directory"),
        ("../lib/x-1.0-py3-none-any.whl", "requirements.txt:1: ../lib/x-1.0-py3-none-any.whl is"),
        ("-i file:///etc/index", "requirements.txt:1: -i: must be an http(s) URL"),
        ("pkg @ https://${TOKEN}@example.org/p.whl", "requirements.txt:1: environment variables"),
        ("--global-option=x", "requirements.txt:1: --global-option: is not an option uv reads"),
        ("-r missing.txt", "missing.txt: does not exist"),
        ("not a requirement!", "requirements.txt:1: 'not a requirement!' is not a requirement"),
    ],
)
def test_lines_that_would_read_outside_the_app_are_refused(
    tmp_path: Path, line: str, message: str
) -> None:
    app = make_app(tmp_path, {"requirements.txt": f"{line}\n"})
    (app / "link.txt").symlink_to("/etc/hostname")
    with pytest.raises(SpecError) as caught:
        read(app)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_includes_nest_to_a_bounded_depth(tmp_path: Path) -> None:
    files = {f"r{i}.txt": f"-r r{i + 1}.txt\n" for i in range(12)}
    app = make_app(tmp_path, {**files, "requirements.txt": "-r r0.txt\n", "r12.txt": "six\n"})
    with pytest.raises(SpecError, match="includes nest deeper than 8"):
        read(app)


def test_local_projects_wheels_and_links_stay_in_the_app(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {
            "requirements.txt": (
                "-e .\n./libs/util\nvendor/tiny-1.0-py3-none-any.whl --hash=sha256:00\n"
                "other @ file:vendor/other-2.0.tar.gz ; python_version >= '3'\n"
                "--find-links wheels\n--no-index\n--extra-index-url https://example.org/simple\n"
                "git+https://example.org/x.git@v1#egg=x\n"
            ),
            "libs/util/pyproject.toml": "",
            "vendor/tiny-1.0-py3-none-any.whl": "",
            "vendor/other-2.0.tar.gz": "",
            "wheels/a.whl": "",
        },
    )
    req = read(app)
    assert req.projects == [".", "libs/util"]
    assert req.files == [
        "requirements.txt", "vendor/tiny-1.0-py3-none-any.whl", "vendor/other-2.0.tar.gz",
        "wheels",
    ]  # fmt: skip
    assert req.render(Path("/copy")).splitlines() == [
        "/copy/vendor/tiny-1.0-py3-none-any.whl --hash=sha256:00",
        "other @ file:///copy/vendor/other-2.0.tar.gz ; python_version >= '3'",
        "--find-links /copy/wheels",
        "--no-index",
        "--extra-index-url https://example.org/simple",
        "git+https://example.org/x.git@v1#egg=x",
    ]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["..", ".", "sub", "link", "/etc", "r.txt"]), min_size=1))
def test_no_include_path_escapes_the_app(tmp_path_factory: pytest.TempPathFactory,
                                         parts: list[str]) -> None:  # fmt: skip
    root = tmp_path_factory.mktemp("prop")
    app = make_app(root, {"sub/r.txt": "six\n", "r.txt": "idna\n"})
    (app / "link").symlink_to(root)
    (app / "requirements.txt").write_text(f"-r {os.path.join(*parts)}\n")
    try:
        req = read(app)
    except SpecError:
        return
    real = app.resolve()
    assert all((real / rel).resolve().is_relative_to(real) for rel in req.files)


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        ("^1.2.3", [">=1.2.3,<2"]),
        ("^0.2.3", [">=0.2.3,<0.3"]),
        ("^0.0.3", [">=0.0.3,<0.0.4"]),
        ("~1.2", [">=1.2,<1.3"]),
        ("~1", [">=1,<2"]),
        ("*", [""]),
        ("1.2.*", ["==1.2.*"]),
        ("1.2", ["==1.2"]),
        (">= 1.2, < 2", ["<2,>=1.2"]),
        (">=1.2 <2.0", ["<2.0,>=1.2"]),
        ("~=2.1", ["~=2.1"]),
        ("^1.0 || ^3.0", [">=1.0,<2", ">=3.0,<4"]),
    ],
)
def test_poetry_constraints_as_pep440(constraint: str, expected: list[str]) -> None:
    got = [str(s) for s in poetry.constraint(constraint)]
    assert [",".join(sorted(g.split(","))) for g in got] == [
        ",".join(sorted(e.split(","))) for e in expected
    ]


POETRY_DEPS = """
[tool.poetry.dependencies]
python = "^3.11"
six = "^1.16"
requests = {version = "~2.31", extras = ["socks"]}
idna = {version = "*", optional = true}
tomli = {version = "^2", python = "<3.11"}
colorama = {version = "^0.4", markers = "sys_platform == 'win32'"}
util = {path = "libs/util", develop = true}
lib = {git = "https://example.org/lib.git", tag = "v1"}
"""


def test_poetry_constraints_without_a_lock(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"pyproject.toml": POETRY_DEPS, "libs/util/x.py": ""})
    req = poetry.declared(app.resolve(), TARGET)
    assert req.render(app) == (
        "six<2,>=1.16\nrequests[socks]<2.32,>=2.31\nlib @ git+https://example.org/lib.git@v1\n"
    )
    assert req.projects == ["libs/util"]


def test_a_poetry_union_needs_the_lock(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"pyproject.toml": '[tool.poetry.dependencies]\nx = "^1 || ^3"\n'})
    with pytest.raises(SpecError, match=r"^pyproject.toml: tool.poetry.dependencies.x: .*lock"):
        poetry.declared(app.resolve(), TARGET)


#: A Poetry 1.8 lock: no groups, no package markers; the graph says what main needs.
LOCK_18 = """
[[package]]
name = "click"
version = "8.1.7"
optional = false
python-versions = ">=3.7"
[package.dependencies]
colorama = {version = "*", markers = "platform_system == \\"Windows\\""}

[[package]]
name = "colorama"
version = "0.4.6"
optional = false
python-versions = "*"

[[package]]
name = "requests"
version = "2.31.0"
optional = false
python-versions = ">=3.7"
[package.dependencies]
idna = ">=2.5,<4"
PySocks = {version = ">=1.5.6,<1.5.7 || >1.5.7", optional = true}
[package.extras]
socks = ["PySocks (>=1.5.6,!=1.5.7)"]

[[package]]
name = "idna"
version = "3.6"
optional = false
python-versions = ">=3.5"

[[package]]
name = "pysocks"
version = "1.7.1"
optional = true
python-versions = "*"

[[package]]
name = "numpy"
version = "1.24.4"
optional = false
python-versions = ">=3.8"

[[package]]
name = "numpy"
version = "1.26.4"
optional = false
python-versions = ">=3.9"

[[package]]
name = "pytest"
version = "8.0.0"
optional = false
python-versions = ">=3.8"

[package.source]
type = "legacy"
url = "https://pypi.example.org/simple"
reference = "internal"
"""

PYPROJECT_18 = """
[tool.poetry.dependencies]
python = "^3.9"
click = "^8.1"
requests = {version = "^2.31", extras = ["socks"]}
numpy = [
  {version = "~1.24", python = "<3.9"},
  {version = "^1.26", python = ">=3.9"},
]
[tool.poetry.group.dev.dependencies]
pytest = "^8"
"""


def test_poetry_lock_walks_from_the_main_dependencies(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"pyproject.toml": PYPROJECT_18, "poetry.lock": LOCK_18})
    req = poetry.locked(app.resolve(), TARGET)
    assert req.render(app).splitlines() == [
        "click==8.1.7", "idna==3.6", "numpy==1.26.4", "pysocks==1.7.1", "requests==2.31.0",
    ]  # fmt: skip
    assert req.complete and req.files == ["pyproject.toml", "poetry.lock"]


def test_poetry_2_lock_with_groups_markers_and_sources(tmp_path: Path) -> None:
    lock = """
[[package]]
name = "six"
version = "1.16.0"
optional = false
groups = ["main"]
markers = {main = "python_version >= '3.8'"}

[[package]]
name = "winonly"
version = "1.0"
optional = false
groups = ["main"]
markers = "sys_platform == 'win32'"

[[package]]
name = "util"
version = "0.1.0"
optional = false
groups = ["main"]
develop = true
[package.source]
type = "directory"
url = "libs/util"

[[package]]
name = "lib"
version = "1.0"
optional = false
groups = ["main"]
[package.source]
type = "git"
url = "https://example.org/lib.git"
reference = "v1"
resolved_reference = "abc123"
"""
    pyproject = (
        '[project]\nname = "app"\nversion = "1"\n'
        'dependencies = ["six>=1.16", "winonly ; sys_platform == \'win32\'", "util", "lib"]\n'
        "[tool.poetry]\npackage-mode = false\n"
    )
    app = make_app(
        tmp_path, {"pyproject.toml": pyproject, "poetry.lock": lock, "libs/util/a.py": ""}
    )
    req = poetry.locked(app.resolve(), TARGET)
    assert req.render(app).splitlines() == ["lib @ git+https://example.org/lib.git@abc123",
                                            "six==1.16.0"]  # fmt: skip
    assert req.projects == ["libs/util"]


def test_a_lock_missing_a_main_dependency_says_to_lock_again(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {"pyproject.toml": '[tool.poetry.dependencies]\nsix = "^1"\n', "poetry.lock": ""},
    )
    with pytest.raises(SpecError, match=r"^poetry.lock: has no six, .*`poetry lock`"):
        poetry.locked(app.resolve(), TARGET)


def test_pipfile_lock_default_section_only(tmp_path: Path) -> None:
    lock = """{"_meta": {}, "default": {
      "six": {"version": "==1.16.0", "markers": "python_version >= '2.7'", "hashes": []},
      "requests": {"version": "==2.31.0", "extras": ["socks"]},
      "app": {"editable": true, "path": "."}},
      "develop": {"pytest": {"version": "==8.0.0"}}}"""
    app = make_app(tmp_path, {"Pipfile": "[packages]\nsix = '*'\n", "Pipfile.lock": lock})
    req = lockfiles.select(app.resolve(), Dependencies(kind="pipfile", file="Pipfile"),
                           TARGET, package=False)  # fmt: skip
    assert req.render(app).splitlines() == [
        "requests[socks]==2.31.0", "six==1.16.0 ; python_version >= '2.7'",
    ]  # fmt: skip
    assert req.projects == ["."] and req.complete and req.files == ["Pipfile.lock"]


def test_pipfile_without_a_lock(tmp_path: Path) -> None:
    pipfile = (
        '[packages]\nsix = "*"\nidna = {version = ">=3", markers = "os_name == \'posix\'"}\n'
        '[dev-packages]\npytest = "*"\n'
    )
    app = make_app(tmp_path, {"Pipfile": pipfile})
    req = lockfiles.select(app.resolve(), Dependencies(kind="pipfile", file="Pipfile"),
                           TARGET, package=False)  # fmt: skip
    assert req.render(app).splitlines() == ["idna>=3 ; os_name == 'posix'", "six"]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"pyproject.toml": "[build-system]\nrequires = ['hatchling']\n"}, True),
        ({"pyproject.toml": "[project]\nname = 'a'\n"}, False),
        ({"pyproject.toml": "[tool.poetry]\npackage-mode = false\n[build-system]\n"}, False),
        ({"pyproject.toml": "[tool.uv]\npackage = true\n"}, True),
        ({"pyproject.toml": "[tool.uv]\npackage = false\n[build-system]\n"}, False),
        ({"setup.py": ""}, True),
        ({"requirements.txt": ""}, False),
    ],
)
def test_is_package(tmp_path: Path, files: dict[str, str], expected: bool) -> None:
    assert appproject.is_package(make_app(tmp_path, files).resolve()) is expected


def test_key_inputs_take_the_version_line_of_a_module_and_the_whole_version_file(
    tmp_path: Path,
) -> None:
    app = make_app(
        tmp_path,
        {
            "pyproject.toml": (
                "[project]\nname = 'a'\ndynamic = ['version']\n"
                "[tool.setuptools.dynamic]\nversion = {attr = 'a.__version__'}\n"
                "readme = {file = ['README.md']}\n"
            ),
            "src/a/__init__.py": "import os\n__version__ = '1.0'\ndef app(): ...\n",
            "README.md": "# A\n",
        },
    )
    inputs = dict(appproject.key_inputs(app.resolve()))
    assert inputs["src/a/__init__.py"] == b"__version__ = '1.0'"
    assert inputs["README.md"] == b"# A\n" and "pyproject.toml" in inputs


def test_uv_messages_name_the_package_without_wheels() -> None:
    direct = "hint: Wheels are required for `psycopg2` because building from source is disabled"
    transitive = "Because foo==1 depends on Psycopg2==2.9 and psycopg2==2.9 has no usable wheels"
    assert installer.no_wheel(direct) == "psycopg2"
    assert installer.no_wheel(transitive) == "psycopg2"
    assert installer.no_wheel("error: No solution found: flask>9 was not found") is None


def test_the_image_app_dir_is_the_config_workdir() -> None:
    assert editable.APP_DIR == WORKDIR


def test_a_project_path_outside_the_app_is_refused(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"pyproject.toml": '[tool.poetry.dependencies]\nu = {path="../u"}\n'})
    with pytest.raises(ShipwayError, match=r"^pyproject.toml: tool.poetry.dependencies.u: "):
        poetry.declared(app.resolve(), TARGET)


def test_a_repository_context_lets_includes_reach_its_shared_files_only(tmp_path: Path) -> None:
    repo = make_app(
        tmp_path,
        {
            "requirements/common.txt": "flask==3.1.2\n",
            "services/api/requirements.txt": "-r ../../requirements/common.txt\n",
            "services/api/deep.txt": "-r ../../../outside.txt\n",
            "services/api/lib.txt": "-e ../../libs/x\n",
            "libs/x/pyproject.toml": "",
        },
        "repo",
    )
    api = repo / "services" / "api"
    with pytest.raises(SpecError, match=r"\.\./\.\./requirements/common\.txt is outside the app"):
        reqfiles.read(api, "requirements.txt")
    req = reqfiles.read(api, "requirements.txt", context=repo)
    assert req.files == ["requirements.txt", "../../requirements/common.txt"]
    assert req.origins == {"flask": "../../requirements/common.txt:1"}
    for escaping in ("deep.txt", "lib.txt"):  # beyond the repository; a project outside the app
        with pytest.raises(SpecError, match="is outside the app directory"):
            reqfiles.read(api, escaping, context=repo)
