"""Skew products of two registry systems: a driver coupled additively into a response, written out as one spec
in our expression language (so it compiles through the same safe path as any registry entry).

    dx_d/dt = f_d(x_d)                          (the driver, unchanged)
    dx_r/dt = f_r(x_r) + K x_d                  (the response, driven)

Names of the driver get the suffix `_d` and those of the response `_r` (states, parameters, auxiliaries);
`K` is a random sparse matrix (each entry non-zero with probability `DENSITY`, at least one, N(0, 1)
values) scaled, as Panda's generator does (Lai, Bao & Gilpin 2025), by the two flows' RMS: K_ij =
strength · C_ij · rms(f_r,i) / rms(x_d,j), so that the coupling moves the response at `strength` times its
own typical speed. Each K_ij is a parameter `k_i_j` of the spec.

The chaos filter integrates a candidate as a `SkewProduct`: the same vector field, evaluated by one function
compiled once (`skew_rhs`) that calls the two parents' compiled right-hand sides through their addresses
and adds the coupling, in the order the written-out equations add it (so the bits are the spec's own).
Compiling each candidate's written-out equations cost more than the rest of the filter.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..compile.lazy import jit_on_first_call
from ..compile.modules import RHS_SIGNATURE_TEXT
from ..compile.runtime import call_rhs_at, rhs_address, shift
from ..integrate.solve import integrate
from ..specs.schema import SystemSpec
from ..system import System

DENSITY = 0.5
RMS_PERIODS = 50   # the parents' RMS come from this many periods after a transient of as many


def rename(text: str, names: Mapping[str, str]) -> str:
    """The expression `text` with its identifiers renamed (functions and constants untouched)."""

    class Renamer(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.Name:
            return ast.copy_location(ast.Name(id=names.get(node.id, node.id), ctx=node.ctx), node)

        def visit_Call(self, node: ast.Call) -> ast.Call:
            # The function's own name is not a variable: only its arguments are renamed.
            node.args = [self.visit(a) for a in node.args]
            return node

    return ast.unparse(Renamer().visit(ast.parse(str(text), mode="eval")))


@functools.lru_cache(maxsize=256)  # a parent's, drawn again and again (keyed by the parent object)
def _rms(system: System, period: float) -> tuple[np.ndarray, np.ndarray]:
    """The RMS of each state and of each component of the vector field along the attractor."""
    y = integrate(system, t_end=RMS_PERIODS * period, dt_out=period / 20, transient=RMS_PERIODS * period).y
    f = np.array([system.rhs(v) for v in y[:: max(1, len(y) // 500)]])
    return np.sqrt(np.mean(y**2, axis=0)), np.sqrt(np.mean(f**2, axis=0))


# The parameter array of a `SkewProduct`: [driver's address, response's address, driver's dimension, its number
# of parameters, number of coupling terms n, then n (i, j, K_ij) triples, the driver's and the response's
# parameters]. Addresses and counts are integers, exact in float64.
_HEAD = 5


@jit_on_first_call(RHS_SIGNATURE_TEXT, cache=True, error_model="numpy")
def skew_rhs(x, t, p, out):
    """The vector field of the skew product whose parameter array is p (layout above)."""
    n_driver, n_driver_params, n_terms = int(p[2]), int(p[3]), int(p[4])
    params = _HEAD + 3 * n_terms
    call_rhs_at(p[0], x, t, shift(p, params), out)
    call_rhs_at(p[1], shift(x, n_driver), t, shift(p, params + n_driver_params), shift(out, n_driver))
    for m in range(n_terms):  # response state i += K_ij · driver state j, i then j ascending as in the spec
        i, j = int(p[_HEAD + 3 * m]), int(p[_HEAD + 3 * m + 1])
        out[n_driver + i] += p[_HEAD + 3 * m + 2] * x[j]


class SkewProduct(System):
    """A skew product's spec, integrated through its parents' compiled right-hand sides (nothing compiles)."""

    def __init__(self, spec: SystemSpec, driver: System, response: System, coupling: list[tuple[int, int, float]]):
        super().__init__(spec)
        head = [rhs_address(driver.rhs_function), rhs_address(response.rhs_function), driver.dim,
                len(driver.params), len(coupling)]
        self._packed = np.array([*head, *(v for term in coupling for v in term), *driver.param_array,
                                 *response.param_array], dtype=float)

    @property
    def rhs_function(self) -> Any:
        """The compiled `skew_rhs`, the same function for every skew product."""
        return skew_rhs.dispatcher()

    @property
    def param_array(self) -> np.ndarray:
        """The parameter array `skew_rhs` reads (a copy)."""
        return self._packed.copy()


def skew_spec(driver: System, response: System, periods: tuple[float, float], rng: np.random.Generator,
              strength: float) -> tuple[dict[str, Any], list[tuple[int, int, float]]]:
    """The spec (as a dict, without its name and initial condition) of the driver coupled into the response,
    and its coupling terms (i, j, K_ij) in the order the equations add them."""
    sd, sr = driver.spec, response.spec
    ren_d = {n: f"{n}_d" for n in (*sd.state, *sd.parameters, *sd.auxiliary)}
    ren_r = {n: f"{n}_r" for n in (*sr.state, *sr.parameters, *sr.auxiliary)}
    mask = rng.random((len(sr.state), len(sd.state))) < DENSITY
    if not mask.any():
        mask[rng.integers(len(sr.state)), rng.integers(len(sd.state))] = True
    weights = np.where(mask, rng.standard_normal(mask.shape), 0.0)
    x_d, _ = _rms(driver, periods[0])
    _, f_r = _rms(response, periods[1])
    coupling_terms = [(int(i), int(j), float(strength * weights[i, j] * f_r[i] / max(x_d[j], 1e-12)))
                      for i, j in zip(*np.nonzero(mask), strict=True)]
    coupling = {f"k_{i}_{j}": k for i, j, k in coupling_terms}
    equations = {ren_d[s]: rename(e, ren_d) for s, e in sd.equations.items()}
    for i, (s, e) in enumerate(sr.equations.items()):
        terms = [f"k_{i}_{j} * {ren_d[sd.state[j]]}" for j in range(len(sd.state)) if mask[i, j]]
        equations[ren_r[s]] = " + ".join([f"({rename(e, ren_r)})", *terms])
    return {
        "version": 1,
        "description": (f"A skew product: {driver.name} (version {driver.version}) drives {response.name} "
                        f"(version {response.version}) through additive coupling of strength {strength:g}, "
                        "generated by dysts-bench and kept by its chaos filter."),
        "state": [ren_d[s] for s in sd.state] + [ren_r[s] for s in sr.state],
        "parameters": {**{ren_d[p]: v for p, v in driver.params.items()},
                       **{ren_r[p]: v for p, v in response.params.items()}, **coupling},
        "auxiliary": {**{ren_d[a]: rename(e, ren_d) for a, e in sd.auxiliary.items()},
                      **{ren_r[a]: rename(e, ren_r) for a, e in sr.auxiliary.items()}},
        "equations": equations,
        "dt": min(sd.dt, sr.dt),
        "period": max(periods),
        "references": [r.model_dump(exclude_none=True) for r in (*sd.references, *sr.references)],
        "tags": ["generated", "skew product"],
    }, coupling_terms
