"""Next-generation reservoir computer (NG-RC, a nonlinear vector autoregression): delay taps of the state,
their quadratic (optionally cubic) monomials and a ridge read-out of the increment, iterated to forecast.

Gauthier, Bollt, Griffith & Barbosa 2021, "Next generation reservoir computing", Nature Communications
12:5564. On states z standardized per coordinate with the training data's mean and standard deviation,
the feature vector at time t is

    lin_t = [z_t, z_{t−s}, …, z_{t−(k−1)s}]                        (k taps `skip` s apart: k·dim values)
    φ_t   = [1, lin_t, lin_t,i · lin_t,j for i ≤ j]                 (constant, linear, unique quadratics)
    z_{t+1} = z_t + W_out φ_t

`degree` (2, as in the paper) is the highest order of the monomials; `degree=3` adds the unique cubic
ones. The one-step map of a quadratic flow is quadratic only to first order in the time step, so coarse
sampling favours cubic terms: on Lorenz-63 at 30 points per Lyapunov time (dt ≈ 0.037) the median valid
prediction time rose from 3.3 to 8.6 Lyapunov times (tests/test_ngrc.py data).

W_out solves the ridge problem (ΦᵀΦ/N + ridge·I) W_outᵀ = ΦᵀΔZ/N over all N training samples of all
series, ΔZ being the increments z_{t+1} − z_t (as the paper, which fits the one-step change). The Gram
matrix is divided by N so that a ridge value means the same whatever the amount of training data (the
ESN's ridge acts on the unnormalized sums instead).

The number of taps and the ridge are chosen together (`k="auto"`, `ridge="auto"`: the grids `KS` and
`RIDGES`): each pair is fitted on the training series less a held-out share (`validation_fraction`; with a
single series, its last part), scored by how long closed-loop forecasts of held-out windows stay within
half a standard deviation (their valid prediction time), and the best pair is refitted on all the data;
`k_` and `ridge_` hold the choice. Ties go to fewer taps and then to the larger ridge: the simpler,
better regularized model.

A quadratic map iterated in closed loop escapes to infinity within a few steps once it leaves the
attractor, so each forecast state is clipped to a box around the training data: the per-coordinate range
of the standardized training series widened by `CLIP_MARGIN` times its width on either side. A diverging
forecast thus stays finite (it is pinned to the box, far from the truth, and scores accordingly), never
overflows to inf or NaN, and the quadratic features stay bounded.

Saved files (`save`/`load`) are `.npz`: the arrays W_out, mean, std, lower and upper (the clipping box,
standardized) and JSON strings `params` (the constructor arguments) and `fitted` (dt, the dimension and
the chosen k and ridge).
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import math
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
    holdout_split,
    read_npz,
    ridge_solve,
    select_by_valid_time,
    validation_windows,
)

logger = logging.getLogger(__name__)

# Hyper-parameters of `NGRC.quick()`: one candidate, so no selection runs.
QUICK = {"k": 2, "ridge": 1e-6}
KS = (2, 3, 4)  # the default numbers of delay taps; the paper used 2 for Lorenz-63
CLIP_MARGIN = 0.5  # forecasts are clipped to the training range widened by this share of it on each side
MAX_FEATURES = 5000  # beyond this the Gram matrix (MAX_FEATURES² floats) no longer fits comfortably


class NGRC:
    """Next-generation reservoir computer (NVAR): polynomial delay features, ridge read-out of the increment."""

    name = "ngrc"
    tags = ForecasterTags(multivariate=True, global_model=False, stochastic=False, requires_gpu=False)

    def __init__(self, k: int | list[int] | str = "auto", skip: int = 1, degree: int = 2,
                 ridge: float | list[float] | str = "auto", validation_fraction: float = 0.2):
        self.k = k
        self.skip = skip
        self.degree = degree
        self.ridge = ridge
        self.validation_fraction = validation_fraction

    @classmethod
    def quick(cls, **overrides: Any) -> NGRC:
        """A fixed k and ridge, skipping the selection (for tests and smoke runs)."""
        return cls(**{**QUICK, **overrides})

    @property
    def fitted_params_(self) -> dict[str, float]:
        """What fit chose on held-out data (recorded per system in results files)."""
        return {"k": self.k_, "ridge": self.ridge_}

    # ------------------------------------------------------------------------------------------ training

    def fit(self, series: list[np.ndarray], *, dt: float) -> NGRC:
        """Picks the taps and the ridge on held-out data, then solves the read-out on all series."""
        ks, ridges = self._grid()
        span = (max(ks) - 1) * self.skip  # steps of history behind the newest tap
        dim = check_series(series, "NGRC", min_length=span + 2)
        ks = [k for k in ks if _n_features(k * dim, self.degree) <= MAX_FEATURES]
        if not ks:
            raise ForecasterError(f"NGRC: {dim}-D series with k={self.k!r} and degree {self.degree} give more "
                                  f"than {MAX_FEATURES} features; use fewer taps (k=1 or 2) or a lower degree")
        self.scaler_ = Standardizer.fit(series)
        data = [self.scaler_.transform(np.asarray(s, dtype=float)) for s in series if len(s) >= span + 2]
        low, high = np.min([u.min(axis=0) for u in data], axis=0), np.max([u.max(axis=0) for u in data], axis=0)
        self.lower_, self.upper_ = low - CLIP_MARGIN * (high - low), high + CLIP_MARGIN * (high - low)
        if len(ks) * len(ridges) == 1:
            self.k_, self.ridge_ = ks[0], ridges[0]
        else:
            self.k_, self.ridge_ = self._select(ks, ridges, *holdout_split(data, self.validation_fraction))
        try:
            self.W_out_ = ridge_solve(*self._normal_equations(data, self.k_), self.ridge_)
        except np.linalg.LinAlgError:
            raise ForecasterError(f"NGRC: the read-out with ridge {self.ridge_:g} is singular; pass a larger "
                                  "ridge") from None
        self.dt_, self.dim_ = float(dt), dim
        logger.info("NGRC fitted on %d series: k %d, skip %d, ridge %g, %d features", len(data), self.k_,
                    self.skip, self.ridge_, self.W_out_.shape[1])
        return self

    def _grid(self) -> tuple[list[int], list[float]]:
        """The candidate tap counts and ridges, checked along with the other hyper-parameters."""
        ks = [int(k) for k in np.atleast_1d(KS if self.k == "auto" else self.k)]
        ridges = [float(r) for r in np.atleast_1d(RIDGES if self.ridge == "auto" else self.ridge)]
        if not ks or min(ks) < 1 or int(self.skip) != self.skip or self.skip < 1 or self.degree not in (1, 2, 3):
            raise ForecasterError(f"NGRC: need k >= 1 taps, an integer skip >= 1 and degree 1, 2 or 3, got "
                                  f"k={self.k!r}, skip={self.skip!r}, degree={self.degree!r}")
        if not ridges or min(ridges) <= 0 or not 0 < self.validation_fraction < 1:
            raise ForecasterError(f"NGRC: need positive ridge values and 0 < validation_fraction < 1, got "
                                  f"ridge={self.ridge!r}, validation_fraction={self.validation_fraction}")
        # Ties in the selection go to the first candidate: fewest taps, then the largest ridge.
        return sorted(set(ks)), sorted(set(ridges), reverse=True)

    def _select(self, ks: list[int], ridges: list[float], fitted: list[np.ndarray],
                held: list[np.ndarray]) -> tuple[int, float]:
        """The (k, ridge) whose read-out forecasts the held-out windows validly for longest on average."""
        span = (max(ks) - 1) * self.skip + 1  # every candidate starts from the same contexts
        contexts, futures = validation_windows(held, span)
        fitted = [u for u in fitted if len(u) >= span + 1]
        if not contexts or not fitted:
            raise ForecasterError(f"NGRC: the training series are too short to compare taps and ridges (need "
                                  f"about {2 * span + 2} points after the held-out split); pass a single k and "
                                  "ridge")
        history, truth = np.stack(contexts), np.stack(futures)
        equations = {k: self._normal_equations(fitted, k) for k in ks}
        return select_by_valid_time(
            [(k, r) for k in ks for r in ridges],
            lambda c: self._run(history, truth.shape[1], c[0], ridge_solve(*equations[c[0]], c[1])),
            truth, "NGRC (k, ridge)", label=lambda c: f"({c[0]}, {c[1]:g})")

    def _normal_equations(self, data: list[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
        """ΦᵀΦ/N and ΦᵀΔZ/N of the read-out with k taps over standardized series."""
        span, dim = (k - 1) * self.skip, data[0].shape[1]
        n_features = _n_features(k * dim, self.degree)
        gram, cross, n = np.zeros((n_features, n_features)), np.zeros((n_features, dim)), 0
        for u in data:  # one series at a time keeps the feature matrix small
            if len(u) < span + 2:
                continue
            phi = _features(self._taps(u[:-1], k), self.degree)
            gram += phi.T @ phi
            cross += phi.T @ np.diff(u[span:], axis=0)
            n += len(phi)
        return gram / n, cross / n

    def _taps(self, z: np.ndarray, k: int) -> np.ndarray:
        """The linear features [z_t, z_{t−s}, …] of every t with a full history in the (T, dim) series."""
        span, end = (k - 1) * self.skip, len(z)
        return np.concatenate([z[span - j * self.skip: end - j * self.skip] for j in range(k)], axis=-1)

    def _run(self, history: np.ndarray, horizon: int, k: int, w_out: np.ndarray) -> np.ndarray:
        """(B, horizon, dim) closed-loop forecasts after (B, T, dim) standardized histories."""
        span = (k - 1) * self.skip
        batch, _, dim = history.shape
        z = np.empty((batch, span + 1 + horizon, dim))
        z[:, : span + 1] = history[:, -(span + 1):]
        lags = self.skip * np.arange(k)
        for t in range(span, span + horizon):
            step = _features(z[:, t - lags].reshape(batch, k * dim), self.degree) @ w_out.T
            z[:, t + 1] = np.clip(z[:, t] + step, self.lower_, self.upper_)
        return z[:, span + 1:]

    # ---------------------------------------------------------------------------------------- forecasting

    def predict(self, context: np.ndarray, horizon: int) -> np.ndarray:
        """Iterates the fitted map from the last (k−1)·skip + 1 context states for `horizon` steps."""
        check_fitted(self, "W_out_")
        check_context_dim(context, self.dim_, "NGRC")
        need = (self.k_ - 1) * self.skip + 1
        if len(context) < need:
            raise ForecasterError(f"NGRC with k={self.k_}, skip={self.skip} needs a context of at least {need} "
                                  f"points, got {len(context)}")
        z = self.scaler_.transform(np.asarray(context, dtype=float))
        return self.scaler_.inverse(self._run(z[None], horizon, self.k_, self.W_out_)[0])



    # ------------------------------------------------------------------------------------------ save/load

    def save(self, path: str | Path) -> Path:
        """Writes the fitted model to an `.npz` file (format in the module docstring); returns the path."""
        check_fitted(self, "W_out_")
        path = Path(path)
        with path.open("wb") as f:
            np.savez(f, W_out=self.W_out_, mean=self.scaler_.mean, std=self.scaler_.std, lower=self.lower_,
                     upper=self.upper_, params=json.dumps(get_params(self)),
                     fitted=json.dumps({"dt": self.dt_, "dim": self.dim_, "k": self.k_, "ridge": self.ridge_}))
        return path

    @classmethod
    def load(cls, path: str | Path) -> NGRC:
        """A fitted NGRC read from a file written by `save`."""
        arrays, params, fitted = read_npz(path, "NGRC", {"W_out", "mean", "std", "lower", "upper"})
        model = cls(**params)
        model.W_out_, model.lower_, model.upper_ = arrays["W_out"], arrays["lower"], arrays["upper"]
        model.scaler_ = Standardizer(arrays["mean"], arrays["std"])
        model.dt_, model.dim_ = float(fitted["dt"]), int(fitted["dim"])
        model.k_, model.ridge_ = int(fitted["k"]), float(fitted["ridge"])
        return model


def _n_features(n_linear: int, degree: int) -> int:
    """The length of φ: a constant, the linear features and their unique monomials up to `degree`."""
    return math.comb(n_linear + degree, degree)


@functools.lru_cache(maxsize=64)
def _monomials(n_linear: int, order: int) -> np.ndarray:
    """(m, order) indices of the linear features whose products are the unique monomials of that order."""
    return np.array(list(itertools.combinations_with_replacement(range(n_linear), order)), dtype=np.intp)


def _features(linear: np.ndarray, degree: int) -> np.ndarray:
    """φ = [1, lin, lin_i·lin_j for i ≤ j, …up to `degree`] of (..., n) linear features."""
    parts = [np.ones((*linear.shape[:-1], 1)), linear]
    parts += [np.prod(linear[..., _monomials(linear.shape[-1], order)], axis=-1) for order in range(2, degree + 1)]
    return np.concatenate(parts, axis=-1)
