"""``shipway server --build-runner job``: a deploy's build and push run as an unprivileged
Kubernetes Job instead of in the server's process, so build capacity grows with the
cluster rather than with the server's pod.

Where: in the **app's namespace**. The server may already manage Jobs, Pods (with their
logs) and Secrets there (ClusterRole ``shipway-app-manager``), so its RBAC grows by
nothing; the namespace enforces the ``restricted`` Pod Security Standard; and the build
runs the app's own untrusted code (``setup.py`` of an sdist) next to the app it belongs
to, under that namespace's quotas, not next to the server's database and registry in
``shipway-system``. Its labels are not the app's, so the addons' NetworkPolicies do not
let it reach the app's databases.

What: the server's own image (``SHIPWAY_SERVER_IMAGE``, set by ``shipway server
install``), running ``shipway server build-job``: non-root, no privilege escalation, all
capabilities dropped, seccomp ``RuntimeDefault``, a read-only root filesystem with
emptyDirs for its work and cache, no ServiceAccount token, resource limits,
``activeDeadlineSeconds``, ``backoffLimit: 0`` and ``ttlSecondsAfterFinished``.

The sources: the server packs the deploy's unpacked sources again (``sources.archive``)
and offers the archive once, at ``GET /api/v1/build-sources``, to whoever presents the
deploy's one-time token (``X-Shipway-Build-Token``); the pod downloads it from the
server's in-cluster URL and unpacks it with ``sources.extract``'s checks. The token (and
the CA bundle the server's own package installs trust) are in a Secret of the build's
own, referenced from the pod, never written in the Job's spec; the pod drops the token
from its environment before building, and the Secret is deleted when the build ends (it
is owned by the Job too, so a server that dies mid-build leaves nothing past the Job's
TTL).

The build: ``image.builder.build`` with what the server decided (push tag, base image,
the running release's digest), to the registry the server pushes to, with the server's
package-index and proxy settings passed on. The pod prints the builder's progress as
lines, the deploy's step changes as ``shipway-build-stage NAME`` and, last, one
``shipway-build-result {json}`` line (the digest, or the error); the server follows the
pod's log into the deploy's events, then goes on in process (addons, apply, rollout). A
failed, killed or timed-out Job fails the deploy with a one-line reason before anything
is applied, so the app keeps serving; the Job and its pod are deleted either way.

Apps with build steps (``collectstatic``…) still build in the server: the steps run in a
pod of the image just built, which a Job without cluster credentials cannot start.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shipway import grants, project, sources
from shipway import objects as o
from shipway.deploy import Builder
from shipway.errors import ShipwayError
from shipway.image.builder import BuildRequest, BuildResult, LayerReport, build
from shipway.image.progress import Progress, stage
from shipway.image.reference import parse
from shipway.kube import store
from shipway.kube.client import Target
from shipway.kube.jobs import run_job
from shipway.render import app as app_objects

TOKEN_HEADER = "X-Shipway-Build-Token"
TOKEN_ENV = "SHIPWAY_BUILD_TOKEN"
ARGS_ENV = "SHIPWAY_BUILD_ARGS"
STAGE = "shipway-build-stage "
RESULT = "shipway-build-result "
WORK = "/work"
CA_DIR = "/etc/shipway/ca"
CA_KEY = "ca-certificates.crt"
#: Seconds a build may run (the Job's activeDeadlineSeconds).
DEADLINE = 1200
#: Seconds a finished Job stays if the server could not delete it (it died meanwhile).
TTL = 600
#: Largest source archive handed to a build (as the upload limit's default).
MAX_ARCHIVE = 200 * 1024 * 1024
RESOURCES = {
    "requests": {"cpu": "250m", "memory": "512Mi", "ephemeral-storage": "1Gi"},
    "limits": {"cpu": "2", "memory": "2Gi", "ephemeral-storage": "8Gi"},
}
#: The server's settings a build needs too: package indexes, proxies, Debian mirror.
FORWARDED_ENV = (
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_TRUSTED_HOST",
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_INSECURE_HOST",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SHIPWAY_DEBIAN_MIRROR",
)
#: Where the server finds the CA bundle it passes on.
CA_ENV = ("SSL_CERT_FILE", "PIP_CERT")


@dataclass(frozen=True)
class JobSettings:
    #: The server's own image: what the build Job runs.
    image: str
    #: The server as pods reach it (``http://shipway-server.shipway-system.svc…:8700``).
    server_url: str
    deadline: int = DEADLINE
    #: PEM text of the CA bundle the build's downloads trust (the server's).
    ca_bundle: str | None = None
    env: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_environment(cls, image: str, server_url: str) -> JobSettings:
        """The settings with the server's own package-index settings and CA bundle."""
        env = tuple((k, os.environ[k]) for k in FORWARDED_ENV if os.environ.get(k))
        bundle = None
        for variable in CA_ENV:
            path = os.environ.get(variable)
            if path and os.path.isfile(path):
                try:
                    bundle = Path(path).read_text()
                except (OSError, UnicodeDecodeError):
                    raise ShipwayError(f"${variable}: cannot read the CA bundle {path}") from None
                break
        return cls(image, server_url.rstrip("/"), ca_bundle=bundle, env=env)


@dataclass(frozen=True)
class BuildArgs:
    """What the pod builds (no secret in here: it is the Job's plain env)."""

    app: str
    push: str
    base: str
    insecure: bool
    published: str | None
    sources: str


def job_name(app: str) -> str:
    return f"{app[:40].rstrip('-')}-build-{secrets.token_hex(4)}"


def objects(
    settings: JobSettings, namespace: str, name: str, args: BuildArgs, token: str
) -> list[o.Obj]:
    """The build's Secret (the token, the CA bundle) and its Job."""
    labels = o.labels(args.app, f"{args.app}-build", "build")
    data = {"token": token, **({CA_KEY: settings.ca_bundle} if settings.ca_bundle else {})}
    secret = o.secret(name, namespace, labels, data)
    env: list[o.Obj] = [
        {"name": "HOME", "value": WORK},
        {"name": "TMPDIR", "value": "/tmp"},
        {"name": "SHIPWAY_CACHE_DIR", "value": f"{WORK}/cache"},
        {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
        {"name": ARGS_ENV, "value": json.dumps(asdict(args), sort_keys=True)},
        {"name": TOKEN_ENV, "valueFrom": {"secretKeyRef": {"name": name, "key": "token"}}},
        *({"name": k, "value": v} for k, v in settings.env),
    ]
    mounts: list[o.Obj] = [
        {"name": "work", "mountPath": WORK},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    volumes: list[o.Obj] = [
        {"name": "work", "emptyDir": {"sizeLimit": "6Gi"}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "2Gi"}},
    ]
    if settings.ca_bundle:
        ca_file = f"{CA_DIR}/{CA_KEY}"
        env += [{"name": v, "value": ca_file} for v in CA_ENV]
        mounts.append({"name": "ca", "mountPath": CA_DIR, "readOnly": True})
        volumes.append(
            {
                "name": "ca",
                "secret": {"secretName": name, "items": [{"key": CA_KEY, "path": CA_KEY}]},
            }
        )
    container = {
        "name": "build",
        "image": settings.image,
        "command": ["shipway", "server", "build-job"],
        "workingDir": WORK,
        "env": env,
        "resources": RESOURCES,
        "securityContext": o.container_security(read_only_root=True),
        "volumeMounts": mounts,
    }
    pod = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": o.pod_security(o.APP_UID),
        "containers": [container],
        "volumes": volumes,
    }
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": o.metadata(name, namespace, labels),
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": settings.deadline,
            "ttlSecondsAfterFinished": TTL,
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }
    return [secret, job]


@dataclass
class Handoff:
    """One-time tokens, each good for one download of one build's sources."""

    _offers: dict[str, Path] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def offer(self, archive: Path) -> str:
        token = secrets.token_urlsafe(32)
        with self._guard:
            self._offers[self._key(token)] = archive
        return token

    def take(self, token: str) -> Path | None:
        """The archive the token was made for, once; None for any other token."""
        with self._guard:
            return self._offers.pop(self._key(token), None)

    def withdraw(self, token: str) -> None:
        self.take(token)


def job_builder(settings: JobSettings, handoff: Handoff) -> Builder:
    """A ``Builder`` running each build as a Job in the app's namespace."""

    def run(target: Target, request: BuildRequest, progress: Progress) -> BuildResult:
        if request.build_step is not None or request.push is None:
            progress.step("build steps need the cluster: building in the server")
            return build(request, progress=progress)
        with tempfile.TemporaryDirectory(prefix="shipway-build-job-") as tmp:
            archive = Path(tmp) / "sources.tar.gz"
            with archive.open("wb") as out:
                sources.archive(request.project.app_dir, out, MAX_ARCHIVE)
            token = handoff.offer(archive)
            try:
                return _run(target, request, settings, token, progress)
            finally:
                handoff.withdraw(token)

    return run


def _run(
    target: Target, request: BuildRequest, settings: JobSettings, token: str, progress: Progress
) -> BuildResult:
    assert request.push is not None
    client, namespace = target.client, target.namespace
    spec = request.project.spec
    args = BuildArgs(
        app=spec.name,
        push=str(request.push),
        base=str(request.base),
        insecure=request.insecure,
        published=request.published,
        sources=f"{settings.server_url}/api/v1/build-sources",
    )
    name = job_name(spec.name)
    secret, job = objects(settings, namespace, name, args, token)
    store.apply(client, app_objects.namespace(spec, namespace), f"create {namespace}")
    grants.grant(client, namespace)
    output = _Output(progress)
    progress.step(f"building in Job {name} (namespace {namespace})")
    store.apply(client, secret, "keep the build's token")

    def owned(uid: str) -> None:
        # Should this process die mid-build, the Secret goes with the Job (its TTL).
        owner = {"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": uid}
        secret["metadata"]["ownerReferences"] = [owner]
        store.apply(client, secret, "tie the build's token to its Job")

    try:
        end = run_job(client, job, output.line, settings.deadline + 60, owned)
    finally:
        store.delete_if_present(client, "Secret", name, namespace, "delete the build's token")
    return output.result(end.succeeded, end.reason, settings.deadline)


@dataclass
class _Output:
    """The build pod's log, read line by line: progress, step changes, the result."""

    progress: Progress
    found: dict[str, Any] | None = None
    tail: tuple[str, ...] = ()

    def line(self, text: str) -> None:
        if text.startswith(STAGE):
            stage(self.progress, text.removeprefix(STAGE).strip())
        elif text.startswith(RESULT):
            try:
                value = json.loads(text.removeprefix(RESULT))
            except ValueError:
                value = None
            self.found = value if isinstance(value, dict) else None
        else:
            self.tail = (*self.tail[-4:], text)
            self.progress.step(text)

    def result(self, succeeded: bool, reason: str, deadline: int) -> BuildResult:
        found = self.found or {}
        if succeeded and isinstance(found.get("digest"), str):
            layers = [LayerReport(**layer) for layer in found.get("layers") or []]
            return BuildResult(found["image"], found["digest"], found["config_digest"], layers)
        if isinstance(found.get("error"), str):
            raise ShipwayError(f"the build failed: {_one_line(found['error'])}")
        if reason == "DeadlineExceeded":
            raise ShipwayError(
                f"the build Job ran past its deadline ({deadline} s); the running release "
                "keeps serving"
            )
        last = " | ".join(line.strip() for line in self.tail if line.strip())
        detail = f": {_one_line(last)}" if last else ""
        raise ShipwayError(f"the build Job failed ({reason or 'no result'}){detail}")


def _one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class _Printer:
    """The pod's progress: lines on stdout, read back by the server."""

    def step(self, text: str) -> None:
        print(text, flush=True)

    def transfer(self, label: str, total: int) -> Callable[[int], None]:
        print(f"{label} ({sources.size_text(total)})", flush=True)
        return lambda _n: None

    def stage(self, name: str) -> None:
        print(f"{STAGE}{name}", flush=True)


def main() -> int:
    """The build Job's side: fetch the sources, build and push, print the result."""
    token = os.environ.pop(TOKEN_ENV, "")
    try:
        args = BuildArgs(**json.loads(os.environ[ARGS_ENV]))
        app_dir = _fetch(args.sources, token, Path(os.environ.get("HOME") or WORK) / "app")
        print(f"build pod: sources of {args.app} fetched from the server", flush=True)
        proj = project.load(app_dir, args.app)
        request = BuildRequest(
            proj,
            parse(args.base, "base image"),
            parse(args.push, "registry"),
            insecure=args.insecure,
            published=args.published,
        )
        built = build(request, progress=_Printer())
    except ShipwayError as exc:
        print(RESULT + json.dumps({"error": str(exc)}), flush=True)
        return 1
    except (KeyError, TypeError, ValueError):
        print(RESULT + json.dumps({"error": f"${ARGS_ENV} is missing or malformed"}), flush=True)
        return 2
    result = {
        "image": built.image,
        "digest": built.digest,
        "config_digest": built.config_digest,
        "layers": [asdict(layer) for layer in built.layers],
    }
    print(RESULT + json.dumps(result), flush=True)
    return 0


def _fetch(url: str, token: str, dest: Path) -> Path:
    """The deploy's sources from the server, unpacked with ``sources.extract``'s checks
    (straight to the server: no proxy)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers={TOKEN_HEADER: token})
    try:
        with opener.open(request, timeout=60) as response:
            return sources.extract(response, dest)
    except urllib.error.HTTPError as exc:
        raise ShipwayError(f"fetching the sources from the server: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ShipwayError(f"fetching the sources from the server: {reason}") from None


if __name__ == "__main__":
    sys.exit(main())
