"""Detection of the Python version and constraint, from every version file's forms."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.detect import allowed_minors, detect, poetry
from shipway.detect.plan import BuildPlan
from shipway.errors import SpecError
from shipway.spec import load_spec
from tests.helpers.appdir import make_app


def plan_of(tmp_path: Path, files: dict[str, str]) -> BuildPlan:
    app = make_app(tmp_path, {"app.py": "print(1)\n", **files})
    return detect(app, load_spec(app))


PYPROJECT = '[project]\nname = "x"\nrequires-python = "{}"\n'
POETRY = '[tool.poetry]\nname = "x"\n[tool.poetry.dependencies]\npython = "{}"\n'


@pytest.mark.parametrize(
    ("files", "version", "source", "constraint"),
    [
        # .python-version: pyenv's and uv's forms
        ({".python-version": "3.13\n"}, "3.13", ".python-version", None),
        ({".python-version": "3.13"}, "3.13", ".python-version", None),
        ({".python-version": "\ufeff3.11\r\n"}, "3.11", ".python-version", None),
        (
            {".python-version": "# pinned for prod\n\n  3.12.4  \n"},
            "3.12.4",
            ".python-version",
            None,
        ),
        ({".python-version": "cpython-3.12.4\n"}, "3.12.4", ".python-version", None),
        ({".python-version": "python-3.12\n"}, "3.12", ".python-version", None),
        ({".python-version": "python3.11\n"}, "3.11", ".python-version", None),
        ({".python-version": "cpython@3.11\n"}, "3.11", ".python-version", None),
        (
            {".python-version": "cpython-3.12.4-linux-x86_64-gnu\n"},
            "3.12.4",
            ".python-version",
            None,
        ),
        ({".python-version": "3.11 3.12\n"}, "3.11", ".python-version", None),
        ({".python-version": "3.10\n3.12\n"}, "3.10", ".python-version", None),
        ({".python-version": "3.7\n3.12\n"}, "3.12", ".python-version", None),
        ({".python-version": "system\n3.11\n"}, "3.11", ".python-version", None),
        ({".python-version": "3\n"}, "3.12", ".python-version", None),
        ({".python-version": ">=3.13\n"}, "3.13", ".python-version", None),
        ({".python-version": "3.8\n"}, "3.8", ".python-version", None),
        # uv: the first version requires-python allows wins
        (
            {".python-version": "3.11\n3.13\n", "pyproject.toml": PYPROJECT.format(">=3.12")},
            "3.13",
            ".python-version",
            ">=3.12",
        ),
        # runtime.txt (Heroku)
        ({"runtime.txt": "python-3.12.4\n"}, "3.12.4", "runtime.txt", None),
        ({"runtime.txt": "python-3.12.4  \n\n"}, "3.12.4", "runtime.txt", None),
        ({"runtime.txt": "python-3.11"}, "3.11", "runtime.txt", None),
        ({"runtime.txt": "3.11.2\n"}, "3.11.2", "runtime.txt", None),
        # asdf / mise
        (
            {".tool-versions": "nodejs 20.1.0\npython 3.12.1 3.11.0 # main\n"},
            "3.12.1",
            ".tool-versions",
            None,
        ),
        # Pipfile
        ({"Pipfile": '[requires]\npython_version = "3.11"\n'}, "3.11", "Pipfile", "==3.11.*"),
        (
            {"Pipfile": '[requires]\npython_version = "3.11"\npython_full_version = "3.11.4"\n'},
            "3.11.4",
            "Pipfile",
            "==3.11.*",
        ),
        # requires-python and Poetry's python: the default when allowed, else the nearest
        ({"pyproject.toml": PYPROJECT.format(">=3.10")}, "3.12", "pyproject.toml", ">=3.10"),
        ({"pyproject.toml": PYPROJECT.format("<3.11")}, "3.10", "pyproject.toml", "<3.11"),
        ({"pyproject.toml": PYPROJECT.format(">=3.13")}, "3.13", "pyproject.toml", ">=3.13"),
        ({"pyproject.toml": POETRY.format("^3.10")}, "3.12", "pyproject.toml", "<4,>=3.10"),
        ({"pyproject.toml": POETRY.format("~3.11")}, "3.11", "pyproject.toml", "<3.12,>=3.11"),
        ({"pyproject.toml": POETRY.format("*")}, "3.12", "default", None),
        (
            {
                "pyproject.toml": PYPROJECT.format(">=3.9")
                + '[tool.poetry.dependencies]\npython = "<3.12"\n'
            },
            "3.11",
            "pyproject.toml",
            "<3.12,>=3.9",
        ),
        ({}, "3.12", "default", None),
    ],
)
def test_version_files(
    tmp_path: Path, files: dict[str, str], version: str, source: str, constraint: str | None
) -> None:
    plan = plan_of(tmp_path, files)
    assert (plan.python_version, plan.python_version_source) == (version, source)
    assert plan.python_constraint == constraint
    assert plan.warnings == []


@pytest.mark.parametrize(
    ("files", "source"),
    [
        (
            {"shipway.yaml": "name: a\nruntime: python-3.9\n", "runtime.txt": "python-3.11.0"},
            "app spec",
        ),
        ({"runtime.txt": "python-3.9.1", ".python-version": "3.10"}, "runtime.txt"),
        ({".python-version": "3.9", ".tool-versions": "python 3.10.1"}, ".python-version"),
        (
            {".tool-versions": "python 3.9.1", "Pipfile": '[requires]\npython_version = "3.9"\n'},
            ".tool-versions",
        ),
        (
            {
                "Pipfile": '[requires]\npython_version = "3.9"\n',
                "pyproject.toml": PYPROJECT.format(">=3.9"),
            },
            "Pipfile",
        ),
    ],
)
def test_precedence(tmp_path: Path, files: dict[str, str], source: str) -> None:
    plan = plan_of(tmp_path, files)
    assert plan.python_version_source == source
    assert plan.python_version.startswith("3.9")


def test_a_pin_the_constraint_excludes_is_kept_with_a_warning(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path, {"runtime.txt": "python-3.11.9", "pyproject.toml": PYPROJECT.format(">=3.12")}
    )
    assert (plan.python_version, plan.python_constraint) == ("3.11.9", ">=3.12")
    assert plan.warnings == [
        "runtime.txt asks for Python 3.11.9, which pyproject.toml "
        "project.requires-python '>=3.12' does not allow"
    ]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"runtime.txt": "ruby-3.2\n"},
            "runtime.txt:1: runtime: 'ruby-3.2' is not a Python runtime; write e.g. 'python-3.12.4'",
        ),
        ({"runtime.txt": "\n"}, "runtime.txt:1: runtime: '' is not a Python runtime"),
        (
            {".python-version": "2.7\n"},
            ".python-version:1: version: Python 2.7 is not supported; use one of 3.8,",
        ),
        (
            {".python-version": "# old\n3.12.4/envs/web\n"},
            ".python-version:2: version: '3.12.4/envs/web' names a pyenv virtualenv",
        ),
        (
            {".python-version": "pypy3.10-7.3.12\n"},
            ".python-version:1: version: 'pypy3.10-7.3.12' is not CPython",
        ),
        (
            {".python-version": "3.13t\n"},
            ".python-version:1: version: '3.13t' is not a CPython release",
        ),
        ({".python-version": "3.12-dev\n"}, "'3.12-dev' is not a CPython release"),
        (
            {".python-version": "latest\n"},
            ".python-version:1: version: 'latest' is not a Python version",
        ),
        (
            {".python-version": "<3.0\n"},
            ".python-version:1: version: no supported Python matches '<3.0'",
        ),
        (
            {".tool-versions": "python 2.7.18\n"},
            ".tool-versions:1: version: Python 2.7.18 is not supported",
        ),
        (
            {"Pipfile": '[requires]\npython_version = "three"\n'},
            "Pipfile: requires.python_version: is not a Python version",
        ),
        (
            {"Pipfile": "[requires]\npython_version = 3.1\n"},
            "Pipfile: requires.python_version: is not a Python version",
        ),
        (
            {"Pipfile": '[requires]\npython_version = "2.7"\n'},
            "Pipfile: version: Python 2.7 is not supported",
        ),
        (
            {"pyproject.toml": PYPROJECT.format("<3.0")},
            "pyproject.toml: project.requires-python: no supported Python satisfies '<3.0'",
        ),
        (
            {"pyproject.toml": PYPROJECT.format("3.11")},
            "pyproject.toml: project.requires-python: '3.11' is not a specifier",
        ),
        (
            {"pyproject.toml": POETRY.format("^three")},
            "pyproject.toml: tool.poetry.dependencies.python: '^three' is not a version constraint",
        ),
        ({"pyproject.toml": "[project\n"}, "pyproject.toml: invalid TOML"),
    ],
)
def test_bad_version_files(tmp_path: Path, files: dict[str, str], message: str) -> None:
    with pytest.raises(SpecError) as caught:
        plan_of(tmp_path, files)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("constraint", "pep440"),
    [
        ("^3.10", "<4,>=3.10"),
        ("^3", "<4,>=3"),
        ("^3.10.2", "<4,>=3.10.2"),
        ("^0.2.3", "<0.3,>=0.2.3"),
        ("^0.0.3", "<0.0.4,>=0.0.3"),
        ("^0.0", "<0.1,>=0.0"),
        ("~3.11", "<3.12,>=3.11"),
        ("~3.11.2", "<3.12,>=3.11.2"),
        ("~3", "<4,>=3"),
        ("~=3.10", "~=3.10"),
        ("3.11.*", "==3.11.*"),
        ("3.*", "==3.*"),
        ("3.11", "==3.11.*"),
        ("3.11.4", "==3.11.4"),
        ("=3.11.4", "==3.11.4"),
        (">= 3.9, < 3.13", "<3.13,>=3.9"),
        (">=3.9 <3.13", "<3.13,>=3.9"),
        (">=3.9,!=3.10.*", "!=3.10.*,>=3.9"),
        ("*", ""),
        (">=3.8,<3.9 || >=3.10", "!=3.9.*,>=3.8"),
        ("3.8.* | 3.10.*", "!=3.9.*,<3.11,>=3.8"),
        ("^3.9 || ^4.0", ">=3.9"),
    ],
)
def test_poetry_constraints(constraint: str, pep440: str) -> None:
    assert poetry.to_pep440(constraint) == pep440


@pytest.mark.parametrize("constraint", ["^three", "foo", "", ">=", "^", "3.x", "<2.0 || <2.5"])
def test_bad_poetry_constraints(constraint: str) -> None:
    with pytest.raises(ValueError):
        poetry.to_pep440(constraint)


@pytest.mark.parametrize(
    ("version", "constraint", "source", "offered", "allowed"),
    [
        ("3.12", None, ".python-version", ["3.11", "3.13", "3.14"], ["3.13", "3.14"]),
        ("3.13", None, ".python-version", ["3.11", "3.13", "3.14"], ["3.13", "3.14"]),
        ("3.13.1", None, "runtime.txt", ["3.13", "3.11"], ["3.13"]),
        ("3.8.6", None, ".python-version", ["3.13", "3.11"], ["3.11", "3.13"]),
        ("3.12", ">=3.10,<3.14", "pyproject.toml", ["3.11", "3.13", "3.14"], ["3.13", "3.11"]),
        ("3.12", "<3.13,>=3.10", "default", ["3.14"], []),
        ("3.11", "==3.11.*", "Pipfile", ["3.13", "3.14"], []),
        ("3.12", None, "default", ["3.11"], ["3.11"]),
        ("3.12", None, "app spec", ["3.11"], []),
        ("3.12", None, "default", ["latest", "3.x", "3.11", "3.11"], ["3.11"]),
    ],
)
def test_allowed_minors(
    tmp_path: Path,
    version: str,
    constraint: str | None,
    source: str,
    offered: list[str],
    allowed: list[str],
) -> None:
    plan = plan_of(tmp_path, {}).model_copy(
        update={
            "python_version": version,
            "python_constraint": constraint,
            "python_version_source": source,
        }
    )
    assert allowed_minors(plan, offered) == allowed


def test_allowed_minors_of_a_detected_plan(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, {"pyproject.toml": POETRY.format("^3.9"), ".python-version": "3.8"})
    assert (plan.python_version, plan.python_constraint) == ("3.8", "<4,>=3.9")
    assert allowed_minors(plan, ["3.11", "3.13"]) == ["3.11", "3.13"]
