"""The Python an image's dependencies are installed for: version, platform, markers.

The dependencies layer is installed on this machine for another one (the base image's
Python and architecture), so everything that depends on the environment — uv's
``--python-version``/``--python-platform``, and environment markers in lock files — is
decided by this ``Target``, never by the machine running Shipway.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.markers import InvalidMarker, Marker, UndefinedComparison

from shipway.detect.plan import BuildPlan
from shipway.errors import ShipwayError

ARCH_PLATFORMS = {"amd64": "x86_64-manylinux_2_28", "arm64": "aarch64-manylinux_2_28"}


@dataclass(frozen=True)
class Target:
    python_version: str  # major.minor
    platform: str  # uv's --python-platform, e.g. x86_64-manylinux_2_28

    @property
    def machine(self) -> str:
        return self.platform.split("-", 1)[0]

    def environment(self) -> dict[str, str]:
        """PEP 508 marker values of the image (a CPython on Linux)."""
        return {
            "implementation_name": "cpython",
            "implementation_version": f"{self.python_version}.0",
            "os_name": "posix",
            "platform_machine": self.machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": "Linux",
            "platform_version": "",
            "python_full_version": f"{self.python_version}.0",
            "python_version": self.python_version,
            "sys_platform": "linux",
            "extra": "",
        }

    def allows(self, marker: str | None) -> bool:
        """Whether an environment marker holds in the image; a bad marker is False."""
        if not marker:
            return True
        try:
            return Marker(marker).evaluate(self.environment())
        except (InvalidMarker, UndefinedComparison):
            return False


def target_for(base_env: dict[str, str], architecture: str, plan: BuildPlan) -> Target:
    """The base image's own Python (its PYTHON_VERSION), else the plan's version."""
    version = base_env.get("PYTHON_VERSION") or plan.python_version
    minor = ".".join(version.split(".")[:2])
    platform = ARCH_PLATFORMS.get(architecture)
    if platform is None:
        raise ShipwayError(
            f"base image architecture '{architecture}' is not supported; "
            "use an amd64 or arm64 base image"
        )
    return Target(minor, platform)
