"""What the server runs for a queued deploy (the core's ``deploy``, warm in its process;
its build and push in a Kubernetes Job with ``--build-runner job``, see
``shipway.buildjob``), and how it puts an app back after a restart cut a deploy short."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shipway import releases
from shipway.deploy import Builder, deploy
from shipway.image.progress import Progress
from shipway.kube.client import Target
from shipway.queue.recorder import Recorder
from shipway.queue.scheduler import Request, Runner
from shipway.releasing import rollback_to

#: How long a deploy's rollout may take (as ``shipway deploy --timeout``'s default).
TIMEOUT = 180.0


def deploy_runner(
    context: str | None, timeout: float = TIMEOUT, builder: Builder | None = None
) -> Runner:
    """``builder``: where builds run (default: in this process)."""

    def run(request: Request, recorder: Recorder) -> dict[str, Any]:
        outcome = deploy(
            request.work_dir,
            context,
            {},
            None,
            timeout,
            recorder,
            request.force,
            request.app,
            builder,
        )
        release = outcome.release
        return {
            "release": release.version,
            "url": outcome.url,
            "image": release.image,
            "description": release.description,
            "changed": outcome.changed,
            "warnings": outcome.warnings,
        }

    return run


def roll_back_cut_short(
    target_of: Callable[[str], Target], timeout: float = TIMEOUT
) -> Callable[[str, Recorder], int | None]:
    """For an app whose deploy a restart cut short: its newest release, if not one that
    succeeded, is marked failed and the app rolled back to its last good release, as
    after any failed deploy. The version rolled back to (None: nothing to do)."""

    def roll_back(app: str, progress: Recorder) -> int | None:
        return cut_short(target_of(app), timeout, progress)

    return roll_back


def cut_short(target: Target, timeout: float, progress: Progress) -> int | None:
    history = releases.history(target.client, target.namespace, target.app)
    if not history or history[0].status == "succeeded":
        return None
    latest = history[0]
    if latest.status == "pending":
        releases.set_status(target.client, target.namespace, target.app, latest.version, "failed")
    good = next((r for r in history if r.status == "succeeded"), None)
    if good is None:
        return None
    progress.step(f"rolling back to v{good.version}")
    description = f"Rollback to v{good.version} (v{latest.version} cut short by a restart)"
    rollback_to(target, good, description, timeout, progress)
    return good.version
