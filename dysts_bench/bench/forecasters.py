"""Learned forecasters: training time per system beside the time to generate its data, and forecast speed.

Each model is fitted on Lorenz laid out as the `lyapunov` config (20 trajectories of 2,048 points at 30
per Lyapunov time) and forecasts 20 contexts of 512 points 300 steps ahead. The references, measured in
the same run, are our integrator making the same training data and the same 300-step futures: how much
more it costs to learn a system than to simulate it, and whether the surrogate forecasts faster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .record import CPU_NOTE, Figure, NotAvailable, Record, timed

if TYPE_CHECKING:
    from .suite import Context

# Each benchmark imports the part it measures when it runs: a part that is missing or broken makes that
# benchmark "not available" instead of stopping the suite, and no benchmark pays for another's imports.

LORENZ_LAMBDA = 0.9056  # the literature value; the sampling only needs to match the config's
N_SERIES, TRAIN_POINTS, CONTEXT, HORIZON = 20, 2048, 512, 300
TOLERANCE = 1e-10  # the `lyapunov` config's integrator tolerance
MODELS = {"esn": "ESN", "plrnn": "shPLRNN + GTF", "transformer": "patch transformer"}


def _lorenz_layout() -> dict[str, Any]:
    """Training series, test contexts and the CPU seconds our integrator took to make them (shared)."""
    from ..integrate.solve import integrate
    from ..system import get_system

    lorenz = get_system("Lorenz")
    dt = 1.0 / (30 * LORENZ_LAMBDA)
    rng = np.random.default_rng(0)
    attractor = integrate(lorenz, t_end=500.0, dt_out=dt, transient=50.0, rtol=TOLERANCE, atol=TOLERANCE).y
    starts = attractor[rng.choice(len(attractor), 2 * N_SERIES, replace=False)]
    train, gen_seconds = timed(lambda: integrate(lorenz, starts[:N_SERIES], t_end=(TRAIN_POINTS - 1) * dt,
                                                 dt_out=dt, rtol=TOLERANCE, atol=TOLERANCE).y)
    test = integrate(lorenz, starts[N_SERIES:], t_end=(CONTEXT - 1) * dt, dt_out=dt, rtol=TOLERANCE,
                     atol=TOLERANCE).y
    _, future_seconds = timed(lambda: integrate(lorenz, test[:, -1], t_end=HORIZON * dt, dt_out=dt,
                                                rtol=TOLERANCE, atol=TOLERANCE))
    return {"dt": dt, "train": list(train), "contexts": test, "gen_seconds": gen_seconds,
            "future_points_per_s": N_SERIES * HORIZON / future_seconds}


def training(name: str) -> Any:
    """The benchmark of forecaster `name`: its fit time per system and its forecast throughput."""

    def run(ctx: Context) -> Record:
        from ..forecast.registry import load_forecaster_class

        try:
            cls = load_forecaster_class(name)
        except Exception as exc:  # torch missing, or the plugin not installed
            raise NotAvailable(f"the forecaster {name!r} cannot be loaded ({exc})") from exc
        data = ctx.shared("lorenz-layout", _lorenz_layout)
        model = cls.quick(progress=False) if ctx.quick else cls(progress=False)
        setting = "its quick preset" if ctx.quick else "its default hyper-parameters"
        _, fit_seconds = timed(lambda: model.fit(data["train"], dt=data["dt"]))
        _, predict_seconds = timed(lambda: [model.predict(c, HORIZON) for c in data["contexts"]])
        points_per_s = N_SERIES * HORIZON / predict_seconds
        return Record(
            name=f"train-{name}", title=f"{MODELS[name]}: training time per system, forecast speed",
            ours=Figure(fit_seconds, "s", f"{cls.__name__}.fit with {setting} on Lorenz, {N_SERIES} series of "
                                          f"{TRAIN_POINTS} points (the lyapunov layout)"),
            reference=Figure(data["gen_seconds"], "s", f"our integrator making those series (DOP853, "
                                                       f"rtol = atol = {TOLERANCE:g})"),
            ratio=fit_seconds / data["gen_seconds"], ratio_label="x the time to generate the data",
            goal="none (recorded)",
            notes=[CPU_NOTE,
                   f"forecasts: {points_per_s:,.0f} points/s ({N_SERIES} contexts of {CONTEXT}, {HORIZON} steps "
                   f"each), {points_per_s / data['future_points_per_s']:.2g}x the integrator's "
                   f"{data['future_points_per_s']:,.0f} points/s on the same futures"]
                  + (["--quick: the quick preset, not the size the reference results use"] if ctx.quick else []),
            details={"fit_s": fit_seconds, "predict_s": predict_seconds, "forecast_points_per_s": points_per_s,
                     "integrator_points_per_s": data["future_points_per_s"], "quick_preset": ctx.quick},
        )

    return run
