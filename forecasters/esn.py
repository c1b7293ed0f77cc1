"""Echo state network (reservoir computer): a fixed random recurrent reservoir, a ridge-regression read-out,
run closed-loop to forecast.

A compact numpy implementation rather than reservoirpy: the model is a leaky-tanh recurrence and one
linear solve (about a hundred lines), numpy is already a dependency, the arrays are ours to save with
`np.savez` and to seed exactly, and reservoirpy would add a dependency (and its own node/graph
abstractions and global seeding) for nothing the benchmark needs.

The model (Jaeger 2001; Lukoševičius 2012, "A practical guide to applying echo state networks"), on
inputs u standardized per coordinate with the training data's mean and standard deviation:

    r_{t+1} = (1 − a)·r_t + a·tanh(W r_t + W_in u_t + b)
    û_{t+1} = W_out [1, r_{t+1}, r_{t+1}²(every other unit)]

W is sparse (`density`) with its spectral radius set to `spectral_radius`; W_in and b are uniform in
±`input_scaling` and ±`bias_scaling`. Squaring every other unit in the read-out breaks the tanh
reservoir's odd symmetry r → −r, which otherwise caps forecasts of systems like Lorenz (Pathak et al.
2017, Chaos 27, 121102; Herteux & Räth 2020). The read-out sees only the bounded reservoir states, not
the input itself (as Pathak et al.): a linear input term can grow without bound in closed loop, and did
on half the systems of the `lyapunov` config. W_out solves the ridge problem
(ΦᵀΦ + ridge·I) W_outᵀ = ΦᵀU over all training series after a washout of `washout` steps each.

The best ridge differs by orders of magnitude between systems, so `ridge` may be a list (the default,
"auto", is `RIDGES`, 1e-8 to 1e-2): each value is
fitted on the training series less a held-out share (`validation_fraction`), scored by how long
closed-loop forecasts of held-out windows stay within half a standard deviation (their valid prediction
time), and the best is refitted on all series (`ridge_` holds the choice). With a single training
series the windows come from that series. `predict` drives the reservoir with the context, then feeds
its own forecasts back (closed loop).

Saved files (`save`/`load`) are `.npz`: the arrays W, W_in, b, W_out, mean, std and a JSON string
`params` (the constructor arguments) and `fitted` (dt, the dimension and the chosen ridge).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from dysts_bench.forecast.protocol import ForecasterError, ForecasterTags, get_params

from ._learned import (
    RIDGES,
    Standardizer,
    check_context_dim,
    check_fitted,
    check_series,
    progress_bar,
    read_npz,
    ridge_solve,
    select_by_valid_time,
    validation_windows,
)

logger = logging.getLogger(__name__)

# Hyper-parameters of `ESN.quick()`: small enough that a fit takes a fraction of a second.
QUICK = {"n_units": 100, "washout": 20}


class ESN:
    """Echo state network with a ridge read-out, forecasting all coordinates jointly in closed loop."""

    name = "esn"
    tags = ForecasterTags(multivariate=True, global_model=False, stochastic=True, requires_gpu=False)

    def __init__(self, n_units: int = 500, spectral_radius: float = 0.5, leak_rate: float = 1.0,
                 input_scaling: float = 0.2, bias_scaling: float = 0.5, density: float = 0.02,
                 ridge: float | list[float] | str = "auto", validation_fraction: float = 0.2, washout: int = 100,
                 square_half: bool = True, seed: int = 0, progress: bool = True):
        self.n_units = n_units
        self.spectral_radius = spectral_radius
        self.leak_rate = leak_rate
        self.input_scaling = input_scaling
        self.bias_scaling = bias_scaling
        self.density = density
        self.ridge = ridge
        self.validation_fraction = validation_fraction
        self.washout = washout
        self.square_half = square_half
        self.seed = seed
        self.progress = progress

    @classmethod
    def quick(cls, **overrides: Any) -> ESN:
        """A small configuration that fits in well under a second (for tests and smoke runs)."""
        return cls(**{**QUICK, **overrides})

    @property
    def fitted_params_(self) -> dict[str, float]:
        """What fit chose on held-out data (recorded per system in results files)."""
        return {"ridge": self.ridge_}

    # ------------------------------------------------------------------------------------------ training

    def fit(self, series: list[np.ndarray], *, dt: float) -> ESN:
        """Draws the reservoir from `seed`, picks the ridge on held-out data and solves the read-out."""
        dim = check_series(series, "ESN", min_length=self.washout + 2)
        ridges = self._ridges()
        self.scaler_ = Standardizer.fit(series)
        self._draw_reservoir(dim, np.random.default_rng(self.seed))
        data = [self.scaler_.transform(np.asarray(s, dtype=float)) for s in series if len(s) > self.washout + 1]
        n_held = 0 if len(ridges) == 1 or len(data) == 1 else max(1, round(self.validation_fraction * len(data)))
        fitted, held = data[: len(data) - n_held], data[len(data) - n_held:]
        with progress_bar(len(data), "ESN reservoir", self.progress) as bar:
            gram, cross = self._normal_equations(fitted, bar)
            held_gram, held_cross = self._normal_equations(held, bar)
        if len(ridges) == 1:
            self.ridge_ = ridges[0]
        else:
            self.ridge_ = self._select_ridge(ridges, gram, cross, held or data)
        self.W_out_ = ridge_solve(gram + held_gram, cross + held_cross, self.ridge_)
        self.dt_, self.dim_ = float(dt), dim
        logger.info("ESN fitted: %d units on %d series, ridge %g", self.n_units, len(data), self.ridge_)
        return self

    def _ridges(self) -> list[float]:
        """The ridge candidates, checked along with the other hyper-parameters."""
        ridges = [float(r) for r in np.atleast_1d(RIDGES if self.ridge == "auto" else self.ridge)]
        if not 0 < self.leak_rate <= 1 or self.n_units < 1 or not 0 < self.density <= 1:
            raise ForecasterError(f"ESN: need 0 < leak_rate <= 1, n_units >= 1 and 0 < density <= 1, got "
                                  f"{self.leak_rate}, {self.n_units}, {self.density}")
        if not ridges or min(ridges) <= 0 or not 0 < self.validation_fraction < 1:
            raise ForecasterError(f"ESN: need positive ridge values and 0 < validation_fraction < 1, got "
                                  f"ridge={self.ridge!r}, validation_fraction={self.validation_fraction}")
        return ridges

    def _normal_equations(self, data: list[np.ndarray], bar: Any) -> tuple[np.ndarray, np.ndarray]:
        """ΦᵀΦ and ΦᵀU of the read-out over standardized series after their washout."""
        n_features, dim = self._n_features(), self.W_in_.shape[1]
        gram, cross = np.zeros((n_features, n_features)), np.zeros((n_features, dim))
        # Series of one length are driven together as a batch: one matrix product per time step.
        by_length: dict[int, list[np.ndarray]] = {}
        for u in data:
            by_length.setdefault(len(u), []).append(u)
        for group in by_length.values():
            u = np.stack(group)
            states = self._drive(np.zeros((len(u), self.n_units)), u[:, :-1])
            phi = self._features(states[:, self.washout:]).reshape(-1, n_features)
            gram += phi.T @ phi
            cross += phi.T @ u[:, self.washout + 1:].reshape(-1, dim)
            bar.update(len(u))
        return gram, cross

    def _select_ridge(self, ridges: list[float], gram: np.ndarray, cross: np.ndarray,
                      held_out: list[np.ndarray]) -> float:
        """The ridge whose read-out forecasts the held-out windows validly for longest on average."""
        contexts, futures = validation_windows(held_out, 2 * self.washout)
        if not contexts:
            raise ForecasterError(f"ESN: the training series are too short to compare ridge values (need more "
                                  f"than {2 * self.washout + 1} points); pass a single ridge")
        warm = self._drive(np.zeros((len(contexts), self.n_units)), np.stack(contexts))[:, -1]
        truth = np.stack(futures)
        return select_by_valid_time(ridges, lambda r: self._run(warm, truth.shape[1], ridge_solve(gram, cross, r)),
                                    truth, "ESN ridge", label=lambda r: f"{r:g}")

    def _draw_reservoir(self, dim: int, rng: np.random.Generator) -> None:
        n = self.n_units
        weights = rng.standard_normal((n, n)) * (rng.random((n, n)) < self.density)
        radius = np.max(np.abs(np.linalg.eigvals(weights)))
        if radius == 0:
            raise ForecasterError(f"ESN: the reservoir drawn with density={self.density} has no cycles "
                                  "(spectral radius 0); raise density or n_units")
        self.W_ = weights * (self.spectral_radius / radius)
        self.W_in_ = rng.uniform(-self.input_scaling, self.input_scaling, (n, dim))
        self.b_ = rng.uniform(-self.bias_scaling, self.bias_scaling, n)

    def _n_features(self) -> int:
        return 1 + self.n_units + (self.n_units + 1) // 2 * self.square_half

    def _features(self, states: np.ndarray) -> np.ndarray:
        """Read-out features [1, r, r² of every other unit] of (..., n) states."""
        parts = [np.ones((*states.shape[:-1], 1)), states]
        if self.square_half:
            parts.append(states[..., ::2] ** 2)
        return np.concatenate(parts, axis=-1)

    def _step(self, r: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The next states of (..., n) states `r` fed (..., dim) inputs `u`."""
        a = self.leak_rate
        return (1 - a) * r + a * np.tanh(r @ self.W_.T + u @ self.W_in_.T + self.b_)

    def _drive(self, r: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        """The (B, T, n) states r_1..r_T from (B, n) states r_0 fed (B, T, dim) inputs u_0..u_{T-1}."""
        states = np.empty((*inputs.shape[:2], self.n_units))
        for t in range(inputs.shape[1]):
            r = states[:, t] = self._step(r, inputs[:, t])
        return states

    def _run(self, r: np.ndarray, horizon: int, w_out: np.ndarray) -> np.ndarray:
        """(B, horizon, dim) closed-loop forecasts from (B, n) warmed-up states, in standardized units."""
        out = np.empty((len(r), horizon, w_out.shape[0]))
        for k in range(horizon):
            out[:, k] = self._features(r) @ w_out.T
            r = self._step(r, out[:, k])
        return out

    # ---------------------------------------------------------------------------------------- forecasting

    def predict(self, context: np.ndarray, horizon: int) -> np.ndarray:
        """Warms the reservoir on the context, then runs closed loop for `horizon` steps."""
        check_fitted(self, "W_out_")
        check_context_dim(context, self.dim_, "ESN")
        u = self.scaler_.transform(np.asarray(context, dtype=float))
        r = self._drive(np.zeros((1, self.n_units)), u[None])[:, -1]
        return self.scaler_.inverse(self._run(r, horizon, self.W_out_)[0])

    # ------------------------------------------------------------------------------------------ save/load

    def save(self, path: str | Path) -> Path:
        """Writes the fitted model to an `.npz` file (format in the module docstring); returns the path."""
        check_fitted(self, "W_out_")
        path = Path(path)
        with path.open("wb") as f:
            np.savez(f, W=self.W_, W_in=self.W_in_, b=self.b_, W_out=self.W_out_, mean=self.scaler_.mean,
                     std=self.scaler_.std, params=json.dumps(get_params(self)),
                     fitted=json.dumps({"dt": self.dt_, "dim": self.dim_, "ridge": self.ridge_}))
        return path

    @classmethod
    def load(cls, path: str | Path) -> ESN:
        """A fitted ESN read from a file written by `save`."""
        arrays, params, fitted = read_npz(path, "ESN", {"W", "W_in", "b", "W_out", "mean", "std"})
        model = cls(**params)
        model.W_, model.W_in_, model.b_, model.W_out_ = (arrays[k] for k in ("W", "W_in", "b", "W_out"))
        model.scaler_ = Standardizer(arrays["mean"], arrays["std"])
        model.dt_, model.dim_, model.ridge_ = float(fitted["dt"]), int(fitted["dim"]), float(fitted["ridge"])
        return model

