"""Generated credentials, kept so that rendering the same app again reuses them.

A database initialises its users from the first password it sees; a new password on
the next render would lock the app out. So each generated value is made once and kept
in a private file under the user's state directory (never in the app's source tree):
``$SHIPWAY_STATE_DIR`` or ``$XDG_STATE_HOME/shipway`` or ``~/.local/state/shipway``,
as ``apps/<namespace>/<app>.json``, mode 0600.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from pathlib import Path

from shipway.errors import ShipwayError


def state_dir() -> Path:
    explicit = os.environ.get("SHIPWAY_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "shipway"


class CredentialStore:
    def __init__(self, root: Path | None = None):
        self.root = root or state_dir()

    def path(self, namespace: str, app: str) -> Path:
        return self.root / "apps" / namespace / f"{app}.json"

    def ensure(self, namespace: str, app: str, names: list[str]) -> dict[str, str]:
        """The values for ``names``, generating (and saving) only those not yet kept."""
        path = self.path(namespace, app)
        kept = self._read(path)
        missing = [n for n in names if n not in kept]
        if missing:
            kept |= {n: secrets.token_urlsafe(24) for n in missing}
            self._write(path, kept)
        return {n: kept[n] for n in names}

    def _read(self, path: Path) -> dict[str, str]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ShipwayError(
                f"{path}: cannot read the kept credentials ({exc}); "
                "restore the file from a backup, or delete it to generate "
                "new ones (a running database will then refuse them)"
            ) from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ShipwayError(
                f"{path}: the credentials file is not a JSON object of "
                "strings; restore it from a backup"
            )
        return data

    def _write(self, path: Path, data: dict[str, str]) -> None:
        """Atomically, mode 0600, through a new file of a fresh name (``mkstemp`` opens it
        with O_EXCL: nothing planted at a known temporary path is followed or reused);
        the directories are tightened to 0700 even when they already existed."""
        for directory in (self.root, self.root / "apps", path.parent):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(directory, 0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2, sort_keys=True)
            os.replace(tmp, path)
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)
