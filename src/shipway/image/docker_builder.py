"""``--builder docker``: build from the generated Dockerfile with a local Docker engine,
for apps whose dependencies must be compiled, then push with ``docker push``."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from shipway.errors import ShipwayError
from shipway.image.appfiles import copy_app_files
from shipway.image.dockerfile import CA_FILE, dockerfile
from shipway.image.progress import Progress, Silent
from shipway.image.reference import Reference
from shipway.project import Project, docker_requirements
from shipway.spec import appfile

DOCKERFILE = "Dockerfile.shipway"
#: Where the app's files go in a generated build context.
APP_SOURCE = "app"


def docker_build(
    project: Project,
    tag: Reference,
    base: Reference,
    ca_bundle: Path | None,
    progress: Progress | None = None,
) -> str:
    """Build and push; returns the pushed manifest's digest."""
    progress = progress or Silent()
    docker = shutil.which("docker")
    if docker is None:
        raise ShipwayError(
            "--builder docker needs the docker command; install Docker or use the default builder"
        )
    with tempfile.TemporaryDirectory(prefix="shipway-context-") as tmp:
        context = Path(tmp)
        prepare_context(project, base, ca_bundle, context)
        progress.step("docker build")
        _run([docker, "build", "-q", "-f", DOCKERFILE, "-t", str(tag), "."], context)
    progress.step(f"docker push {tag}")
    _run([docker, "push", "-q", str(tag)], None)
    digests = _run(
        [docker, "inspect", "--format", "{{range .RepoDigests}}{{println .}}{{end}}", str(tag)],
        None,
    )
    repo = f"{tag.registry}/{tag.repository}"
    for line in digests.splitlines():
        name, _, digest = line.strip().partition("@")
        if name in (repo, tag.repository) and digest:
            return digest
    raise ShipwayError(f"docker pushed {tag} but reported no digest for it")


def prepare_context(
    project: Project, base: Reference, ca_bundle: Path | None, context: Path
) -> None:
    """The build context: the app's shipped files, and beside them (never copied into the
    image) the Dockerfile and the CA bundle. An app's own Dockerfile gets the app's files
    at the root of the context, as it expects."""
    own = project.plan.dockerfile
    copy_app_files(project.app_dir, context if own else context / APP_SOURCE)
    if ca_bundle is not None:
        shutil.copyfile(ca_bundle, context / CA_FILE)
    if own:
        text = appfile.read_text(project.app_dir, own) or ""
    else:
        text = dockerfile(
            project.plan, str(base), ca_bundle is not None, APP_SOURCE, project.app_dir,
            docker_requirements(project),
        )  # fmt: skip
    (context / DOCKERFILE).write_text(text)


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _run(command: list[str], cwd: Path | None) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        plain = ANSI.sub("", result.stderr + result.stdout)
        lines = [line for line in plain.splitlines() if line.strip()]
        detail = lines[-1].strip() if lines else f"exit code {result.returncode}"
        raise ShipwayError(f"{' '.join(command[:2])} failed: {detail[:300]}")
    return result.stdout
