"""Write one benchmark's figures into its own section of docs/PERFORMANCE.md.

Each bench script owns the text between `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->`,
so several scripts share the file without overwriting one another.
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import sys
from pathlib import Path

from core.atomic import write_text_atomic

PERFORMANCE_MD = Path(__file__).resolve().parents[1] / "docs" / "PERFORMANCE.md"
HEADER = "# Performance\n\nEvery figure below is written by the bench script named in its section; rerun the command to reproduce it.\n"


def machine_description() -> str:
    """CPU model, core count and GPU (if any), for the 'machine' line of every section."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = "no GPU"
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {gpu}, Python {platform.python_version()}"


def median(values: list[float]) -> float:
    return statistics.median(values)


def write_section(name: str, body: str, command: str | None = None, path: Path | None = None) -> None:
    """Replace (or append) section `name` of `path` (docs/PERFORMANCE.md) with `body`, machine and command."""
    path = Path(path) if path else PERFORMANCE_MD
    command = command or "python " + " ".join(sys.argv)
    block = (f"<!-- bench:{name}:start -->\n{body.rstrip()}\n\n"
             f"Machine: {machine_description()}  \nCommand: `{command}`\n<!-- bench:{name}:end -->")
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    pattern = re.compile(rf"<!-- bench:{re.escape(name)}:start -->.*?<!-- bench:{re.escape(name)}:end -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    write_text_atomic(path, text)
