"""Downloads from a Debian mirror, each checked before use, cached by content.

What is verified:

* ``dists/SUITE/InRelease`` is checked with ``gpgv`` against Debian's archive keyring
  (``/usr/share/keyrings/debian-archive-keyring.gpg``) when this machine has both: at
  least one good signature and no bad one, and only the signed text is read. It must
  say it is Debian's (``Origin: Debian``), of the suite asked for, and not past its
  ``Valid-Until``.
* Without gpgv or the keyring, the unsigned ``Release`` is used: the checks below still
  catch corruption and a mirror's mix-ups, but nothing proves the Release file itself is
  Debian's beyond the connection to the mirror (HTTPS only if the mirror's URL is).
* ``Packages.xz`` (else ``.gz``) must have the SHA256 and size the Release file lists, and
  each ``.deb`` the SHA256 and size its ``Packages`` entry lists.

Index files and ``.deb`` files are kept by SHA256 in ``$SHIPWAY_CACHE_DIR/debian``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from shipway.errors import ShipwayError, TemporaryError
from shipway.image import web
from shipway.image.aptresolve import Index, Package, parse_index
from shipway.image.blobs import BlobStore, HashingWriter, cache_dir
from shipway.image.compression import decompressed
from shipway.image.deb822 import IndexFile, paragraphs, release_files

KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
MAX_RELEASE = 8 << 20
#: A suite's package index, decompressed: Debian's largest (sid, amd64) is ~70 MB.
MAX_INDEX = 512 << 20
CHUNK = 1 << 20
RELEASE_FIELDS = frozenset({"Origin", "Suite", "Codename", "Valid-Until", "Acquire-By-Hash"})


def debian_store() -> BlobStore:
    return BlobStore(cache_dir() / "debian")


@dataclass
class Mirror:
    url: str
    store: BlobStore = field(default_factory=debian_store)
    timeout: float = 60
    session: web.Session = field(init=False)

    def __post_init__(self) -> None:
        # Redirects are followed (a mirror may send downloads to a CDN), without the
        # credentials of the mirror's URL once they leave its origin.
        self.session = web.Session(self.timeout, follow_redirects=True, url_credentials=True)

    def release(self, suite: str) -> str:
        """The suite's Release text, signature-checked when this machine can."""
        gpgv = shutil.which("gpgv")
        if gpgv and KEYRING.is_file():
            text = _verified(gpgv, self._get(f"dists/{suite}/InRelease"), suite)
        else:
            text = self._get(f"dists/{suite}/Release").decode("utf-8", "replace")
        _check_release(text, suite)
        return text

    def index(self, release: str, suite: str, arch: str) -> Index:
        """The packages of ``main`` for ``arch``, hash-checked against ``release``."""
        files = release_files(release, f"dists/{suite}")
        fields = next(paragraphs(release, RELEASE_FIELDS), {})
        by_hash = fields.get("Acquire-By-Hash", "").lower() == "yes"
        for name, kind in (("Packages.xz", "xz"), ("Packages.gz", "gz")):
            entry = files.get(f"main/binary-{arch}/{name}")
            if entry is None:
                continue
            folder = f"dists/{suite}/{entry.path.rsplit('/', 1)[0]}"
            # by-hash names never change content: safe while the mirror updates
            path = (
                f"{folder}/by-hash/SHA256/{entry.sha256}"
                if by_hash
                else f"dists/{suite}/{entry.path}"
            )
            blob = self._fetch(path, entry)
            where = f"the Debian mirror's {path}"
            with (
                blob.open("rb") as raw,
                decompressed(raw, kind, where, entry.size, MAX_INDEX) as stream,
            ):
                return parse_index(stream.read().decode("utf-8", "replace"))
        raise ShipwayError(
            f"the Debian mirror has no main/binary-{arch} index for {suite}; "
            "pick a base image of a Debian release and architecture the mirror carries"
        )

    def deb(self, package: Package) -> Path:
        """The package's .deb file, from the cache or the mirror."""
        return self._fetch(
            package.filename, IndexFile(package.filename, package.sha256, package.size)
        )

    def _get(self, path: str) -> bytes:
        response = self._request(path)
        try:
            data = web.bounded(response, MAX_RELEASE)
        except web.Failure as failure:
            raise _unreachable(path, failure) from None
        if data is None:
            raise ShipwayError(f"the Debian mirror's {path} is too large; use another mirror")
        return data

    def _fetch(self, path: str, expected: IndexFile) -> Path:
        digest = f"sha256:{expected.sha256}"
        if self.store.has(digest):
            return self.store.path(digest)
        response = self._request(path)
        with self.store.writer() as (out, commit):
            hashing = HashingWriter(out)
            try:
                for chunk in web.chunks(response, CHUNK):
                    hashing.write(chunk)
                    if hashing.size > expected.size:
                        break
            except web.Failure as failure:
                raise _unreachable(path, failure) from None
            finally:
                response.close()
            if hashing.digest != digest or hashing.size != expected.size:
                raise TemporaryError(
                    f"the Debian mirror sent {path} with another SHA256 than its index lists; "
                    "run the build again (or set SHIPWAY_DEBIAN_MIRROR to another mirror)"
                )
            commit(digest)
        return self.store.path(digest)

    def _request(self, path: str) -> web.Response:
        url = f"{self.url}/{path}"
        try:
            response = self.session.send("GET", url)
        except web.Failure as failure:
            raise _unreachable(path, failure) from None
        if response.status_code != 200:
            response.close()
        if response.status_code == 404:
            raise ShipwayError(
                f"the Debian mirror has no {path}; check SHIPWAY_DEBIAN_MIRROR or apt's sources, "
                "or pick a base image of a release the mirror carries"
            )
        if response.status_code != 200:
            error = TemporaryError if response.status_code >= 500 else ShipwayError
            raise error(f"the Debian mirror answered {response.status_code} for {path}")
        return response


def _unreachable(path: str, failure: web.Failure) -> TemporaryError:
    # The URL is not shown: a mirror's URL may carry credentials.
    return TemporaryError(
        f"cannot reach the Debian mirror for {path} ({failure.name}); check the "
        "network or set SHIPWAY_DEBIAN_MIRROR"
    )


def _verified(gpgv: str, signed: bytes, suite: str) -> str:
    """The text gpgv found signed by a key of Debian's keyring, else an error."""
    with tempfile.TemporaryDirectory(prefix="shipway-gpgv-") as tmp:
        source, output = Path(tmp) / "InRelease", Path(tmp) / "Release"
        source.write_bytes(signed)
        command = [gpgv, "--status-fd", "1", "--keyring", str(KEYRING)]
        result = subprocess.run(
            [*command, "--output", str(output), str(source)],
            capture_output=True,
            timeout=120,
            check=False,
        )
        status = [line.split()[1:2] for line in result.stdout.decode(errors="replace").splitlines()]
        good = ["VALIDSIG"] in status and ["BADSIG"] not in status
        if not good or not output.is_file():
            raise ShipwayError(
                f"the Debian mirror's InRelease for {suite} has no valid signature by a key of "
                f"{KEYRING}; use a trusted mirror (SHIPWAY_DEBIAN_MIRROR), or update the "
                "debian-archive-keyring package for newer releases"
            )
        return output.read_text(errors="replace")


def _check_release(text: str, suite: str) -> None:
    fields = next(paragraphs(text, RELEASE_FIELDS), {})
    if fields.get("Origin") != "Debian":
        raise ShipwayError(
            f"the mirror's {suite} Release is not Debian's (Origin: "
            f"{fields.get('Origin', 'none')[:40]}); set SHIPWAY_DEBIAN_MIRROR to a Debian mirror"
        )
    if suite not in (fields.get("Suite"), fields.get("Codename")):
        raise ShipwayError(f"the Debian mirror sent another suite's Release for {suite}")
    until = fields.get("Valid-Until")
    if until and _date(until) < datetime.now(UTC):
        raise TemporaryError(
            f"the Debian mirror's Release for {suite} expired on {until}; the mirror is stale: "
            "try again later or use another (SHIPWAY_DEBIAN_MIRROR)"
        )


def _date(text: str) -> datetime:
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return datetime.max.replace(tzinfo=UTC)
