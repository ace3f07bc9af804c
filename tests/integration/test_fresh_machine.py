"""`make demo` on a machine where nothing was installed before.

CI runs on a machine where earlier work left packages behind, so a demo that forgets to
install something can pass there and fail for a new user. This test copies the repository
into a fresh Debian root (the debootstrapped base, run under the Docker engine, with only
Go and the host's CA bundle lent to it), runs the demo's set-up there, then checks that
every command the demo's scripts call — read from the scripts themselves with shfmt's
parser, so a new command is checked as soon as a script uses it — is present. Commands a
script installs itself right before it needs them (``apt_need``) are installed the same
way there first, which checks that each names the package that really provides it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

HACK = ROOT / "hack"
#: The scripts `make demo` runs on the host (the addon entrypoints run inside images).
DEMO_SCRIPTS = [
    HACK / "demo.sh",
    HACK / "demo-setup.sh",
    HACK / "setup.sh",
    HACK / "cluster-up.sh",
    HACK / "lib" / "apt.sh",
    HACK / "infra" / "base-rootfs.sh",
    HACK / "infra" / "registry.sh",
    HACK / "images" / "build.sh",
    *sorted(p for p in (HACK / "cluster").glob("*.sh") if p.name != "down.sh"),
]
#: Commands and functions that run the command at this argument index (options skipped).
WRAPPERS = {"start": 2, "wait_for": 3, "setsid": 1, "xargs": 1, "exec": 1}
GO = Path("/usr/local/go")  # a prerequisite, like Python: lent, not installed
CA_BUNDLE = Path(os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt")


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _literal(word: dict[str, Any]) -> str | None:
    parts = word.get("Parts", [])
    if len(parts) == 1 and parts[0].get("Type") == "Lit":
        return str(parts[0]["Value"])
    return None


def _called_by(args: list[dict[str, Any]]) -> Iterator[str]:
    """The command a call runs, and the one it wraps (``setsid etcd …``)."""
    words = [_literal(arg) for arg in args]
    index = 0
    while index < len(words):
        name = words[index]
        if name and name.startswith(("/usr/", "/bin/", "/sbin/")):
            name = name.rsplit("/", 1)[1]  # a system command called by its path
        if name is None or "/" in name:
            return
        yield name
        skip = WRAPPERS.get(name)
        if skip is None:
            return
        index += skip
        while index < len(words) and (words[index] or "").startswith("-"):
            index += 1


def _calls(scripts: list[Path]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Every call in the scripts, as (kind, arguments): "call" or "function" (declared)."""
    for script in scripts:
        tree = json.loads(
            subprocess.run(
                ["shfmt", "--tojson"],
                input=script.read_text(),
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for node in _walk(tree):
            if node.get("Type") == "FuncDecl":
                yield "function", [node["Name"]]
            elif node.get("Type") == "CallExpr" and node.get("Args"):
                yield "call", node["Args"]


def commands_called(scripts: list[Path]) -> set[str]:
    """The external commands the scripts call: first words of simple commands that are
    plain names, less the scripts' own functions and bash's builtins and keywords."""
    called: set[str] = set()
    functions: set[str] = set()
    for kind, args in _calls(scripts):
        if kind == "function":
            functions.add(str(args[0]["Value"]))
        else:
            called.update(_called_by(args))
    builtins = subprocess.run(
        ["bash", "-c", "compgen -b; compgen -k"], capture_output=True, text=True, check=True
    ).stdout.split()
    return called - functions - set(builtins)


def installed_on_demand(scripts: list[Path]) -> list[str]:
    """The COMMAND=PACKAGE pairs of every ``apt_need`` call."""
    pairs = {
        word
        for kind, args in _calls(scripts)
        if kind == "call" and _literal(args[0]) == "apt_need"
        for word in map(_literal, args[2:])
        if word and "=" in word
    }
    return sorted(pairs)


@pytest.fixture(scope="module")
def fresh_image(docker_engine: str, base_rootfs: tuple[Path, str]) -> str:
    """The debootstrapped Debian bookworm root as an image: what a bare machine has."""
    tag = "shipway-fresh-machine:bookworm"
    subprocess.run(
        [docker_engine, "import", str(base_rootfs[0]), tag], check=True, capture_output=True
    )
    return tag


def _repository_copy(dest: Path) -> Path:
    """The tracked files of the checkout, as a clone would have them."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def test_the_demo_setup_installs_every_command_the_demo_calls(
    docker_engine: str, fresh_image: str, tmp_path: Path
) -> None:
    wanted = commands_called(DEMO_SCRIPTS)
    assert {"debootstrap", "curl", "containerd", "etcd", "docker-registry", "go"} <= wanted
    assert {"kubernetes-validate", "shipway", "gcc", "iptables"} <= wanted
    on_demand = installed_on_demand(DEMO_SCRIPTS)
    assert "htpasswd=apache2-utils" in on_demand
    repo = _repository_copy(tmp_path / "repo")
    bare = _missing_in_container(docker_engine, fresh_image, repo, wanted, [], setup=False)
    assert {"debootstrap", "etcd", "shipway"} <= set(bare)  # the root really is bare
    missing = _missing_in_container(docker_engine, fresh_image, repo, wanted, on_demand, True)
    assert missing == [], f"hack/demo-setup.sh left these commands missing: {missing}"


def _missing_in_container(
    docker: str, image: str, repo: Path, wanted: set[str], on_demand: list[str], setup: bool
) -> list[str]:
    """The commands of ``wanted`` missing in a fresh container of ``image``, after the
    demo's set-up and the scripts' own installs when ``setup``."""
    install = (
        f"{{ hack/demo-setup.sh && . hack/lib/apt.sh && apt_need test {' '.join(on_demand)}; }}"
        " >/tmp/setup.log 2>&1 || { tail -40 /tmp/setup.log; exit 3; }; "
    )
    script = (
        "set -e; cp -a /src /demo; cd /demo; "
        + (install if setup else "")
        + 'export PATH="/demo/.venv/bin:/usr/local/go/bin:/usr/local/sbin:/usr/sbin:/sbin:$PATH"; '
        + f'for c in {" ".join(sorted(wanted))}; do command -v "$c" >/dev/null || echo "missing $c"; done'
    )
    result = subprocess.run(
        [
            docker,
            "run",
            "--rm",
            "-v",
            f"{repo}:/src:ro",
            "-v",
            f"{GO}:{GO}:ro",
            "-v",
            f"{CA_BUNDLE}:/etc/ssl/certs/host-ca.pem:ro",
            "-e",
            "PIP_CERT=/etc/ssl/certs/host-ca.pem",
            "-e",
            "SSL_CERT_FILE=/etc/ssl/certs/host-ca.pem",
            image,
            "bash",
            "-c",
            script,
        ],
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert result.returncode == 0, (
        f"the demo's set-up failed:\n{result.stdout[-4000:]}{result.stderr[-2000:]}"
    )
    return sorted(
        line.split()[1] for line in result.stdout.splitlines() if line.startswith("missing ")
    )
