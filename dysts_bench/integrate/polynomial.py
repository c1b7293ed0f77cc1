"""A polynomial vector field given as arrays: what equation learners (SINDy) identify, integrated by the
same kernel as the registry's systems without generating or compiling code per model.

    dx_i/dt = Σ_j coefficients[i, j] · Π_k x_k ** exponents[j, k]

The one right-hand side below reads the monomials and coefficients from its parameter array, laid out as
[dim, m, exponents (m·dim, row-major), coefficients (dim·m, row-major)], so it is compiled once (and
cached on disk) for every model; only monomials with a non-zero coefficient are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

from ..compile.modules import RHS_SIGNATURE_TEXT
from ..errors import DystsBenchError

MAX_EXPONENT = 16  # per variable: beyond this a polynomial model is not what the field means by one


@numba.njit(RHS_SIGNATURE_TEXT, cache=True, error_model="numpy")
def polynomial_rhs(x, t, p, out):
    """out = the polynomial field at x, its monomials and coefficients read from the parameter array p."""
    dim, m = int(p[0]), int(p[1])
    exponents, coefficients = 2, 2 + m * dim
    for i in range(dim):
        out[i] = 0.0
    for j in range(m):
        term = 1.0
        for k in range(dim):
            for _ in range(int(p[exponents + j * dim + k])):
                term *= x[k]
        for i in range(dim):
            out[i] += p[coefficients + i * m + j] * term


@dataclass(frozen=True)
class PolynomialField:
    """An autonomous polynomial ODE that `dysts_bench.integrate` accepts in place of a registry System."""

    exponents: np.ndarray      # (m, dim) non-negative integers: the monomials
    coefficients: np.ndarray   # (dim, m): coefficients[i, j] multiplies monomial j in dx_i/dt
    name: str = "polynomial field"
    param_array: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        exponents = np.asarray(self.exponents)
        coefficients = np.asarray(self.coefficients, dtype=float)
        if exponents.ndim != 2 or coefficients.shape != (exponents.shape[1], exponents.shape[0]):
            raise DystsBenchError(f"{self.name}: need exponents (m, dim) and coefficients (dim, m), got "
                                  f"{exponents.shape} and {coefficients.shape}")
        if not (np.all(exponents == np.round(exponents)) and exponents.min(initial=0) >= 0
                and exponents.max(initial=0) <= MAX_EXPONENT):
            raise DystsBenchError(f"{self.name}: exponents must be integers from 0 to {MAX_EXPONENT}")
        if not np.all(np.isfinite(coefficients)):
            raise DystsBenchError(f"{self.name}: the coefficients hold non-finite values")
        kept = np.any(coefficients != 0, axis=0)  # a monomial no equation uses costs time and adds nothing
        exponents, coefficients = exponents[kept].astype(np.int64), coefficients[:, kept]
        object.__setattr__(self, "exponents", exponents)
        object.__setattr__(self, "coefficients", coefficients)
        object.__setattr__(self, "param_array", np.concatenate(
            [[coefficients.shape[0], len(exponents)], exponents.ravel(), coefficients.ravel()]).astype(float))

    @property
    def dim(self) -> int:
        """The number of state variables."""
        return self.coefficients.shape[0]

    @property
    def rhs_function(self):
        """The jitted `rhs(x, t, p, out)` over pointers that the integration kernels call."""
        return polynomial_rhs

    @property
    def delay_lags(self) -> dict[str, float]:
        """None: the field is an ODE."""
        return {}

    @property
    def initial_condition(self) -> np.ndarray:
        """The origin (pass y0 to integrate from elsewhere)."""
        return np.zeros(self.dim)

    def rhs(self, x: np.ndarray) -> np.ndarray:
        """The vector field at the states x (..., dim)."""
        monomials = np.prod(np.asarray(x, dtype=float)[..., None, :] ** self.exponents, axis=-1)
        return monomials @ self.coefficients.T
