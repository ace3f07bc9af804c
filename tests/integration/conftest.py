"""Session fixtures for integration tests: real processes on this machine, started once.

``registry``/``anonymous_registry`` (a Debian docker-registry on 127.0.0.1),
``docker_engine`` (a dockerd; yields the path of the docker CLI) and ``base_rootfs``
(a debootstrapped bookworm with Python, as a reproducible tar). Nothing is skipped: what
cannot start fails the test that needs it, with the end of the relevant log.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.infra import (
    DOCKER,
    Registry,
    cache_dir,
    run_script,
    start_registry,
    stop_registry,
)


@pytest.fixture(scope="session")
def infra_installed() -> None:
    """The Debian packages behind these fixtures (apt-get runs only if one is missing)."""
    run_script("install.sh", timeout=900)


@pytest.fixture(scope="session")
def registry(infra_installed: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A registry with htpasswd (bcrypt) auth, deletes enabled, empty at session start."""
    started = start_registry(
        tmp_path_factory.mktemp("registry"), "shipway", secrets.token_urlsafe(16)
    )
    yield started
    stop_registry(started)


@pytest.fixture(scope="session")
def anonymous_registry(
    infra_installed: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Registry]:
    """A registry anyone may push to (``username`` and ``password`` are None)."""
    started = start_registry(tmp_path_factory.mktemp("anonymous-registry"), None, None)
    yield started
    stop_registry(started)


@pytest.fixture(scope="session")
def docker_engine(infra_installed: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running Docker engine; yields the docker CLI to use.

    ``DOCKER_CONFIG`` points at a fresh directory for the session, so ``docker login`` in
    tests never touches the user's ``~/.docker``. The engine is left running at the end
    (its images are a cache; another session may be using it): ``hack/infra/dockerd.sh
    stop`` stops one that script started.
    """
    run_script("dockerd.sh", "start", timeout=90, log=cache_dir() / "dockerd.log")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKER_CONFIG", str(tmp_path_factory.mktemp("docker-config")))
        yield DOCKER


@pytest.fixture(scope="session")
def base_rootfs(infra_installed: None) -> tuple[Path, str]:
    """(tar of a Debian bookworm root filesystem with Python, its Python version "3.11.2").

    Built with debootstrap on a cold machine (about a minute), then cached by version.
    """
    out = run_script("base-rootfs.sh", timeout=1200)
    tar = Path(out.strip().splitlines()[-1])
    version = Path(f"{tar}.python-version").read_text().strip()
    return tar, version
