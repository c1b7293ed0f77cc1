"""Dataset: the time to generate the `dysts2021` fine splits (100 points per period) for the whole registry."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from .record import CPU_NOTE, Figure, Record, timed

if TYPE_CHECKING:
    from .suite import Context

# Each benchmark imports the part it measures when it runs: a part that is missing or broken makes that
# benchmark "not available" instead of stopping the suite, and no benchmark pays for another's imports.

GOAL_S = 20.0
# dysts's own integration of the same 1000 points per system (Radau at 1e-12), measured in this project.
DYSTS_MINUTES = 15


def dysts2021_fine(ctx: Context) -> Record:
    """CPU seconds of `generate` for dysts2021's fine train and test splits, all systems, warm."""
    from ..data.config import load_config
    from ..data.generate import generate

    config = load_config("dysts2021").subset(splits=["train", "test"])
    out = ctx.workdir / "dysts2021-fine.zarr"

    def run() -> dict:
        shutil.rmtree(out, ignore_errors=True)
        return generate(config, out, progress=False)

    run()  # the first run compiles what is not cached yet: the figure is the warm one
    manifest, seconds = timed(run)
    ok = sum(1 for entry in manifest["systems"].values() if entry["status"] == "ok")
    return Record(
        name="dataset-dysts2021", title="Generate dysts2021 fine (train + test) for the registry, warm",
        ours=Figure(seconds, "s", f"generate dysts2021 fine splits, {ok} of {len(manifest['systems'])} systems"),
        goal=f"< {GOAL_S:g} s", passed=seconds < GOAL_S,
        notes=[CPU_NOTE, f"dysts integrates the same 1000 points per system in about {DYSTS_MINUTES} minutes "
               "(Radau at 1e-12; see generation-radau for a side-by-side figure)"],
        details={"systems_ok": ok, "systems": len(manifest["systems"])},
    )
