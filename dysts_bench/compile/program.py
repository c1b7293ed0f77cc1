"""A spec's equations, checked and ready for code generation: the right-hand side and its Jacobian."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from types import ModuleType
from typing import TYPE_CHECKING

from ..errors import DystsBenchError, SpecError
from . import codegen
from .expr import CONSTANTS, NONSMOOTH_FUNCTIONS, TIME, Expression, Scope, parse_expression
from .modules import JAC_SIGNATURE_TEXT, RHS_SIGNATURE_TEXT, function_source, load_module

if TYPE_CHECKING:
    import sympy as sp

    # A spec is only read here: the schema (specs) validates against the expression language (compile.expr),
    # so a run-time import back would make the two packages import each other.
    from ..specs.schema import SystemSpec

RHS_ARGS = "x, t, p, out"


@dataclass(frozen=True)
class Program:
    """Checked expressions of one system, in state order, with the names they read."""

    origin: str
    states: tuple[str, ...]
    params: tuple[str, ...]
    lags: tuple[str, ...]
    auxiliary: tuple[tuple[str, Expression], ...]
    equations: tuple[Expression, ...]

    @property
    def dim(self) -> int:
        """The number of state variables."""
        return len(self.states)

    @cached_property
    def functions(self) -> set[str]:
        """Every function the equations call."""
        exprs = [e for _, e in self.auxiliary] + list(self.equations)
        return set().union(*(e.functions for e in exprs))

    @property
    def non_smooth(self) -> bool:
        """Whether a non-smooth function appears (abs, sign, where, ...): no Jacobian-based invariants."""
        return bool(self.functions & set(NONSMOOTH_FUNCTIONS))

    @property
    def uses_time(self) -> bool:
        """Whether t appears explicitly."""
        exprs = [e for _, e in self.auxiliary] + list(self.equations)
        return any(TIME in e.names for e in exprs)

    def _prologue(self) -> list[str]:
        lines = [f"{codegen.local(s)} = x[{i}]" for i, s in enumerate(self.states)]
        lines += [f"{codegen.local(p)} = p[{i}]" for i, p in enumerate(self.params)]
        for k, lag in enumerate(self.lags):
            offset = self.dim * (k + 1)
            lines += [f"{codegen.lag_local(s, lag)} = x[{offset + i}]" for i, s in enumerate(self.states)]
        return lines

    def rhs_source(self) -> str:
        """Source of the jitted right-hand side `rhs_ptr(x, t, p, out)` over pointers, and `rhs` over arrays."""
        # `rhs` compiles on its first call: only Python callers use it, and compiling it with the module doubled
        # the cost of every new right-hand side (a generated skew product's filter never calls it).
        body = self._prologue()
        body += [f"{codegen.local(name)} = {codegen.emit(e)}" for name, e in self.auxiliary]
        body += [f"out[{i}] = {codegen.emit(e)}" for i, e in enumerate(self.equations)]
        wrapper = ["rhs_ptr(_rt.address(x, 0), t, _rt.address(p, 0), _rt.address(out, 0))"]
        return (function_source("rhs_ptr", RHS_SIGNATURE_TEXT, RHS_ARGS, body) + "\n\n"
                + function_source("rhs", None, RHS_ARGS, wrapper))

    def jacobian_source(self) -> str:
        """Source of the jitted Jacobian `jac(x, t, p, out)`, out of shape (dim, dim)."""
        if self.lags:
            raise DystsBenchError(
                f"{self.origin}: a delay equation has no finite-dimensional Jacobian; its invariants use "
                "two nearby trajectories instead"
            )
        import sympy as sp  # a heavy import, needed only for Jacobians

        from . import symbolic  # imports sympy

        symbols: dict[str, sp.Expr] = {n: sp.Symbol(n, real=True) for n in (*self.states, *self.params, TIME)}
        rows = symbolic.program_equations(self, symbols, self.origin)
        replacements, entries = symbolic.jacobian(rows, [symbols[s] for s in self.states])
        names = set(self.states) | set(self.params) | {TIME} | CONSTANTS
        body = [*self._prologue(), "out[:, :] = 0.0"]
        for sym, value in replacements:
            where = f"{self.origin}: equations (a sub-expression their Jacobian shares)"
            body.append(f"{codegen.local(sym.name)} = {self._emit_derived(value, names, where)}")
            names.add(sym.name)
        for (i, j), value in sorted(entries.items()):
            where = f"{self.origin}: equations.{self.states[i]} (its derivative by {self.states[j]})"
            body.append(f"out[{i}, {j}] = {self._emit_derived(value, names, where)}")
        return function_source("jac", JAC_SIGNATURE_TEXT, RHS_ARGS, body)

    @staticmethod
    def _emit_derived(value: sp.Expr, names: set[str], where: str) -> str:
        from . import symbolic  # imports sympy, a heavy import needed only for Jacobians

        try:
            text = symbolic.to_text(value)
        except ValueError as exc:
            raise SpecError(f"{where}: the compiler cannot write the Jacobian: {exc}; rewrite the equation "
                            "without it (or report this as a compiler bug)") from None
        # Differentiated expressions go back through the same whitelist check as the spec's own text.
        fix = ("simplify the equation: its Jacobian substitutes the auxiliaries, so splitting it does not "
               "help (or report this as a compiler bug if the equation is small)")
        return codegen.emit(parse_expression(text, Scope(frozenset(names), where=where, max_exponent=math.inf,
                                                         fix=fix)))

    @cached_property
    def rhs_module(self) -> ModuleType:
        """The imported module that holds the compiled `rhs_ptr` and `rhs`."""
        return load_module(self.rhs_source(), self.origin)

    @cached_property
    def jacobian_module(self) -> ModuleType:
        """The imported module that holds the compiled `jac`."""
        return load_module(self.jacobian_source(), self.origin)


def build_program(spec: SystemSpec, origin: str) -> Program:
    """Check every expression of a spec against the whitelist; raise UnsafeExpressionError if any fails."""
    lags = tuple(spec.delay.lags) if spec.delay else ()
    base = set(spec.state) | set(spec.parameters) | {TIME} | CONSTANTS
    degrees: dict[str, float] = {}
    auxiliary = []
    for name, text in spec.auxiliary.items():
        scope = Scope(frozenset(base), frozenset(spec.state), frozenset(lags), f"{origin}: auxiliary.{name}",
                      dict(degrees))
        expression = parse_expression(text, scope)
        auxiliary.append((name, expression))
        degrees[name] = expression.power_degree
        base.add(name)
    equations = tuple(
        parse_expression(text, Scope(frozenset(base), frozenset(spec.state), frozenset(lags),
                                     f"{origin}: equations.{state}", degrees))
        for state, text in spec.equations.items()
    )
    return Program(origin, tuple(spec.state), tuple(spec.parameters), lags, tuple(auxiliary), equations)
