"""The README's table of the latest benchmark results, made from bench/results/*.json.

Each bench script writes its results there (not in --smoke); this prints the table, and
`--write` puts it in the README between its markers. tests/unit/test_bench_report.py keeps
the README's table equal to what the results files say, so it cannot go stale.

Run from the repository root:  .venv/bin/python bench/report.py [--write]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
README = ROOT / "README.md"
BEGIN = "<!-- bench:begin (bench/report.py --write) -->"
END = "<!-- bench:end -->"

Row = tuple[str, str, str, str, str]
HEADER: Row = ("measure", "shipway", "anchor (same run)", "ratio", "target")


def seconds(value: float) -> str:
    return f"{value:.2f} s"


def verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def cli_rows(data: dict[str, Any]) -> Iterator[Row]:
    for m in data["measures"]:
        target = m["target_seconds"]
        yield (
            f"`{m['measure']}`",
            seconds(m["seconds_median"]),
            f"`{m['anchor']}` {seconds(m['anchor_seconds_median'])}",
            f"{m['ratio']:.1f}x",
            f"≤ {target} s: {verdict(m['seconds_median'] <= target)}",
        )


def build_rows(data: dict[str, Any]) -> Iterator[Row]:
    cold, warm = data["cold_seconds"], data["rebuild_seconds_median"]
    yield (
        "cold build + push (~100 MB of dependencies)",
        seconds(cold["shipway"]),
        f"docker build + push {seconds(cold['docker'])}",
        f"{data['cold_speedup']:.1f}x faster",
        f"≥ 2.5x: {verdict(data['cold_speedup'] >= 2.5)}",
    )
    yield (
        "rebuild + push after a one-line change",
        seconds(warm["shipway"]),
        f"docker build + push {seconds(warm['docker'])}",
        f"{data['rebuild_speedup']:.1f}x faster",
        f"> 1x: {verdict(data['rebuild_speedup'] > 1)}",
    )
    rss = data["shipway_peak_rss_mib"]
    yield (
        "`shipway build` peak memory",
        f"{rss:.0f} MiB",
        "",
        "",
        f"< 200 MB: {verdict(rss < 190)}",
    )


def deploy_rows(data: dict[str, Any]) -> Iterator[Row]:
    still = data["no_change_seconds_median"]["shipway_cli"]
    yield (
        "deploy with nothing changed",
        seconds(still),
        "",
        "",
        f"≤ 0.6 s: {verdict(still <= 0.6)}",
    )
    if "floor_seconds_median" in data:
        live = data["change_to_live_seconds_median"]["shipway"]
        above = data["change_to_live_above_floor_seconds"]
        yield (
            "one-line change until the new code answers",
            seconds(live),
            f"floor: `kubectl rollout restart` {seconds(data['floor_seconds_median'])}",
            f"{above:+.2f} s",
            f"within 1 s of the floor: {verdict(above <= 1)}",
        )
    if "server" in data:
        yield from server_rows(data["server"])
    if "git_push" in data:
        yield from git_push_rows(data["git_push"])


def git_push_rows(pushed: dict[str, Any]) -> Iterator[Row]:
    live = pushed["change_to_live_seconds_median"]
    yield (
        "`git push` of a one-line change until the new code answers",
        seconds(live["git_push"]),
        f"by hand (docker build + push, kubectl apply + rollout status) {seconds(live['by_hand'])}",
        f"{pushed['speedup']:.1f}x faster",
        f"> 1x: {verdict(pushed['speedup'] > 1)}",
    )
    above = pushed["above_floor_seconds"]
    yield (
        "`git push`: time above the pod-replacement floor",
        f"{above:+.2f} s",
        f"floor: `kubectl rollout restart` {seconds(pushed['floor_seconds_median'])}",
        "",
        f"within 1 s of the floor: {verdict(above <= 1)}",
    )


def server_rows(server: dict[str, Any]) -> Iterator[Row]:
    build = server["build_seconds_median"]
    yield (
        "through the server: build + push of a one-line change",
        seconds(build["server"]),
        f"docker build + push {seconds(build['docker'])}",
        f"{server['build_speedup']:.1f}x faster",
        f"≥ 10x: {verdict(server['build_speedup'] >= 10)}",
    )
    above = server["change_to_live_above_floor_seconds"]
    yield (
        "through the server: one-line change until the new code answers",
        seconds(server["change_to_live_seconds_median"]),
        f"floor: `kubectl rollout restart` {seconds(server['floor_seconds_median'])}",
        f"{above:+.2f} s",
        f"within 0.5 s of the floor: {verdict(above <= 0.5)}",
    )


def scale_rows(data: dict[str, Any]) -> Iterator[Row]:
    largest = max(data["sizes"], key=lambda size: size["apps"])
    medians = largest["seconds_median"]
    target = data["target_seconds"]
    for verb, what in (
        ("apps", "`shipway apps`"),
        ("ps", f"`shipway ps` ({data['ps_pods']} pods)"),
    ):
        calls = [size["calls"][verb]["api_calls"] for size in data["sizes"]]
        yield (
            f"{what}, {largest['apps']} apps deployed",
            seconds(medians[verb]),
            "",
            f"API calls at {', '.join(str(s['apps']) for s in data['sizes'])} apps: "
            + ", ".join(map(str, calls)),
            f"≤ {target:g} s: {verdict(medians[verb] <= target)}",
        )


SOURCES: dict[str, Callable[[dict[str, Any]], Iterator[Row]]] = {
    "cli.json": cli_rows,
    "build.json": build_rows,
    "deploy.json": deploy_rows,
    "scale.json": scale_rows,
}


def table(results: Path = RESULTS) -> str:
    rows = [HEADER, ("---",) * len(HEADER)]
    for name, rows_of in SOURCES.items():
        path = results / name
        if path.exists():
            rows.extend(rows_of(json.loads(path.read_text())))
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def block(results: Path = RESULTS) -> str:
    return f"{BEGIN}\n{table(results)}\n{END}"


def readme_block(text: str) -> str:
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[start:end]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--write", action="store_true", help="update the README's table")
    args = parser.parse_args()
    if not args.write:
        print(table())
        return
    text = README.read_text()
    README.write_text(text.replace(readme_block(text), block()))
    print(f"{README.relative_to(ROOT)}: table updated", file=sys.stderr)


if __name__ == "__main__":
    main()
