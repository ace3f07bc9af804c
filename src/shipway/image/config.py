"""The image config: the base image's, plus our layers, environment and start command."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shipway.detect.plan import BuildPlan
from shipway.image.deps import DEPS_DIR
from shipway.image.layer import Layer
from shipway.image.oci import EPOCH_ISO
from shipway.objects import APP_UID

WORKDIR = "/app"


def image_config(
    base: dict[str, Any], plan: BuildPlan, app: str, layers: list[Layer], labels: dict[str, str]
) -> dict[str, Any]:
    inner = dict(base.get("config") or {})
    env = _env(inner.get("Env") or [], plan.port)
    inner.pop("Entrypoint", None)  # the command below is the whole command line
    # An app's own Dockerfile gives the command when the daemonless builder builds it.
    argv = (plan.web.argv if plan.web else None) or plan.dockerfile_command
    inner |= {
        "Env": env,
        "Cmd": argv or inner.get("Cmd") or ["python3"],
        "WorkingDir": WORKDIR,
        "User": f"{APP_UID}:{APP_UID}",
        "ExposedPorts": {f"{plan.port}/tcp": {}},
        "Labels": {**(inner.get("Labels") or {}), **labels, "dev.shipway.app": app},
    }
    history = list(base.get("history") or [])
    history += [
        {"created": EPOCH_ISO, "created_by": f"shipway: {what}"}
        for what in ("dependencies", "app source")
    ]
    config: dict[str, Any] = {
        "created": EPOCH_ISO,
        "architecture": base.get("architecture", "amd64"),
        "os": base.get("os", "linux"),
        "config": inner,
        "rootfs": {
            "type": "layers",
            "diff_ids": [
                *((base.get("rootfs") or {}).get("diff_ids") or []),
                *(layer.diff_id for layer in layers),
            ],
        },
        "history": history,
    }
    if base.get("variant"):
        config["variant"] = base["variant"]
    return config


def _env(base_env: list[str], port: int) -> list[str]:
    values = dict(item.partition("=")[::2] for item in base_env)
    path = values.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    values |= {
        "PATH": f"/{DEPS_DIR}/bin:{path}",
        "PYTHONPATH": f"/{DEPS_DIR}",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PORT": str(port),
    }
    return [f"{key}={value}" for key, value in values.items()]


def source_labels(app_dir: Path) -> dict[str, str]:
    """OCI labels naming the source: its git remote and commit, when it is a git checkout."""
    return source_labels_later(app_dir)()


#: How far above an app's directory its git work tree is looked for.
MAX_DEPTH = 32


def git_work_tree(path: Path) -> Path | None:
    """The directory holding ``.git`` at or above ``path`` (None: not in a work tree)."""
    start = path.resolve()
    return next(
        (p for p in [start, *list(start.parents)[:MAX_DEPTH]] if (p / ".git").exists()), None
    )


def source_labels_later(app_dir: Path) -> Callable[[], dict[str, str]]:
    """``source_labels``, its two questions to git started now and answered by the call
    returned: git runs while the build does other work. Outside a git work tree (sources
    uploaded to the server have no ``.git``) git is not asked at all."""
    if git_work_tree(app_dir) is None:
        return dict
    answers = _git(app_dir, ["rev-parse", "HEAD"], ["config", "--get", "remote.origin.url"])

    def labels() -> dict[str, str]:
        revision, remote = answers()
        found = {}
        if revision:
            found["org.opencontainers.image.revision"] = revision
        if remote and "@" not in remote:  # never publish credentials embedded in a URL
            found["org.opencontainers.image.source"] = remote
        return found

    return labels


def _git(cwd: Path, *commands: list[str]) -> Callable[[], list[str | None]]:
    """The git commands started side by side; the call returned gives each one's output
    (None when it failed)."""
    running: list[subprocess.Popen[str] | None] = []
    for args in commands:
        try:
            running.append(
                subprocess.Popen(
                    ["git", *args],
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )
            )
        except OSError:
            running.append(None)

    def answers() -> list[str | None]:
        return [_answer(process) for process in running]

    return answers


def _answer(process: subprocess.Popen[str] | None) -> str | None:
    if process is None:
        return None
    try:
        out, _ = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return None
    return out.strip() or None if process.returncode == 0 else None
