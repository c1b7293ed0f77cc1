"""What processor this is: results and benchmarks record it, since floating-point kernels (BLAS, torch) round
differently on different processors and a chaotic free run turns that into different forecasts."""

from __future__ import annotations

import platform
import re
from pathlib import Path


def cpu_model() -> str:
    """The processor's model name (from /proc/cpuinfo on Linux), else what `platform` knows, else "unknown"."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    return model.group(1).strip() if model else platform.processor() or "unknown"
