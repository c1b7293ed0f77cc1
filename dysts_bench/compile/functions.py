"""The expression language's functions, in one table: what the parser accepts (and with how many
arguments), what the code generator writes, what the Jacobian differentiates, and which may make a
vector field jump. Adding a function is one row here (and a runtime helper if numba lacks it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Function:
    """One function of the language."""

    name: str
    min_args: int
    max_args: int
    kind: Literal["smooth", "nonsmooth", "delay"]
    jumps: bool = False   # may make the field discontinuous (lyapunov.py re-estimates λ1 at several d0)
    numba: str = ""       # the callable in the generated module; "" where codegen writes it specially
    sympy: str = ""       # the sympy function it becomes; "" where symbolic converts it specially


TABLE: tuple[Function, ...] = (
    Function("sin", 1, 1, "smooth", numba="math.sin", sympy="sin"),
    Function("cos", 1, 1, "smooth", numba="math.cos", sympy="cos"),
    Function("tan", 1, 1, "smooth", numba="math.tan", sympy="tan"),
    Function("arcsin", 1, 1, "smooth", numba="math.asin", sympy="asin"),
    Function("arccos", 1, 1, "smooth", numba="math.acos", sympy="acos"),
    Function("arctan", 1, 1, "smooth", numba="math.atan", sympy="atan"),
    Function("sinh", 1, 1, "smooth", numba="math.sinh", sympy="sinh"),
    Function("cosh", 1, 1, "smooth", numba="math.cosh", sympy="cosh"),
    Function("tanh", 1, 1, "smooth", numba="math.tanh", sympy="tanh"),
    Function("exp", 1, 1, "smooth", numba="math.exp", sympy="exp"),
    Function("log", 1, 1, "smooth", numba="math.log", sympy="log"),
    Function("sqrt", 1, 1, "smooth", numba="math.sqrt", sympy="sqrt"),
    Function("abs", 1, 1, "nonsmooth", numba="abs", sympy="Abs"),
    Function("sign", 1, 1, "nonsmooth", jumps=True, numba="_rt.sign", sympy="sign"),
    Function("heaviside", 1, 1, "nonsmooth", jumps=True, numba="_rt.heaviside"),  # sympy: H(0) = 1/2
    Function("floor", 1, 1, "nonsmooth", jumps=True, numba="_rt.floor", sympy="floor"),
    Function("mod", 2, 2, "nonsmooth", jumps=True, numba="_rt.mod", sympy="Mod"),
    Function("min", 2, 16, "nonsmooth", numba="min", sympy="Min"),
    Function("max", 2, 16, "nonsmooth", numba="max", sympy="Max"),
    Function("where", 3, 3, "nonsmooth", jumps=True),   # a conditional expression; a Piecewise in sympy
    Function("lag", 2, 2, "delay"),                     # lag(state, tau): the state tau time units ago
)
BY_NAME: dict[str, Function] = {f.name: f for f in TABLE}
JUMP_FUNCTIONS = frozenset(f.name for f in TABLE if f.jumps)
