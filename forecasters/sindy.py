"""SINDy (sparse identification of nonlinear dynamics) through pysindy: a sparse polynomial ODE learned from
the training series, integrated by our own Runge–Kutta kernel to forecast.

Brunton, Proctor & Kutz 2016, "Discovering governing equations from data by sparse identification of
nonlinear dynamical systems", PNAS 113:3932. The equation-learning baseline of the field: where the true
vector field is a polynomial of low degree (Lorenz, Rössler, most of the catalogue's flows), SINDy can
find its terms and coefficients, and the harness scores that recovery beside the forecasts
(`identified_equations_`, docs/forecasters.md).

Fitting:
- derivatives of each training series by centred finite differences of order `fd_order` (pysindy's
  `FiniteDifference`); the `fd_order // 2 + 1` points at either end, where the stencil is one-sided, are
  left out. The archives sample noise-free trajectories at about 30 points per Lyapunov time, so a high
  order pays: on Lorenz-63 the relative error of the smallest coefficient falls from 8% (order 2) to 0.6%
  (order 8) and 0.1% (order 12).
- states x and derivatives ẋ are scaled per coordinate, x by the standard deviation of x and ẋ by that of
  ẋ, without centring (a shift would turn a sparse polynomial into a dense one), so that one STLSQ
  threshold means the same for every system: a term is dropped when its coefficient in scaled units is
  below it.
- a polynomial library of `degree` (pysindy's `PolynomialLibrary`, constant term included) and sequentially
  thresholded least squares (pysindy's `STLSQ`, ridge `alpha`, the last fit on the kept terms unbiased).
- `degree="auto"` and `threshold="auto"` choose both from `DEGREES` × `THRESHOLDS` on held-out series
  (`validation_fraction`), by how long forecasts of held-out windows stay valid, as the ESN and NG-RC do,
  with a preference for parsimony: candidates are ordered lower degree first, then larger threshold (the
  sparser model), and the first within `PARSIMONY` (5%) of the best mean valid time wins. Without it,
  spurious cubic terms that offset the finite-difference bias win by a step or two on Lorenz-63, and the
  true 7-term model is lost. The chosen pair is refitted on all series. Degrees whose library would exceed
  `MAX_FEATURES` terms are skipped.

Forecasting integrates the identified equations from the context's last state with DOP853 (`RTOL`); a
model that blows up, or needs more than `MAX_STEPS_PER_POINT` steps per output point (a stiff spurious
term), raises ForecasterError, which the harness records as `invalid` with the message.

Saved files (`save`/`load`) are `.npz`: the arrays `exponents` (m, dim) and `coefficients` (dim, m) of the
identified field in the original units, and JSON strings `params` and `fitted` (dt, the dimension, the
chosen degree and threshold, the state scales).
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from dysts_bench.forecast.protocol import ForecasterError, ForecasterTags, get_params
from dysts_bench.integrate.polynomial import PolynomialField
from dysts_bench.integrate.solve import integrate

from ._learned import (
    Standardizer,
    check_context_dim,
    check_fitted,
    check_series,
    holdout_split,
    read_npz,
    select_by_valid_time,
    validation_windows,
)

logger = logging.getLogger(__name__)

DEGREES = (1, 2, 3)
THRESHOLDS = (0.3, 0.1, 0.03, 0.01, 0.003, 0.001)  # in scaled units (module docstring), sparsest first
QUICK = {"degree": 2, "threshold": 0.1}
PARSIMONY = 0.05  # the simplest candidate within this share of the best held-out valid time is chosen
MAX_FEATURES = 400       # library terms; a 10-D cubic library has 286
RTOL = 1e-9
MAX_STEPS_PER_POINT = 200  # DOP853 steps per output point before a forecast counts as stiff


class SINDy:
    """Sparse polynomial ODE identified with pysindy (STLSQ), integrated to forecast."""

    name = "sindy"
    tags = ForecasterTags(multivariate=True, global_model=False, stochastic=False, requires_gpu=False)

    def __init__(self, degree: int | list[int] | str = "auto", threshold: float | list[float] | str = "auto",
                 alpha: float = 0.05, fd_order: int = 10, validation_fraction: float = 0.2):
        self.degree = degree
        self.threshold = threshold
        self.alpha = alpha
        self.fd_order = fd_order
        self.validation_fraction = validation_fraction

    @classmethod
    def quick(cls, **overrides: Any) -> SINDy:
        """A fixed degree and threshold, skipping the selection (for tests and smoke runs)."""
        return cls(**{**QUICK, **overrides})

    @property
    def fitted_params_(self) -> dict[str, float]:
        """What fit chose on held-out data (recorded per system in results files)."""
        n_terms = int(np.sum(self.field_.coefficients != 0))
        return {"degree": self.degree_, "threshold": self.threshold_, "n_terms": n_terms}

    @property
    def identified_equations_(self) -> PolynomialField:
        """The identified vector field in the original units (scored against the true equations)."""
        check_fitted(self, "field_")
        return self.field_

    # ------------------------------------------------------------------------------------------ training

    def fit(self, series: list[np.ndarray], *, dt: float) -> SINDy:
        """Chooses the degree and threshold on held-out series, then identifies the equations on all of them."""
        asked, thresholds = self._grid()
        trim = self.fd_order // 2 + 1
        dim = check_series(series, "SINDy", min_length=2 * trim + 2)
        degrees = [d for d in asked if _n_features(dim, d) <= MAX_FEATURES]
        if not degrees:
            raise ForecasterError(f"SINDy: a {dim}-D polynomial library of degree {min(asked)} has more "
                                  f"than {MAX_FEATURES} terms; pass degree=1")
        data = [np.asarray(s, dtype=float) for s in series if len(s) >= 2 * trim + 2]
        self.scaler_ = Standardizer.fit(data)
        self.dt_, self.dim_ = float(dt), dim
        if len(degrees) * len(thresholds) == 1:
            self.degree_, self.threshold_ = degrees[0], thresholds[0]
        else:
            self.degree_, self.threshold_ = self._select(degrees, thresholds,
                                                         *holdout_split(data, self.validation_fraction))
        self.field_ = self._identify(self._derivatives(data), self.degree_, self.threshold_)
        logger.info("SINDy fitted on %d series: degree %d, threshold %g, %d terms", len(data), self.degree_,
                    self.threshold_, int(np.sum(self.field_.coefficients != 0)))
        return self

    def _grid(self) -> tuple[list[int], list[float]]:
        """The candidate degrees and thresholds, checked along with the other hyper-parameters."""
        degrees = [int(d) for d in np.atleast_1d(DEGREES if self.degree == "auto" else self.degree)]
        thresholds = [float(t) for t in np.atleast_1d(THRESHOLDS if self.threshold == "auto" else self.threshold)]
        if not degrees or min(degrees) < 1 or max(degrees) > 5:
            raise ForecasterError(f"SINDy: need degrees from 1 to 5, got degree={self.degree!r}")
        if not thresholds or min(thresholds) < 0 or self.alpha < 0 or not 0 < self.validation_fraction < 1:
            raise ForecasterError(f"SINDy: need thresholds >= 0, alpha >= 0 and 0 < validation_fraction < 1, got "
                                  f"threshold={self.threshold!r}, alpha={self.alpha}, "
                                  f"validation_fraction={self.validation_fraction}")
        if int(self.fd_order) != self.fd_order or self.fd_order < 1:
            raise ForecasterError(f"SINDy: fd_order must be a positive integer, got {self.fd_order!r}")
        # Ties in the selection go to the first candidate: the lowest degree, then the largest threshold.
        return sorted(set(degrees)), sorted(set(thresholds), reverse=True)

    def _derivatives(self, data: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(x, ẋ) of every series, without the ends where the difference stencil is one-sided."""
        import pysindy as ps

        difference, trim = ps.FiniteDifference(order=int(self.fd_order)), self.fd_order // 2 + 1
        return [(x[trim:-trim], difference._differentiate(x, self.dt_)[trim:-trim]) for x in data]

    def _identify(self, pairs: list[tuple[np.ndarray, np.ndarray]], degree: int, threshold: float) -> PolynomialField:
        """The sparse polynomial field of `degree` fitted to (x, ẋ) pairs with STLSQ at `threshold`."""
        import pysindy as ps

        x_scale = self.scaler_.std
        dx_scale = np.concatenate([dx for _, dx in pairs]).std(axis=0)
        dx_scale = np.where(dx_scale > 0, dx_scale, 1.0)
        library = ps.PolynomialLibrary(degree=degree)
        model = ps.SINDy(optimizer=ps.STLSQ(threshold=threshold, alpha=self.alpha), feature_library=library)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # STLSQ warns when a threshold drops every term of an equation
            model.fit([x / x_scale for x, _ in pairs], t=self.dt_, x_dot=[dx / dx_scale for _, dx in pairs])
        exponents = np.asarray(library.powers_, dtype=np.int64)
        # ẋ_i = s'_i Σ_j ξ_ij Π_k (x_k / s_k)^e_jk: back to the original units.
        coefficients = model.coefficients() * dx_scale[:, None] / np.prod(x_scale ** exponents, axis=1)[None, :]
        return PolynomialField(exponents, coefficients, name="SINDy model")

    def _select(self, degrees: list[int], thresholds: list[float], fitted: list[np.ndarray],
                held: list[np.ndarray]) -> tuple[int, float]:
        """The (degree, threshold) whose model forecasts the held-out windows validly for longest on average."""
        contexts, futures = validation_windows(held, 1)
        if not contexts:
            raise ForecasterError("SINDy: the training series are too short to compare degrees and thresholds; "
                                  "pass a single degree and threshold")
        starts, truth = np.stack([c[-1] for c in contexts]), self.scaler_.transform(np.stack(futures))
        pairs = self._derivatives(fitted)
        models = {(d, t): self._identify(pairs, d, t) for d in degrees for t in thresholds}
        return select_by_valid_time(
            list(models), lambda c: self.scaler_.transform(self._run(models[c], starts, truth.shape[1])),
            truth, "SINDy (degree, threshold)", label=lambda c: f"({c[0]}, {c[1]:g})", within=PARSIMONY)

    def _run(self, field: PolynomialField, starts: np.ndarray, horizon: int) -> np.ndarray:
        """(B, horizon, dim) states after the (B, dim) starts, NaN after a failure."""
        return self._integrate(field, np.atleast_2d(starts), horizon).y[:, 1:]

    def _integrate(self, field: PolynomialField, starts: np.ndarray, horizon: int) -> Any:
        """The Solution of `horizon` output steps of the field from `starts` (one state or a batch)."""
        return integrate(field, starts, t_end=horizon * self.dt_, dt_out=self.dt_, rtol=RTOL,
                         atol=RTOL * float(np.min(self.scaler_.std)), max_steps=MAX_STEPS_PER_POINT * horizon + 1000)

    # ---------------------------------------------------------------------------------------- forecasting

    def predict(self, context: np.ndarray, horizon: int) -> np.ndarray:
        """Integrates the identified equations from the context's last state for `horizon` steps."""
        check_fitted(self, "field_")
        check_context_dim(context, self.dim_, "SINDy")
        solution = self._integrate(self.field_, np.asarray(context[-1], dtype=float), horizon)
        if not solution.ok:
            failed = int(np.argmax(~np.all(np.isfinite(solution.y), axis=-1)))
            raise ForecasterError(f"SINDy: the identified equations could not be integrated past step {failed} "
                                  f"of {horizon} ({solution.status.name}: the model diverges or is stiff)")
        return solution.y[1:]

    # ------------------------------------------------------------------------------------------ save/load

    def save(self, path: str | Path) -> Path:
        """Writes the fitted model to an `.npz` file (format in the module docstring); returns the path."""
        check_fitted(self, "field_")
        path = Path(path)
        fitted = {"dt": self.dt_, "dim": self.dim_, "degree": self.degree_, "threshold": self.threshold_,
                  "scaler": self.scaler_.as_dict()}
        with path.open("wb") as f:
            np.savez(f, exponents=self.field_.exponents, coefficients=self.field_.coefficients,
                     params=json.dumps(get_params(self)), fitted=json.dumps(fitted))
        return path

    @classmethod
    def load(cls, path: str | Path) -> SINDy:
        """A fitted SINDy read from a file written by `save`."""
        arrays, params, fitted = read_npz(path, "SINDy", {"exponents", "coefficients"})
        model = cls(**params)
        model.field_ = PolynomialField(arrays["exponents"], arrays["coefficients"], name="SINDy model")
        model.dt_, model.dim_ = float(fitted["dt"]), int(fitted["dim"])
        model.degree_, model.threshold_ = int(fitted["degree"]), float(fitted["threshold"])
        model.scaler_ = Standardizer.from_dict(fitted["scaler"])
        return model


def _n_features(dim: int, degree: int) -> int:
    """The number of monomials of `dim` variables up to `degree`, the constant included."""
    return math.comb(dim + degree, degree)
