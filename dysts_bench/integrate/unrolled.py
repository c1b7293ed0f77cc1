"""Each tableau's stage sums, error norm and dense output written out term by term, for the compiled steppers.

A loop over a row of coefficients held in an array multiplies the zeros too: a DOP853 step has 58 nonzero
stage coefficients where such loops multiply 78 (and 16 error weights of 32). Here the source of four small
functions is generated from the tables in `integrate/tableaus.py`, each nonzero coefficient a literal and
each zero left out, and compiled by numba like a system's right-hand side (`compile.modules`): a step is a
tenth to a third faster (docs/benchmarks.md). The sums are those of the loops they replaced, term for term
in the same order and association (each stage y + (h a_i0) K_0 + (h a_i1) K_1 + ..., from the left), and a
term left out would have added an exact zero, so no trajectory changed by a bit (tests/test_integrate.py
checks each function against the loops).

Each function takes the method's index in `METHODS` first and branches on it (and on the stage), so one
kernel serves every method. numba's cache of a kernel does not see a change of this source: an edited
tableau needs the caches cleared, as an edited `integrate/blocks.py` does.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType

import numpy as np

from ..compile.modules import load_module
from .tableaus import TABLEAUS, Tableau

METHODS = tuple(sorted(TABLEAUS))  # the kernel's `method` argument is an index into this tuple


def _sum(coefficients: np.ndarray, stop: int) -> list[str]:
    """out = y + h * sum_{j < stop} coefficients[j] * K[j], as y + (h c_0) K_0 + (h c_1) K_1 + ... from the left."""
    nonzero = [(j, float(c)) for j, c in enumerate(coefficients[:stop]) if c != 0.0]
    return [*(f"h{j} = h * {c!r}" for j, c in nonzero),
            "for d in range(y.shape[0]):",
            "    out[d] = y[d]" + "".join(f" + h{j} * K[{j}, d]" for j, _ in nonzero)]


def _stage(t: Tableau) -> list[str]:
    """The stage sums of rows 1.. of `a`, one branch per row."""
    lines = []
    for row in range(1, t.a.shape[0]):
        lines += [f"if row == {row}:", *(f"    {line}" for line in _sum(t.a[row], row)), "    return"]
    return lines


def _new_point(t: Tableau) -> list[str]:
    return [*_sum(t.b, t.stages), "return"]


def _error_norm(t: Tableau) -> list[str]:
    """The scaled RMS norm of the local error estimate (<= 1: accept); no lines for a method without one."""
    if t.error is None:
        return []
    estimates = [t.error] if t.error2 is None else [t.error, t.error2]
    lines = ["dim = y.shape[0]", "s0 = 0.0", "s1 = 0.0", "for d in range(dim):",
             "    scale = atol + rtol * max(abs(y[d]), abs(ynew[d]))"]
    for n, weights in enumerate(estimates):
        terms = "".join(f" + {float(c)!r} * K[{k}, d]" for k, c in enumerate(weights) if c != 0.0)
        lines += [f"    acc = 0.0{terms}", f"    s{n} += (acc / scale) ** 2"]
    if t.error2 is None:
        return [*lines, "return abs(h) * math.sqrt(s0 / dim)"]
    # DOP853's combination of its fifth- and third-order estimates (Hairer et al.).
    return [*lines, "if s0 == 0.0 and s1 == 0.0:", "    return 0.0",
            "return abs(h) * s0 / math.sqrt((s0 + 0.01 * s1) * dim)"]


def _interpolate(t: Tableau) -> list[str]:
    """Dense output y(t + theta h) into out[at : at + dim]: each stage's weight is its polynomial in theta
    summed by ascending powers, then each component sums the stages that have one, in order."""
    degree = t.dense.shape[1]
    rows = [k for k in range(t.dense.shape[0]) if np.any(t.dense[k] != 0.0)]
    lines = ["p1 = theta"] + [f"p{j + 1} = p{j} * theta" for j in range(1, degree)]
    for k in rows:
        lines.append(f"w{k} = 0.0" + "".join(f" + {float(c)!r} * p{j + 1}" for j, c in enumerate(t.dense[k])
                                              if c != 0.0))
    lines.append("for d in range(y.shape[0]):")
    lines.append("    acc = 0.0" + "".join(f" + w{k} * K[{k}, d]" for k in rows))
    lines.append("    out[at + d] = y[d] + h * acc")
    return lines


def _function(name: str, args: str, per_method: dict[str, list[str]], fallback: str) -> str:
    """One jitted function branching on the method index to each method's lines."""
    body = []
    for index, method in enumerate(METHODS):
        if per_method[method]:
            body.append(f"if method == {index}:  # {method}")
            body += [f"    {line}" for line in per_method[method]]
    body.append(fallback)
    lines = ['@numba.njit(cache=True, error_model="numpy")', f"def {name}(method, {args}):"]
    return "\n".join(lines + [f"    {line}" for line in body]) + "\n"


def source() -> str:
    """The generated functions `stage`, `new_point`, `error_norm` and `interpolate` for every method."""
    tableaus = {name: TABLEAUS[name] for name in METHODS}
    return "\n\n".join([
        _function("stage", "row, y, h, K, out", {m: _stage(t) for m, t in tableaus.items()}, "return"),
        _function("new_point", "y, h, K, out", {m: _new_point(t) for m, t in tableaus.items()}, "return"),
        _function("error_norm", "K, h, y, ynew, rtol, atol", {m: _error_norm(t) for m, t in tableaus.items()},
                  "return 0.0"),
        _function("interpolate", "y, h, K, theta, out, at", {m: _interpolate(t) for m, t in tableaus.items()},
                  "return"),
    ])


@cache
def module() -> ModuleType:
    """The generated module (written to the kernel cache once, then imported)."""
    return load_module(source(), origin="dysts_bench/integrate/tableaus.py")
