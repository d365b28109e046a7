"""The machine a benchmark ran on: CPU, cores, memory, load, and the versions that matter."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def describe() -> dict:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(_mem_total_kib() / 1024 / 1024, 1),
        "load_average": os.getloadavg(),
        "git": subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip(),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def one_line(info: dict) -> str:
    load = ", ".join(f"{v:.1f}" for v in info["load_average"])
    return (f"{info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB; {info['git']}; "
            f"Python {info['python']}; load average at start {load}")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _mem_total_kib() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
