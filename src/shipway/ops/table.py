"""How a verb is declared: its name, the permission it needs, its request type, its
place in the HTTP API, and the function that does it. Front ends read this one table:
the server registers a route per verb, the remote CLI calls that route, the direct CLI
calls the function.

Requests are plain dataclasses, not pydantic models: the CLI builds them on every
command, and pydantic's import alone (~0.2 s) would double a read verb's time. The
server validates them with pydantic all the same (FastAPI understands dataclasses), and
``EXTRA`` makes it refuse unknown fields: a typo in a script must not silently do
something else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from shipway.access import Action, Actor
from shipway.errors import Denied

if TYPE_CHECKING:
    from shipway.image.progress import Progress
    from shipway.kube.client import Target

#: Set as ``__pydantic_config__`` on every request dataclass.
EXTRA: dict[str, Any] = {"extra": "forbid"}


@dataclass(frozen=True)
class NoArguments:
    __pydantic_config__ = EXTRA


def audited(request: Any) -> dict[str, Any]:
    """What the audit log keeps of a request: its fields, unless the request says
    otherwise (those that carry secret values keep only their names)."""
    custom = getattr(request, "audited", None)
    if callable(custom):
        kept: dict[str, Any] = custom()
        return kept
    return dataclasses.asdict(request)


@dataclass
class Call:
    """What a verb needs besides its arguments: the cluster, who asks, where progress
    goes. ``target`` maps an app name to the app in the cluster (its namespace)."""

    target: Callable[[str], Target]
    actor: Actor
    #: None: nobody watches (the core's functions then report nowhere).
    progress: Progress | None = None
    timeout: float = 180
    #: Whether the actor may also do this on the app (a verb that reveals more on
    #: request asks); direct mode may do anything.
    permits: Callable[[Action], bool] = lambda _action: True
    #: Where a streaming verb (logs, run) sends each line of output.
    emit: Callable[[str], None] = lambda _line: None

    def require(self, action: Action) -> None:
        if not self.permits(action):
            raise Denied(f"your role does not allow this ({action.value})")


R = TypeVar("R")


@dataclass(frozen=True)
class Verb(Generic[R]):
    name: str
    action: Action
    method: str  # HTTP: GET reads (arguments in the query), the others change something
    path: str  # under /api/v1/apps/{app}
    request: type[R]
    run: Callable[[Call, str, R], Any]
    #: Makes a release (or changes what runs): one at a time per app, like deploys.
    releases: bool = False
    #: Sends lines as it goes (``Call.emit``) before its result: logs, run.
    stream: bool = False

    @property
    def changes(self) -> bool:
        return self.method != "GET"


VERBS: dict[str, Verb[Any]] = {}


def verb(
    name: str,
    action: Action,
    method: str,
    path: str,
    request: type[R],
    releases: bool = False,
    stream: bool = False,
) -> Callable[[Callable[[Call, str, R], Any]], Callable[[Call, str, R], Any]]:
    def register(run: Callable[[Call, str, R], Any]) -> Callable[[Call, str, R], Any]:
        VERBS[name] = Verb(name, action, method, path, request, run, releases, stream)
        return run

    return register
