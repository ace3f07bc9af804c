"""The Pod Security Standards' "restricted" profile, checked on a pod spec.

Mirrors the checks of Kubernetes' pod-security admission (baseline + restricted), so
rendered workloads are known to be admitted by a namespace that enforces it.
"""

from __future__ import annotations

from typing import Any

ALLOWED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def pod_templates(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for obj in objects:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] == "Pod":
            found.append((name, obj["spec"]))
        elif obj["kind"] in {"Deployment", "StatefulSet", "Job", "DaemonSet", "ReplicaSet"}:
            found.append((name, obj["spec"]["template"]["spec"]))
    return found


def violations(pod: dict[str, Any]) -> list[str]:
    problems = []
    psc = pod.get("securityContext", {})
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            problems.append(f"{flag} is set")
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            problems.append(f"volume {volume['name']} uses {kinds - ALLOWED_VOLUMES}")
    if psc.get("runAsUser") == 0:
        problems.append("pod runAsUser is 0")
    pod_seccomp = psc.get("seccompProfile", {}).get("type")
    containers = pod.get("initContainers", []) + pod["containers"]
    for c in containers:
        problems += [f"{c['name']}: {p}" for p in _container(c, psc, pod_seccomp)]
    return problems


def _container(c: dict[str, Any], psc: dict[str, Any], pod_seccomp: str | None) -> list[str]:
    sc = c.get("securityContext", {})
    problems = []
    if sc.get("privileged"):
        problems.append("privileged")
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation is not false")
    caps = sc.get("capabilities", {})
    if "ALL" not in caps.get("drop", []):
        problems.append("capabilities do not drop ALL")
    if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
        problems.append("adds capabilities")
    if not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
        problems.append("runAsNonRoot is not true")
    if sc.get("runAsUser") == 0:
        problems.append("runAsUser is 0")
    seccomp = sc.get("seccompProfile", {}).get("type") or pod_seccomp
    if seccomp not in {"RuntimeDefault", "Localhost"}:
        problems.append("seccompProfile is not RuntimeDefault")
    if any(p.get("hostPort") for p in c.get("ports", [])):
        problems.append("uses a hostPort")
    return problems
