"""``--build-runner job`` (``shipway.buildjob``), its pure parts: the build Job is valid
for Kubernetes 1.34 and within the restricted Pod Security Standard, with deadlines and
limits, and its one-time token only in its Secret; the token opens the sources once; the
pod's log reads back as progress, step changes and a one-line result or failure."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import kubernetes_validate
import pytest

from shipway import buildjob
from shipway.errors import NotFound, ShipwayError
from shipway.install import manifests
from shipway.kube.jobs import JobEnd, _job_end
from shipway.server.routes.deploys import Deploys
from shipway.server.settings import ServerSettings
from shipway.server.state import Server
from tests.helpers.pss import pod_templates, violations

pytestmark = pytest.mark.unit

KUBERNETES_VERSION = "1.34.0"
TOKEN = "t0k3n-" + "s" * 40
CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
SETTINGS = buildjob.JobSettings(
    image="127.0.0.1:30500/shipway/server:0.1",
    server_url=manifests.SERVER_SERVICE_URL,
    ca_bundle=CA,
    env=(("UV_INDEX_URL", "https://pypi.example/simple"),),
)
ARGS = buildjob.BuildArgs(
    app="hello",
    push="shipway-registry.shipway-system.svc.cluster.local:5000/hello:v3",
    base="shipway-registry.shipway-system.svc.cluster.local:5000/shipway/base:bookworm",
    insecure=True,
    published="sha256:" + "c" * 64,
    sources=f"{manifests.SERVER_SERVICE_URL}/api/v1/build-sources",
)


def _objects(settings: buildjob.JobSettings = SETTINGS) -> tuple[dict[str, Any], dict[str, Any]]:
    secret, job = buildjob.objects(settings, "hello", "hello-build-0a1b2c3d", ARGS, TOKEN)
    return secret, job


@pytest.mark.parametrize("ca", [CA, None])
def test_the_job_is_valid_and_restricted(ca: str | None) -> None:
    settings = buildjob.JobSettings(SETTINGS.image, SETTINGS.server_url, ca_bundle=ca)
    secret, job = _objects(settings)
    for obj in (secret, job):
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    [(name, pod)] = pod_templates([job])
    assert name == "Job/hello-build-0a1b2c3d"
    assert violations(pod) == []
    assert pod["automountServiceAccountToken"] is False
    assert pod["restartPolicy"] == "Never"
    [container] = pod["containers"]
    assert container["image"] == SETTINGS.image
    assert container["command"] == ["shipway", "server", "build-job"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    # Writable places are emptyDirs: the work and cache dir, /tmp.
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    kinds = {v["name"]: next(k for k in v if k != "name") for v in pod["volumes"]}
    assert kinds[mounts[buildjob.WORK]] == kinds[mounts["/tmp"]] == "emptyDir"
    assert set(container["resources"]["limits"]) >= {"cpu", "memory"}
    spec = job["spec"]
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == buildjob.DEADLINE
    assert spec["ttlSecondsAfterFinished"] > 0


def test_the_token_is_only_in_the_secret() -> None:
    secret, job = _objects()
    encoded = base64.b64encode(TOKEN.encode()).decode()
    assert TOKEN not in json.dumps(job) and encoded not in json.dumps(job)
    assert secret["kind"] == "Secret" and secret["data"]["token"] == encoded
    env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env[buildjob.TOKEN_ENV] == {
        "name": buildjob.TOKEN_ENV,
        "valueFrom": {"secretKeyRef": {"name": "hello-build-0a1b2c3d", "key": "token"}},
    }
    plain = {name: e["value"] for name, e in env.items() if "value" in e}
    assert json.loads(plain[buildjob.ARGS_ENV]) == {
        "app": "hello",
        "push": ARGS.push,
        "base": ARGS.base,
        "insecure": True,
        "published": ARGS.published,
        "sources": ARGS.sources,
    }
    # The package-index settings and the CA bundle (mounted from the Secret) pass on.
    assert plain["UV_INDEX_URL"] == "https://pypi.example/simple"
    assert plain["SSL_CERT_FILE"] == plain["PIP_CERT"] == f"{buildjob.CA_DIR}/{buildjob.CA_KEY}"


def test_the_build_pod_is_not_one_of_the_apps_pods() -> None:
    """The addons' NetworkPolicies admit pods named as the app: the build is not one."""
    _secret, job = _objects()
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "hello-build"
    assert labels["app.kubernetes.io/component"] == "build"


def test_job_names_are_dns_labels() -> None:
    name = buildjob.job_name("a" * 63)
    assert len(name) <= 63 and name.startswith("a" * 40 + "-build-")


def test_a_token_opens_its_sources_once(tmp_path: Path) -> None:
    handoff = buildjob.Handoff()
    archive = tmp_path / "sources.tar.gz"
    token = handoff.offer(archive)
    assert handoff.take("not-" + token) is None
    assert handoff.take(token) == archive
    assert handoff.take(token) is None
    other = handoff.offer(archive)
    handoff.withdraw(other)
    assert handoff.take(other) is None


class _Progress:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def step(self, text: str) -> None:
        self.seen.append(text)

    def transfer(self, label: str, total: int) -> Any:
        return lambda _n: None

    def stage(self, name: str) -> None:
        self.seen.append(f"[{name}]")


def _read(*lines: str) -> tuple[buildjob._Output, _Progress]:
    progress = _Progress()
    output = buildjob._Output(progress)
    for line in lines:
        output.line(line)
    return output, progress


def test_the_log_reads_back_as_progress_stages_and_result() -> None:
    result = {
        "image": "r/hello:v3",
        "digest": "sha256:" + "d" * 64,
        "config_digest": "sha256:" + "e" * 64,
        "layers": [
            {"role": "app", "digest": "sha256:1", "size": 10, "status": "uploaded", "cached": False}
        ],
    }
    output, progress = _read(
        "dependencies: 3 packages",
        f"{buildjob.STAGE}push",
        "pushed app layer",
        buildjob.RESULT + json.dumps(result),
    )
    assert progress.seen == ["dependencies: 3 packages", "[push]", "pushed app layer"]
    built = output.result(True, "", 60)
    assert built.digest == result["digest"] and built.layers[0].role == "app"


def _failure(output: buildjob._Output, succeeded: bool, reason: str) -> str:
    with pytest.raises(ShipwayError) as caught:
        output.result(succeeded, reason, 1200)
    message = str(caught.value)
    assert "\n" not in message and TOKEN not in message
    return message


def test_failures_are_one_line() -> None:
    output, _ = _read(buildjob.RESULT + json.dumps({"error": "no-such-pkg: not found\non PyPI"}))
    assert _failure(output, False, "BackoffLimitExceeded") == (
        "the build failed: no-such-pkg: not found on PyPI"
    )
    output, _ = _read("collecting...")
    assert "past its deadline (1200 s)" in _failure(output, False, "DeadlineExceeded")
    output, _ = _read("line one", "Killed")
    assert _failure(output, False, "OOMKilled") == (
        "the build Job failed (OOMKilled): line one | Killed"
    )
    output, _ = _read(buildjob.RESULT + "{not json")
    assert _failure(output, True, "").startswith("the build Job failed (no result)")


def test_the_jobs_end_is_read_from_its_conditions() -> None:
    def job(*conditions: tuple[str, str, str]) -> Any:
        found = [SimpleNamespace(type=t, status=s, reason=r) for t, s, r in conditions]
        return SimpleNamespace(status=SimpleNamespace(conditions=found))

    assert _job_end(SimpleNamespace(status=None)) is None
    assert _job_end(job(("Complete", "True", ""))) == JobEnd(True)
    assert _job_end(job(("Failed", "True", "DeadlineExceeded"))) == JobEnd(
        False, "DeadlineExceeded"
    )
    assert _job_end(job(("Failed", "False", ""))) is None


def test_the_pod_side_reports_an_error_as_its_last_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(buildjob.TOKEN_ENV, TOKEN)
    monkeypatch.setenv(buildjob.ARGS_ENV, json.dumps(ARGS.__dict__))
    seen: list[str] = []

    def fetch(url: str, token: str, dest: Path) -> Path:
        seen.append(token)
        raise ShipwayError("fetching the sources from the server: HTTP 404")

    monkeypatch.setattr(buildjob, "_fetch", fetch)
    assert buildjob.main() == 1
    assert seen == [TOKEN]
    # The token leaves the environment before anything is built.
    assert buildjob.TOKEN_ENV not in os.environ
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == buildjob.RESULT + json.dumps(
        {"error": "fetching the sources from the server: HTTP 404"}
    )


def test_job_mode_needs_its_image_and_url(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--build-runner job needs"):
        ServerSettings(build_runner="job")
    settings = ServerSettings(build_runner="job", build_image="i", internal_url="http://s")
    assert settings.build_runner == "job"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    answer = subprocess.run(
        [sys.executable, "-m", "shipway", "server", "--build-runner", "job"],
        env={**env, "SHIPWAY_STATE_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert answer.returncode != 0
    [line] = answer.stderr.strip().splitlines()
    assert line.startswith("error: --build-runner job needs the image builds run"), line


@pytest.mark.parametrize("runner", ["pool", "job"])
def test_install_tells_the_server_its_image_and_url(runner: str) -> None:
    opts = manifests.Options(
        server_image="127.0.0.1:30500/shipway/server:0.1", registry_image=None, build_runner=runner
    )
    deployment = next(o for o in manifests.server_objects(opts) if o["kind"] == "Deployment")
    env = {
        e["name"]: e.get("value")
        for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["SHIPWAY_BUILD_RUNNER"] == runner
    assert env["SHIPWAY_SERVER_IMAGE"] == opts.server_image
    assert (
        env["SHIPWAY_INTERNAL_URL"] == "http://shipway-server.shipway-system.svc.cluster.local:8700"
    )


def test_the_route_hands_the_sources_out_once(tmp_path: Path) -> None:
    settings = ServerSettings(
        state_dir=tmp_path / "state",
        build_runner="job",
        build_image="i",
        internal_url="http://s",
    )
    deploys = Deploys(Server(settings))
    archive = tmp_path / "sources.tar.gz"
    archive.write_bytes(b"\x1f\x8b")
    token = deploys.handoff.offer(archive)
    for wrong in ("", "x" * 43):
        with pytest.raises(NotFound, match="no sources for this token"):
            deploys.build_sources(wrong)
    answer = deploys.build_sources(token)
    assert Path(answer.path) == archive and answer.media_type == "application/gzip"
    with pytest.raises(NotFound):
        deploys.build_sources(token)
