"""Exact Jacobians: the checked tree becomes a sympy expression (never sympify of text), is
differentiated, and is printed back into our expression language for the same code generator."""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import sympy as sp

from ..errors import SpecError
from .expr import MAX_DEPTH, MAX_EXACT_INTEGER, Expression
from .functions import TABLE

if TYPE_CHECKING:
    from .program import Program

# Bounds on an equation once its auxiliaries are substituted (the registry's largest: 379 nodes, 13 levels,
# 5-bit integers). Auxiliaries can double an expression each (a2 = a1 * b1, a3 = a2 * b2, ...) and sympy
# multiplies integers out exactly ((2*x)**100 holds 2**100), so without bounds a short spec could make
# the Jacobian take unbounded time and memory.
MAX_TREE_NODES = 4_000
MAX_INTEGER_BITS = 4_096

# where, heaviside (at 0: 1/2) and lag are converted specially.
_FUNCTIONS = {f.name: getattr(sp, f.sympy) for f in TABLE if f.sympy}
_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}
_COMPARE = {ast.Lt: sp.Lt, ast.LtE: sp.Le, ast.Gt: sp.Gt, ast.GtE: sp.Ge, ast.Eq: sp.Eq, ast.NotEq: sp.Ne}


def to_sympy(expression: Expression, symbols: Mapping[str, sp.Expr], where: str = "<expression>") -> sp.Expr:
    """The sympy expression of a checked tree; names are looked up in `symbols`.

    Raises SpecError (naming `where`) when the result, with whatever `symbols` substitutes, grows beyond
    MAX_TREE_NODES nodes, MAX_DEPTH levels or integers of MAX_INTEGER_BITS bits.
    """
    return _Converter(symbols, where).convert(expression.tree)


class _Converter:
    def __init__(self, symbols: Mapping[str, sp.Expr], where: str):
        self.symbols = symbols
        self.where = where
        self.sizes: dict[sp.Basic, tuple[int, int, int]] = {}  # node -> (nodes, depth, integer bits)

    def convert(self, node: ast.AST) -> sp.Expr:
        # Each node is measured as soon as it is built: one step grows integers at most a thousandfold
        # in bits (a power of at most 1000), so nothing huge is ever computed.
        return self._bounded(self._convert(node))

    def _convert(self, node: ast.AST) -> sp.Expr:
        match node:
            case ast.Constant(value=int() as value) if abs(value) <= MAX_EXACT_INTEGER:
                return sp.Integer(value)
            case ast.Constant(value=value):
                return sp.Float(float(value), 17)
            case ast.Name(id="pi"):
                return sp.pi
            case ast.Name(id=name):
                return self.symbols[name]
            case ast.UnaryOp(op=ast.USub(), operand=operand):
                return -self.convert(operand)
            case ast.UnaryOp(op=ast.UAdd(), operand=operand):
                return self.convert(operand)
            case ast.BinOp(op=ast.BitAnd(), left=left, right=right):
                return sp.And(self.convert(left), self.convert(right))
            case ast.BinOp(op=ast.BitOr(), left=left, right=right):
                return sp.Or(self.convert(left), self.convert(right))
            case ast.BinOp(op=op, left=left, right=right):
                return _BINARY[type(op)](self.convert(left), self.convert(right))
            case ast.Compare(left=left, ops=[op], comparators=[right]):
                return _COMPARE[type(op)](self.convert(left), self.convert(right))
            case ast.Call(func=ast.Name(id="where"), args=[cond, yes, no]):
                c, a, b = (self.convert(x) for x in (cond, yes, no))
                return sp.Piecewise((a, c), (b, True))
            case ast.Call(func=ast.Name(id="heaviside"), args=[arg]):
                return sp.Heaviside(self.convert(arg), sp.Rational(1, 2))
            case ast.Call(func=ast.Name(id="lag"), args=[ast.Name(id=state), ast.Name(id=lag)]):
                return self.symbols[f"lag({state},{lag})"]
            case ast.Call(func=ast.Name(id=name), args=args):
                return _FUNCTIONS[name](*(self.convert(a) for a in args))
        raise AssertionError(f"unchecked node reached sympy conversion: {ast.dump(node)}")

    def _bounded(self, e: sp.Expr) -> sp.Expr:
        nodes, depth, bits = self._measure(e)
        if nodes > MAX_TREE_NODES or depth > MAX_DEPTH:
            raise SpecError(
                f"{self.where}: with its auxiliaries substituted the expression has {nodes} nodes nested {depth} "
                f"levels deep, more than the limits of {MAX_TREE_NODES} and {MAX_DEPTH} for its Jacobian; "
                "use fewer auxiliaries that each repeat earlier ones"
            )
        if bits > MAX_INTEGER_BITS:
            raise SpecError(
                f"{self.where}: the expression makes an exact integer of {bits} bits (as (2*x)**100 makes "
                f"2**100), more than the limit of {MAX_INTEGER_BITS}; write its numbers as floats (2.0) "
                "or lower the powers"
            )
        return e

    def _measure(self, e: sp.Basic) -> tuple[int, int, int]:
        known = self.sizes.get(e)
        if known is None:
            if e.args:
                parts = [self._measure(a) for a in e.args]
                known = (1 + sum(p[0] for p in parts), 1 + max(p[1] for p in parts), max(p[2] for p in parts))
            else:
                bits = max(abs(e.p).bit_length(), e.q.bit_length()) if isinstance(e, sp.Rational) else 0
                known = (1, 1, bits)
            self.sizes[e] = known
        return known


def program_equations(program: Program, symbols: Mapping[str, sp.Expr], where: str) -> list[sp.Expr]:
    """The program's right-hand sides over `symbols` (its states, parameters, time), auxiliaries substituted.

    `where` starts each error message: the spec's file, or the system's name.
    """
    symbols = dict(symbols)
    for name, e in program.auxiliary:
        symbols[name] = to_sympy(e, symbols, f"{where}: auxiliary.{name}")
    return [to_sympy(e, symbols, f"{where}: equations.{state}")
            for state, e in zip(program.states, program.equations, strict=True)]


def jacobian(
    equations: Sequence[sp.Expr], states: Sequence[sp.Symbol]
) -> tuple[list[tuple[sp.Symbol, sp.Expr]], dict[tuple[int, int], sp.Expr]]:
    """The nonzero entries of d(equations)/d(states), with common sub-expressions pulled out.

    Returns (sub-expressions in evaluation order, {(row, column): entry}). Derivatives of
    non-smooth functions are taken almost everywhere (the Dirac deltas of jumps are dropped).
    """
    entries: dict[tuple[int, int], sp.Expr] = {}
    for i, f in enumerate(equations):
        # sympy leaves the derivatives of floor and Mod unevaluated: mod(a, b) is a - b * floor(a / b)
        # (numpy's, with the sign of b), and floor is constant between its jumps.
        f = f.replace(sp.Mod, lambda a, b: a - b * sp.floor(a / b)).replace(sp.floor, _Steps)
        for j, x in enumerate(states):
            d = sp.diff(f, x).replace(sp.DiracDelta, lambda *_: sp.Integer(0)).replace(_Steps, sp.floor)
            if d != 0:
                entries[(i, j)] = d
    keys = list(entries)
    replacements, reduced = sp.cse([entries[k] for k in keys], symbols=sp.numbered_symbols("cse__"))
    # Conditions pulled out as sub-expressions go back in place: a comparison is only valid inside where().
    conditions = {sym: value for sym, value in replacements if isinstance(value, sp.logic.boolalg.Boolean)}
    if conditions:
        replacements = [(sym, value.xreplace(conditions)) for sym, value in replacements if sym not in conditions]
        reduced = [e.xreplace(conditions) for e in reduced]
    return replacements, dict(zip(keys, reduced, strict=True))


class _Steps(sp.Function):
    """floor(u) while differentiating: piecewise constant, so its derivative is 0 almost everywhere."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        """0: the jumps are dropped like the Dirac deltas of heaviside."""
        return sp.Integer(0)


def to_text(expr: sp.Expr) -> str:
    """Our expression language's text for a sympy expression built by `to_sympy` and `jacobian`.

    Raises ValueError for what the language cannot say (an infinity, a complex number, a derivative).
    """
    return _Printer().doprint(expr)


_NAMES = {v: k for k, v in _FUNCTIONS.items() if k != "sqrt"}


class _Printer:
    def doprint(self, e: sp.Basic) -> str:
        if isinstance(e, sp.Symbol):
            return e.name
        if e is sp.pi:
            return "pi"
        if e is sp.E:
            return "exp(1)"
        if isinstance(e, sp.Integer) and abs(e.p) <= MAX_EXACT_INTEGER:
            return f"({int(e)})"
        if isinstance(e, sp.Rational) and max(abs(e.p), e.q) <= MAX_EXACT_INTEGER:
            return f"({int(e.p)}/{int(e.q)})"
        if isinstance(e, sp.Rational | sp.Float):
            # Larger integers compile to floats anyway; printed whole they could pass 4,300 digits.
            return _number(e)
        if e is sp.true:
            return "(0 == 0)"
        if e is sp.false:
            return "(0 != 0)"
        if isinstance(e, sp.Add):
            return "(" + " + ".join(self.doprint(a) for a in e.args) + ")"
        if isinstance(e, sp.Mul):
            return "(" + " * ".join(self.doprint(a) for a in e.args) + ")"
        if isinstance(e, sp.Pow):
            base, exp = e.args
            if exp == sp.Rational(1, 2):
                return f"sqrt({self.doprint(base)})"
            if base.is_Number and exp.is_Number:
                return _number(e)  # such as 2**(1/3): our language refuses powers of constants
            return f"({self.doprint(base)} ** {self.doprint(exp)})"
        if isinstance(e, sp.Heaviside):
            return f"heaviside({self.doprint(e.args[0])})"
        if isinstance(e, sp.Piecewise):
            *branches, (last, last_cond) = e.args
            text = self.doprint(last) if last_cond is sp.true else None
            if text is None:
                raise ValueError(f"a piecewise expression without a default branch: {e}")
            for value, cond in reversed(branches):
                text = f"where({self.doprint(cond)}, {self.doprint(value)}, {text})"
            return text
        if isinstance(e, sp.core.relational.Relational):
            return f"({self.doprint(e.lhs)} {e.rel_op} {self.doprint(e.rhs)})"
        if isinstance(e, sp.And | sp.Or):
            op = " & " if isinstance(e, sp.And) else " | "
            return "(" + op.join(self.doprint(a) for a in e.args) + ")"
        if type(e) in _NAMES:
            return f"{_NAMES[type(e)]}({', '.join(self.doprint(a) for a in e.args)})"
        if e in (sp.zoo, sp.oo, -sp.oo, sp.nan):
            raise ValueError(f"it holds {e}, from a division by zero such as 1/(x - x)")
        raise ValueError(f"it holds {type(e).__name__}, which the equations cannot express")


def _number(e: sp.Expr) -> str:
    try:
        value = float(e)
    except TypeError:
        raise ValueError(f"it holds the complex number {sp.N(e, 6)}") from None
    if not math.isfinite(value):
        raise ValueError("it holds a number beyond the range of floating point")
    return f"({value!r})"
