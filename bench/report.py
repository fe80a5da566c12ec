"""The ``make bench`` report: every figure with its same-run baseline, the ratio, its target and
whether it was met, plus the machine it ran on. Markdown to stdout, JSON to
``bench/report.json``.

    .venv/bin/python bench/report.py FIGURES_DIR [--out bench/report.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ORDER = ["protocol", "gateway", "trade", "read", "load", "multi_account", "broadcast", "replicas"]
TARGET_TEXT = {
    "max": "<= {t:g} {u}",
    "min": ">= {t:g} {u}",
    "over_baseline": "<= baseline + {t:g} {u}",
    "ratio_min": ">= {t:g}x faster than baseline",
}


def machine(load_at_start: tuple[float, float, float] | None = None) -> dict[str, Any]:
    """What the figures were measured on (they only compare within one run)."""
    cpu = "unknown"
    with open("/proc/cpuinfo") if Path("/proc/cpuinfo").exists() else _empty() as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gb = None
    if Path("/proc/meminfo").exists():
        first = Path("/proc/meminfo").read_text().splitlines()[0].split()
        memory_gb = round(int(first[1]) / 1024 / 1024, 1)
    return {
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "kernel": platform.release(),
        "os": _os_name(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": _postgres_version(),
        "load_average_at_start": list(load_at_start) if load_at_start else None,
        "load_average_at_end": list(os.getloadavg()),
        "git_commit": _git_commit(),
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


class _empty:
    def __enter__(self) -> list[str]:
        return []

    def __exit__(self, *exc: object) -> None:
        return None


def _os_name() -> str:
    path = Path("/etc/os-release")
    if path.exists():
        for line in path.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    return platform.system()


def _postgres_version() -> str | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), reverse=True):
        try:
            out = subprocess.run([str(candidate), "--version"], capture_output=True, text=True)
        except OSError:
            continue
        return out.stdout.strip() or None
    return None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True
        )
    except OSError:
        return None
    return out.stdout.strip() or None


def target_text(figure: dict[str, Any]) -> str:
    kind = figure.get("target_kind", "info")
    if kind == "info" or figure.get("target") is None:
        return ""
    return TARGET_TEXT[kind].format(t=figure["target"], u=figure.get("unit", ""))


def load(folder: Path) -> dict[str, list[dict[str, Any]]]:
    found = {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}
    ordered = {name: found.pop(name) for name in ORDER if name in found}
    return {**ordered, **found}


def _num(value: Any, digits: int = 2) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        "# make bench report",
        "",
        f"Machine: {m['cpu_model']}, {m['cores']} cores, {m['memory_gb']} GB, {m['os']} "
        f"(kernel {m['kernel']}); Python {m['python']}, SQLite {m['sqlite']}, "
        f"{m['postgresql'] or 'PostgreSQL: not installed'}.",
        f"Load average at start {m['load_average_at_start']}, at end "
        f"{m['load_average_at_end']} (a shared machine slows every figure, baselines too).",
        f"Commit {m['git_commit']}, {m['date_utc']}.",
        "",
    ]
    summary = report["summary"]
    lines.append(
        f"Targets: {summary['met']} met, {summary['missed']} missed, of {summary['targets']}."
    )
    for bench, figures in report["benches"].items():
        lines += ["", f"## {bench}", ""]
        lines.append("| figure | value | baseline (same run) | ratio | target | met |")
        lines.append("|---|---|---|---|---|---|")
        for f in figures:
            base = ""
            if f.get("baseline") is not None:
                base = f"{_num(f['baseline'], 3)} {f['unit']} ({f.get('baseline_name') or ''})"
            met = {True: "yes", False: "**no**", None: ""}[f.get("met")]
            ratio = f"{f['ratio']:.2f}x" if f.get("ratio") is not None else ""
            value = f"{_num(f['value'], 3)} {f['unit']}"
            lines.append(f"| {f['name']} | {value} | {base} | {ratio} | {target_text(f)} | {met} |")
        notes = [f"- {f['name']}: {f['note']}" for f in figures if f.get("note")]
        if notes:
            lines += ["", *notes]
    if report.get("failures"):
        lines += ["", "## benchmarks that failed", ""]
        lines += [f"- {name}: exit code {code}" for name, code in report["failures"].items()]
    return "\n".join(lines) + "\n"


def build(
    folder: Path,
    load_at_start: tuple[float, float, float] | None = None,
    failures: dict[str, int] | None = None,
) -> dict[str, Any]:
    benches = load(folder)
    every = [f for figures in benches.values() for f in figures]
    judged = [f for f in every if f.get("met") is not None]
    return {
        "machine": machine(load_at_start),
        "summary": {
            "figures": len(every),
            "targets": len(judged),
            "met": sum(1 for f in judged if f["met"]),
            "missed": sum(1 for f in judged if not f["met"]),
            "missed_names": [f["name"] for f in judged if not f["met"]],
        },
        "benches": benches,
        "failures": failures or {},
    }


def write(report: dict[str, Any], out: Path) -> None:
    out.write_text(json.dumps(report, indent=1) + "\n")
    sys.stdout.write(markdown(report))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--out", type=Path, default=HERE / "report.json")
    args = parser.parse_args()
    write(build(args.folder), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
