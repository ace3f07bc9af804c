"""Running the app's build steps (``collectstatic``, ``bin/post_compile``, a ``build``
command) where they belong: in a short-lived pod of the image just built, with the
target's Python, dependencies and the app's config vars — never in Shipway's process,
since this is the app's code and, once a server runs Shipway, untrusted.

The pod runs a small Python script that notes every file under /app, runs the steps, and
prints a gzipped tar of what they added or changed, base64-encoded between two markers
that carry a random token. Shipway reads that back from the pod's log, checks every
entry (only regular files, directories and links inside /app; bounded in count and size)
and writes it as one more layer, owned by the app's user. The layer is cached by the
image's digest, the steps and the config vars, so an unchanged app never runs them again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import posixpath
import secrets
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shipway import grants
from shipway import objects as o
from shipway.errors import ShipwayError
from shipway.image.blobs import BlobStore
from shipway.image.compression import TarStream, decompressed, entry_path, read_tar
from shipway.image.layer import Entry, Layer, cached_layer, with_parents, write_layer
from shipway.image.rootview import canonical
from shipway.kube import store
from shipway.kube.client import Client
from shipway.kube.pods import OneOff
from shipway.objects import APP_UID, content_hash
from shipway.project import Project
from shipway.render import app as app_objects

#: Bounds on what a build step may hand back.
MAX_ENCODED = 128 << 20
MAX_MEMBERS = 50_000
MAX_BYTES = 512 << 20

#: Runs in the pod, in /app: argv[1] is the marker token, the rest are the steps.
SCRIPT = r"""
import base64, io, os, subprocess, sys, tarfile
token, steps = sys.argv[1], sys.argv[2:]
top = os.getcwd()  # the image's WorkingDir: /app
def files():
    for root, dirs, names in os.walk(top):
        dirs.sort()
        for name in sorted(dirs + names):
            path = os.path.join(root, name)
            st = os.lstat(path)
            yield path, (st.st_mtime_ns, st.st_size, st.st_mode)
before = dict(files())
for step in steps:
    print("-----> " + step, flush=True)
    code = subprocess.call(["/bin/sh", "-c", step], cwd=top)
    if code:
        print("-----> failed with exit code %d" % code, flush=True)
        sys.exit(code)
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w:gz") as tar:
    for path, seen in files():
        if before.get(path) != seen:
            tar.add(path, arcname="app/" + os.path.relpath(path, top), recursive=False)
data = base64.b64encode(buf.getvalue()).decode()
print("SHIPWAY-LAYER-BEGIN-" + token, flush=True)
for i in range(0, len(data), 4096):
    print(data[i:i + 4096])
print("SHIPWAY-LAYER-END-" + token, flush=True)
"""

#: Runs a pod of the image with this command; gives each line of its output to the
#: callback and returns its exit code (``shipway.kube.pods.OneOff`` in a deploy).
PodRunner = Callable[[list[str], Callable[[str], None]], int]


@dataclass
class _Output:
    token: str
    emit: Callable[[str], None]
    encoded: list[str]
    inside: bool = False
    size: int = 0
    tail: tuple[str, ...] = ()

    def line(self, text: str) -> None:
        if text == f"SHIPWAY-LAYER-BEGIN-{self.token}":
            self.inside = True
        elif text == f"SHIPWAY-LAYER-END-{self.token}":
            self.inside = False
        elif self.inside:
            self.size += len(text)
            if self.size > MAX_ENCODED:
                raise ShipwayError("the build steps wrote more than 96 MiB under /app")
            self.encoded.append(text)
        else:
            self.tail = (*self.tail[-9:], text)
            self.emit(text)


def build_layer(
    image_digest: str,
    steps: list[str],
    config_vars: dict[str, str],
    run_pod: PodRunner,
    store: BlobStore,
    emit: Callable[[str], None],
) -> tuple[Layer, bool]:
    """The layer of what ``steps`` write, run by ``run_pod`` in the image (cached)."""
    key = hashlib.sha256(
        content_hash([image_digest, steps, content_hash(config_vars)]).encode()
    ).hexdigest()[:32]

    def make() -> Layer:
        output = _Output(secrets.token_hex(8), emit, [])
        command = ["python3", "-c", SCRIPT, output.token, *steps]
        code = run_pod(command, output.line)
        if code != 0:
            last = " | ".join(line.strip() for line in output.tail if line.strip())[-400:]
            raise ShipwayError(
                f"a build step failed (exit code {code}): {last or 'no output'}; fix it and "
                "deploy again (the running release keeps serving)"
            )
        try:
            data = base64.b64decode("".join(output.encoded), validate=True)
        except binascii.Error:
            raise ShipwayError("the build steps' output was cut short; deploy again") from None
        return layer_from_tar(data, store)

    return cached_layer(f"build-{key}", make, store)


def layer_from_tar(data: bytes, store: BlobStore) -> Layer:
    """A layer of the entries of a gzipped tar written under app/: regular files,
    directories and links that stay inside /app; anything else is refused."""
    with tempfile.TemporaryDirectory(prefix="shipway-build-") as tmp:
        entries = _entries(data, Path(tmp))
        return write_layer(with_parents(entries, owner=APP_UID), store)


def _entries(data: bytes, tmp: Path) -> list[Entry]:
    entries: list[Entry] = []
    links: dict[str, str] = {}
    total = 0
    label = "the build steps' output"
    with (
        decompressed(io.BytesIO(data), "gz", label, len(data)) as stream,
        read_tar(stream, label) as tar,
    ):
        for index, member in enumerate(tar):
            if index >= MAX_MEMBERS:
                raise ShipwayError(f"the build steps wrote more than {MAX_MEMBERS} files")
            name = _checked_name(member.name)
            if member.isdir():
                entries.append(Entry(name, owner=APP_UID))
            elif member.issym():
                links[name] = member.linkname
                entries.append(Entry(name, link=member.linkname, owner=APP_UID))
            elif member.isfile():
                total += member.size
                if total > MAX_BYTES:
                    raise ShipwayError("the build steps wrote more than 512 MiB under /app")
                entries.append(_file(tar, member, name, tmp / str(index)))
            # hard links, devices and FIFOs are left out: the layer holds none
    _check_links(entries, links)
    return entries


def _file(tar: TarStream, member: tarfile.TarInfo, name: str, dest: Path) -> Entry:
    with tar.data(member) as source, dest.open("wb") as out:
        shutil.copyfileobj(source, out)
    return Entry(name, source=dest, executable=bool(member.mode & 0o111), owner=APP_UID)


def _checked_name(name: str) -> str:
    clean = entry_path(name)
    if clean is None or not clean.startswith("app/"):
        raise ShipwayError(f"the build steps' output names a path outside /app: {name[:80]!r}")
    return clean


def _check_links(entries: list[Entry], links: dict[str, str]) -> None:
    """Every link, resolved through the others (``a -> .`` then ``b -> a/..``), points
    into /app, and no entry lies under one of them: the layer is written sorted, so such
    an entry would be written through the link (the classic tar attack)."""
    for name, target in links.items():
        resolved = canonical(posixpath.join(posixpath.dirname(name), target), links, full=True)
        if resolved != "app" and not resolved.startswith("app/"):
            raise ShipwayError(f"the build steps made a link out of /app: {name[:80]!r}")
    for entry in entries:
        parent = posixpath.dirname(entry.name)
        while parent:
            if parent in links:
                raise ShipwayError(
                    f"the build steps' output puts {entry.name[:80]!r} under its own link "
                    f"{parent[:80]!r}"
                )
            parent = posixpath.dirname(parent)


def pod_runner(
    client: Client,
    namespace: str,
    proj: Project,
    image: str,
    config_vars: dict[str, str],
    timeout: float,
) -> PodRunner:
    """Runs a command in a one-off pod of ``image`` with the config vars (kept in a Secret
    of their own for the pod's life) on a writable /app."""
    spec = proj.spec.model_copy(update={"read_only": False})

    def run(command: list[str], emit: Callable[[str], None]) -> int:
        store.apply(client, app_objects.namespace(spec, namespace), f"create {namespace}")
        grants.grant(client, namespace)
        env_name = f"{spec.name}-build-env"
        labels = o.labels(spec.name, spec.name, "build")
        store.apply(
            client, o.secret(env_name, namespace, labels, config_vars), "keep the build's vars"
        )
        try:
            ctx = app_objects.AppContext(spec, proj.plan, namespace, image, "", env_secret=env_name)
            pod = app_objects.one_off_pod(ctx, f"{spec.name}-build-{secrets.token_hex(3)}", command)
            return OneOff(client, pod).run(emit, timeout)
        finally:
            what = "delete the build's config vars"
            store.delete_if_present(client, "Secret", env_name, namespace, what)

    return run
