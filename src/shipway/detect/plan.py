"""The ``BuildPlan``: the detected facts that building and rendering need."""

from __future__ import annotations

import re
import shlex
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shipway.spec.model import Resources


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dependencies(Model):
    """How the app declares its dependencies; ``names`` are normalised project names."""

    kind: Literal["requirements", "pyproject", "pipfile", "setup"] | None = None
    file: str | None = None
    names: list[str] = []


#: Characters that make a command need a shell rather than an exec-form list.
SHELL_SYNTAX = re.compile(r"[$`\\|&;<>(){}*?~\"'\n#=\[\]]")
SHELL_OPERATORS = re.compile(r"[|&;<>()`\n]")


class ProcessPlan(Model):
    """A process type, resolved: ``command`` is ``None`` only to keep an image's own CMD."""

    command: str | list[str] | None
    replicas: int
    resources: Resources

    @property
    def argv(self) -> list[str] | None:
        """Exec form when the string needs no shell (``python app.py``), else ``sh -c``.

        ``exec`` lets the app, not the shell, receive SIGTERM when the pod stops.
        """
        command = self.command
        if command is None or isinstance(command, list):
            return command
        if not SHELL_SYNTAX.search(command):
            return shlex.split(command)
        script = command if SHELL_OPERATORS.search(command) else f"exec {command}"
        return ["/bin/sh", "-c", script]


class BuildPlan(Model):
    language: Literal["python"] = "python"
    python_version: str
    python_version_source: str
    #: The Python versions the app accepts (PEP 440, e.g. ">=3.11,<3.14"), if it says.
    python_constraint: str | None = None
    base_image: str
    dependencies: Dependencies | None
    #: Packages the start command needs that the app does not list (e.g. gunicorn).
    extra_packages: list[str] = []
    framework: str | None = None
    processes: dict[str, ProcessPlan]
    port: int
    #: The app's own Dockerfile, kept as is, relative to the app dir.
    dockerfile: str | None = None
    release: str | None = None
    #: Commands that run the app's code at build time (collectstatic…), in order.
    build_steps: list[str] = []
    healthcheck: str | None = None
    #: Where the web command came from: ``app spec``, a platform's file (``railway.json``,
    #: ``fly.toml``…), ``Dockerfile`` (its own CMD) or ``detected`` (from the framework).
    web_command_source: str | None = None
    #: Why ``port`` is that port: ``app spec``, ``web command``, ``<server> default``, a
    #: platform's file, ``Dockerfile``, ``source`` (the script names it) or ``default``.
    port_source: str | None = None
    #: The address the web process binds (``0.0.0.0``, ``::``, ``127.0.0.1``), if known.
    listen_host: str | None = None
    #: Worker processes the web command asks for (gunicorn ``-w``, ``workers =``), if known.
    web_workers: int | None = None
    #: ``DJANGO_SETTINGS_MODULE``'s default in ``manage.py`` (e.g. ``mysite.settings``).
    django_settings: str | None = None
    #: An own Dockerfile's ENTRYPOINT + CMD (exec form), for builders that do not run it.
    dockerfile_command: list[str] | None = None
    #: Problems worth telling the user that do not stop the build, one line each.
    warnings: list[str] = []

    @property
    def web(self) -> ProcessPlan | None:
        return self.processes.get("web")
