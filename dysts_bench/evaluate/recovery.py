"""Equation recovery: the polynomial an equation learner (SINDy) identified, against the system's true
equations expanded into monomials.

Where the spec's right-hand side, its parameters substituted, is a polynomial in the state variables
(sympy expands it exactly; no time, no delays, no other function of a state), the true terms T are its
(equation, monomial) pairs with a non-zero coefficient ξ, and the identified ones S those of ξ̂. Scores
(the conventions of the SINDy literature, e.g. Kaptanoglu et al. 2022):

- precision |S ∩ T| / |S| (None when nothing was identified) and recall |S ∩ T| / |T|;
- coefficient_error ‖ξ̂ − ξ‖₂ / ‖ξ‖₂ over all terms (a missed or spurious term counts in full);
- max_term_error, the largest |ξ̂ − ξ| / |ξ| over the true terms (1 for a missed term).

A system whose equations are not such a polynomial gets status `not_polynomial` and no scores.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DystsBenchError
from ..integrate.polynomial import PolynomialField
from ..integrate.solve import integrate

if TYPE_CHECKING:
    from ..system import System

ZERO = 1e-12  # an expanded true coefficient below this share of the largest is rounding, not a term
MATCH_TOLERANCE = 1e-3  # normalized error (in σ) within which the equations must reproduce the forecast


class NotPolynomialError(DystsBenchError):
    """The system's vector field is not a polynomial in its states."""


def true_field(system: System) -> PolynomialField:
    """The system's vector field as a PolynomialField; NotPolynomialError says why it is not one."""
    import sympy as sp  # a heavy import, needed only for equation learners' scores

    from ..compile import symbolic  # imports sympy

    program = system.program
    if program.lags:
        raise NotPolynomialError(f"{system.name} is a delay equation")
    if program.uses_time:
        raise NotPolynomialError(f"{system.name} depends on time (a forced system)")
    states = [sp.Symbol(s, real=True) for s in program.states]
    symbols: dict[str, sp.Expr] = dict(zip(program.states, states, strict=True))
    symbols.update({p: sp.Float(system.params[p], 17) for p in program.params})
    terms: dict[tuple[int, ...], np.ndarray] = {}
    rows = symbolic.program_equations(program, symbols, system.name)
    for i, (state, expression) in enumerate(zip(program.states, rows, strict=True)):
        try:
            poly = sp.Poly(sp.expand(expression), *states)
        except sp.PolynomialError:
            raise NotPolynomialError(f"{system.name}: the equation of {state} is not a polynomial in the "
                                     "states") from None
        for exponents, coefficient in poly.terms():
            try:
                value = float(coefficient)
            except TypeError:
                raise NotPolynomialError(f"{system.name}: the equation of {state} has a coefficient that is "
                                         f"not a number ({coefficient})") from None
            terms.setdefault(tuple(exponents), np.zeros(len(states)))[i] += value
    if not terms:
        return PolynomialField(np.zeros((0, len(states)), dtype=int), np.zeros((len(states), 0)), name=system.name)
    exponents = np.array(sorted(terms), dtype=np.int64)
    coefficients = np.array([terms[tuple(e)] for e in exponents]).T
    biggest = np.abs(coefficients).max(initial=0.0)
    coefficients[np.abs(coefficients) <= ZERO * biggest] = 0.0
    return PolynomialField(exponents, coefficients, name=system.name)


def _term_map(field: PolynomialField) -> dict[tuple[int, tuple[int, ...]], float]:
    """(equation, monomial exponents) -> coefficient of every non-zero term."""
    return {(int(i), tuple(int(v) for v in field.exponents[j])): float(field.coefficients[i, j])
            for i, j in zip(*np.nonzero(field.coefficients), strict=True)}


def compare_fields(identified: PolynomialField, true: PolynomialField) -> dict[str, Any]:
    """Precision, recall and coefficient errors of the identified terms against the true ones."""
    found, truth = _term_map(identified), _term_map(true)
    correct = set(found) & set(truth)
    union = set(found) | set(truth)
    norm = math.sqrt(math.fsum(c * c for c in truth.values()))
    error = math.sqrt(math.fsum((found.get(k, 0.0) - truth.get(k, 0.0)) ** 2 for k in union))
    return {
        "status": "ok", "message": "",
        "n_true": len(truth), "n_identified": len(found), "n_correct": len(correct),
        "precision": len(correct) / len(found) if found else None,
        "recall": len(correct) / len(truth) if truth else None,
        "coefficient_error": error / norm if norm > 0 else None,
        "max_term_error": max((abs(found.get(k, 0.0) - c) / abs(c) for k, c in truth.items()), default=None),
    }


def recovery(system: System, identified: PolynomialField) -> dict[str, Any]:
    """The recovery scores of `identified` on `system` (module docstring), or its `not_polynomial` status."""
    try:
        true = true_field(system)
    except NotPolynomialError as exc:
        return {"status": "not_polynomial", "message": str(exc)}
    if true.dim != identified.dim:
        raise DystsBenchError(f"{system.name}: identified equations of dimension {identified.dim}, but the "
                              f"system has {true.dim} states")
    return compare_fields(identified, true)


def mismatch(message: str) -> dict[str, Any]:
    """The recovery of equations that do not reproduce the forecaster's own forecast: not scored."""
    return {"status": "mismatch", "message": message}


def reproduces(field: PolynomialField, start: np.ndarray, forecast: np.ndarray, dt: float,
               sigma: np.ndarray, steps: int = 10) -> bool:
    """Whether integrating `field` from `start` gives the first `steps` points of `forecast` (within
    MATCH_TOLERANCE in units of σ): the identified equations are what the forecaster forecasts with."""
    steps = min(steps, len(forecast))
    solution = integrate(field, np.asarray(start, dtype=float), t_end=steps * dt, dt_out=dt, rtol=1e-10,
                         atol=1e-10 * float(np.min(sigma)), max_steps=100_000)
    if not solution.ok:
        return False
    scale = math.sqrt(float(np.sum(np.asarray(sigma) ** 2))) or 1.0
    error = np.linalg.norm(solution.y[1: steps + 1] - forecast[:steps], axis=-1) / scale
    return bool(np.all(error <= MATCH_TOLERANCE))


def terms_of(field: PolynomialField) -> list[dict[str, Any]]:
    """The field's non-zero terms as JSON: [{"equation": i, "exponents": [...], "coefficient": c}, ...]."""
    return [{"equation": i, "exponents": list(e), "coefficient": c} for (i, e), c in sorted(_term_map(field).items())]


def field_of(terms: list[Any], dim: int, name: str = "identified equations") -> PolynomialField:
    """The PolynomialField of terms as `terms_of` writes them (objects with the same three attributes)."""
    monomials = sorted({tuple(t.exponents) for t in terms})
    index = {m: j for j, m in enumerate(monomials)}
    coefficients = np.zeros((dim, len(monomials)))
    for t in terms:
        coefficients[t.equation, index[tuple(t.exponents)]] += t.coefficient
    exponents = np.array(monomials, dtype=np.int64).reshape(len(monomials), dim)
    return PolynomialField(exponents, coefficients, name=name)
