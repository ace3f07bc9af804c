"""The build steps an app needs that run its own code, in Heroku's order: Django's
``collectstatic`` (without it, WhiteNoise serves a 500), Heroku's ``bin/post_compile``
hook, then the ``build`` command of shipway.yaml. Detection only names them; a deploy runs
them in a pod of the built image (``shipway.buildsteps``), never in Shipway's process."""

from __future__ import annotations

from pathlib import Path

from shipway.detect import files
from shipway.spec.model import AppSpec

COLLECTSTATIC = "python manage.py collectstatic --noinput"
POST_COMPILE = "bash bin/post_compile"
#: A config var that turns collectstatic off, as on Heroku.
DISABLE_COLLECTSTATIC = "DISABLE_COLLECTSTATIC"


def build_steps(app_dir: Path, spec: AppSpec, framework: str | None) -> list[str]:
    steps = []
    if framework == "django" and files.app_file(app_dir, "manage.py"):
        steps.append(COLLECTSTATIC)
    if files.app_file(app_dir, "bin/post_compile"):
        steps.append(POST_COMPILE)
    if spec.build:
        steps.append(spec.build)
    return steps


def enabled(steps: list[str], config_vars: dict[str, str]) -> list[str]:
    """The steps to run with these config vars (``DISABLE_COLLECTSTATIC=1`` skips it)."""
    if config_vars.get(DISABLE_COLLECTSTATIC, "") not in ("", "0"):
        return [step for step in steps if step != COLLECTSTATIC]
    return list(steps)
