"""``shipway build``: an app directory in, an OCI image out, with no Docker daemon.

The image is the base image's layers, then, when the app has an ``Aptfile``, an apt
layer (its Debian packages, cached by the Aptfile and base image), then a dependencies
layer (cached by the dependency files and target), then an app layer (the source), and,
when a deploy runs the app's build steps (``collectstatic``…) on that image, a layer of
what they wrote. Blobs already in the registry are skipped (those this machine pushed
there before without asking: ``pushed``), base layers are mounted across repositories,
independent blobs are pushed in parallel, and the manifest is pushed last, so a failed
push never leaves a tag pointing at a half-uploaded image.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from shipway.image import base as base_image
from shipway.image import oci, outputs
from shipway.image.appfiles import app_entries
from shipway.image.aptfile import read_aptfile
from shipway.image.auth import Credentials, lookup
from shipway.image.blobs import BlobStore
from shipway.image.config import WORKDIR, image_config, source_labels_later
from shipway.image.deps import dependencies_layer, target_for
from shipway.image.layer import Layer, write_layer
from shipway.image.progress import Progress, Silent, stage
from shipway.image.pushed import Pushed
from shipway.image.reference import Reference
from shipway.image.registry import BlobUnknown, RegistryClient
from shipway.project import Project

Status = Literal["uploaded", "present", "mounted", "written"]


BuildStep = Callable[[str], "tuple[Layer, bool] | None"]
#: Blobs pushed at once: each mostly waits on the registry.
PUSH_THREADS = 4


@dataclass(frozen=True)
class BuildRequest:
    project: Project
    base: Reference
    push: Reference | None = None
    outputs: list[tuple[str, Path]] = field(default_factory=list)
    insecure: bool = False
    credentials: Credentials | None = None
    #: The digest of an image the push target's repository already holds (the running
    #: release's): a build that gives it again pushes nothing, not even a new tag.
    published: str | None = None
    #: Runs the app's build steps on the image pushed by digest (given the digest); the
    #: layer of what they wrote and whether it came from a cache, or None.
    build_step: BuildStep | None = None


@dataclass(frozen=True)
class LayerReport:
    role: str
    digest: str
    size: int
    status: Status
    cached: bool = False


@dataclass(frozen=True)
class BuildResult:
    image: str
    digest: str
    config_digest: str
    layers: list[LayerReport]

    @property
    def uploaded_bytes(self) -> int:
        return sum(layer.size for layer in self.layers if layer.status == "uploaded")


@dataclass
class _Built:
    base: base_image.BaseImage
    #: Shipway's layers after the base's, by role, with whether each came from a cache.
    ours: list[tuple[str, Layer, bool]]
    config: oci.Descriptor
    manifest: oci.Descriptor

    @property
    def layers(self) -> list[oci.Descriptor]:
        return [*self.base.layers, *(_descriptor(layer) for _, layer, _ in self.ours)]

    def roles(self) -> list[tuple[str, bool]]:
        """Each layer's role, bottom first, with whether it came from a cache."""
        roles = [("base", False)] * len(self.base.layers)
        return roles + [(role, cached) for role, _, cached in self.ours]

    def reports(self, status: Status) -> list[LayerReport]:
        """Each layer's report, bottom first, all with ``status``."""
        return [
            LayerReport(role, layer.digest, layer.size, status, cached)
            for (role, cached), layer in zip(self.roles(), self.layers, strict=True)
        ]


def client_for(ref: Reference, insecure: bool, credentials: Credentials | None) -> RegistryClient:
    return RegistryClient(
        ref.registry, ref.api_host, lookup(ref.registry, credentials), insecure=insecure
    )


def build(
    request: BuildRequest, store: BlobStore | None = None, progress: Progress | None = None
) -> BuildResult:
    store = store or BlobStore()
    progress = progress or Silent()
    base_client = client_for(request.base, request.insecure, request.credentials)
    pusher = _Pusher(request, request.push, base_client, store, progress) if request.push else None
    try:
        built = _assemble(request, base_client, store, progress, pusher)
        if pusher and request.build_step:
            built = _with_build_steps(request, built, pusher, store, progress)
        if request.push and built.manifest.digest == request.published:
            progress.step("unchanged: the registry has this image")
            reports = _local_reports(built, "present")
        elif pusher:
            stage(progress, "push")
            reports = _push(built, pusher, store, progress)
        else:
            reports = []
    finally:
        if pusher:
            pusher.close()
    if request.outputs:
        progress.step("writing outputs")
        base_image.ensure_layers(base_client, built.base, store)
        for kind, path in request.outputs:
            _write_output(kind, path, built, store, request.push)
    if not reports:
        reports = _local_reports(built)
    target = request.push or request.base
    name = str(request.push) if request.push else f"{target.registry}/{target.repository}"
    return BuildResult(name, built.manifest.digest, built.config.digest, reports)


def _assemble(
    request: BuildRequest,
    client: RegistryClient,
    store: BlobStore,
    progress: Progress,
    pusher: _Pusher | None,
) -> _Built:
    """The image's layers, config and manifest; each layer of ours starts on its way to
    the registry as soon as it is made (the app layer first: it needs no base image, so
    its push overlaps resolving the base and the dependencies' cache check)."""
    plan, spec = request.project.plan, request.project.spec
    project = request.project
    labels_of_source = source_labels_later(project.app_dir)  # git runs meanwhile
    progress.step("app layer")
    app = write_layer(app_entries(project.app_dir, WORKDIR.strip("/")), store)
    if pusher:
        pusher.start(_descriptor(app), "app")
    progress.step(f"resolving base image {request.base}")
    base = base_image.fetch(client, request.base, store)
    ours = []
    apt = None
    if read_aptfile(project.app_dir):
        # Debian's machinery (mirror, archives, dpkg's database) is loaded for an Aptfile.
        from shipway.image.apt import apt_layer  # noqa: PLC0415

        apt = apt_layer(project.app_dir, base, client, store, progress)
    if apt is not None:
        ours.append(("apt", *apt))
    target = target_for(base.env(), str(base.config.get("architecture", "amd64")), plan)
    progress.step(f"dependencies for Python {target.python_version} ({target.platform})")
    deps = dependencies_layer(project.app_dir, plan, target, store, project.context)
    ours.append(("dependencies", *deps))
    if pusher:
        for role, layer, _ in ours:
            pusher.start(_descriptor(layer), role)
    ours.append(("app", app, False))
    labels = labels_of_source()
    layers = [layer for _, layer, _ in ours]
    config_doc = image_config(base.config, plan, spec.name, layers, labels)
    if apt is not None:
        _record_apt_history(config_doc, len(base.config.get("history") or []))
    config_bytes = oci.canonical(config_doc)
    config = oci.Descriptor(oci.CONFIG, store.put_bytes(config_bytes), len(config_bytes))
    descriptors = [*base.layers, *(_descriptor(layer) for layer in layers)]
    manifest_bytes = oci.canonical(oci.manifest(config, descriptors))
    manifest = oci.Descriptor(oci.MANIFEST, store.put_bytes(manifest_bytes), len(manifest_bytes))
    return _Built(base, ours, config, manifest)


def _with_build_steps(
    request: BuildRequest,
    built: _Built,
    pusher: _Pusher,
    store: BlobStore,
    progress: Progress,
) -> _Built:
    """Push the image by digest (no tag: nothing names it yet), let ``build_step`` run the
    app's build steps on it, and add the layer of what they wrote."""
    assert request.build_step is not None
    _push(built, pusher, store, progress, reference=built.manifest.digest)
    step = request.build_step(built.manifest.digest)
    if step is None:
        return built
    layer, cached = step
    doc = json.loads(store.path(built.config.digest).read_bytes())
    doc["rootfs"]["diff_ids"].append(layer.diff_id)
    doc["history"].append({"created": oci.EPOCH_ISO, "created_by": "shipway: build steps"})
    config_bytes = oci.canonical(doc)
    config = oci.Descriptor(oci.CONFIG, store.put_bytes(config_bytes), len(config_bytes))
    manifest_bytes = oci.canonical(oci.manifest(config, [*built.layers, _descriptor(layer)]))
    manifest = oci.Descriptor(oci.MANIFEST, store.put_bytes(manifest_bytes), len(manifest_bytes))
    return _Built(built.base, [*built.ours, ("build", layer, cached)], config, manifest)


def _descriptor(layer: Layer) -> oci.Descriptor:
    return oci.Descriptor(layer.media_type, layer.digest, layer.size)


def _record_apt_history(config: dict[str, Any], after: int) -> None:
    """The config's history names each layer: the apt layer's entry goes after the base's
    (image_config writes those of the dependencies and app layers)."""
    entry = {"created": oci.EPOCH_ISO, "created_by": "shipway: Debian packages (Aptfile)"}
    config["history"].insert(after, entry)


def _push(
    built: _Built,
    pusher: _Pusher,
    store: BlobStore,
    progress: Progress,
    reference: str | None = None,
) -> list[LayerReport]:
    """Push the blobs, then the manifest under ``reference`` (default: the tag)."""
    ref = pusher.ref
    tag = reference or ref.tag or "latest"
    manifest = store.path(built.manifest.digest).read_bytes()
    try:
        reports = pusher.blobs(built)
        progress.step(f"pushing manifest {ref}")
        pusher.client.put_manifest(ref.repository, tag, manifest, oci.MANIFEST)
    except BlobUnknown:
        if not pusher.trusted:
            raise
        # The record of what was pushed is stale (garbage collected, a repository made
        # again): forget it, and push again asking the registry about every blob.
        progress.step("the registry lost blobs pushed before: pushing them again")
        pusher.forget()
        reports = pusher.blobs(built)
        pusher.client.put_manifest(ref.repository, tag, manifest, oci.MANIFEST)
    return reports


class _Serialised:
    """Progress reported from the push's threads, one call at a time."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.lock = threading.Lock()

    def step(self, text: str) -> None:
        with self.lock:
            self.progress.step(text)

    def transfer(self, label: str, total: int) -> Callable[[int], None]:
        with self.lock:
            advance = self.progress.transfer(label, total)

        def locked(count: int) -> None:
            with self.lock:
                advance(count)

        return locked


class _Pusher:
    """Blobs pushed by threads, each started once (as soon as it is made, or with the
    manifest's): independent blobs wait on the registry side by side."""

    def __init__(
        self,
        request: BuildRequest,
        ref: Reference,
        base_client: RegistryClient,
        store: BlobStore,
        progress: Progress,
    ):
        self.request, self.ref, self.store = request, ref, store
        self.base_client = base_client
        self.progress: Progress = _Serialised(progress)
        same = (ref.registry, ref.api_host) == (request.base.registry, request.base.api_host)
        # One client (its connections, its login) for the base image and the push when
        # they are on the same registry.
        self.client = base_client if same else client_for(
            ref, request.insecure, request.credentials
        )  # fmt: skip
        self.pushed = Pushed(self.client.base, ref.repository)
        #: Whether blobs the record says were pushed are skipped without asking.
        self.trusted = True
        self.base: base_image.BaseImage | None = None
        self._pool = ThreadPoolExecutor(PUSH_THREADS, thread_name_prefix="push")
        self._jobs: dict[str, Future[Status]] = {}
        self._lock = threading.Lock()
        self._base_layers = threading.Lock()

    def start(self, blob: oci.Descriptor, role: str) -> Future[Status]:
        """The blob's push, started now unless it already was."""
        with self._lock:
            job = self._jobs.get(blob.digest)
            if job is None:
                job = self._jobs[blob.digest] = self._pool.submit(self.blob, blob, role)
            return job

    def blobs(self, built: _Built) -> list[LayerReport]:
        """Each layer's report, bottom first, and the config pushed: all of them waited
        for (the manifest goes after them)."""
        self.base = built.base
        layers = list(zip(built.roles(), built.layers, strict=True))
        jobs = [self.start(layer, role) for (role, _), layer in layers]
        config = self.start(built.config, "config")
        statuses = [job.result() for job in jobs]
        config.result()
        return [
            LayerReport(role, layer.digest, layer.size, status, cached)
            for ((role, cached), layer), status in zip(layers, statuses, strict=True)
        ]

    def forget(self) -> None:
        """Distrust the record, and push every blob again."""
        self.pushed.forget()
        self.trusted = False
        with self._lock:
            self._jobs.clear()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.pushed.save()

    def blob(self, layer: oci.Descriptor, role: str) -> Status:
        """Skip what the registry has, mount base layers it has elsewhere, else upload."""
        if self.trusted and self.pushed.has(layer.digest):
            return "present"
        status = self._push(layer, role)
        self.pushed.add(layer.digest)
        return status

    def _push(self, layer: oci.Descriptor, role: str) -> Status:
        repo = self.ref.repository
        # A config, or an app layer, is new whenever the image or the app is (an
        # unchanged one is in the record): asking first would only cost a round trip,
        # and uploading a blob the registry has already is harmless.
        if role not in ("config", "app") and self.client.blob_exists(repo, layer.digest):
            return "present"
        what = "config" if role == "config" else f"{role} layer"
        self.progress.step(f"pushing {what} {layer.digest[7:19]}")
        location = None
        if role == "base" and self.ref.registry == self.request.base.registry:
            location = self.client.mount_blob(repo, layer.digest, self.request.base.repository)
            if location is None:
                return "mounted"
        if role == "base":
            assert self.base is not None
            with self._base_layers:  # one download of the base layers, not one a thread
                base_image.ensure_layers(self.base_client, self.base, self.store)
        advance = self.progress.transfer(f"{role} {layer.digest[7:19]}", layer.size)
        self.client.upload_blob(
            repo, layer.digest, self.store.path(layer.digest), advance, location
        )
        return "uploaded"


def _write_output(
    kind: str, path: Path, built: _Built, store: BlobStore, ref: Reference | None
) -> None:
    digests = [built.config.digest, *(layer.digest for layer in built.layers)]
    if kind == "oci":
        outputs.write_oci_layout(path, store, built.manifest, digests, ref)
    else:
        outputs.write_docker_archive(
            path,
            store,
            built.manifest,
            built.config.digest,
            [layer.digest for layer in built.layers],
            ref,
        )


def _local_reports(built: _Built, status: Status = "written") -> list[LayerReport]:
    return built.reports(status)
