"""Python source for numba from checked expression trees: the only place code is generated."""

from __future__ import annotations

import ast

from .expr import Expression
from .functions import TABLE

# Our function name -> the callable in the generated module's namespace (where and lag are written specially).
_FUNCTIONS = {f.name: f.numba for f in TABLE if f.numba}
_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_LOGIC = {ast.BitAnd: "and", ast.BitOr: "or"}


def local(name: str) -> str:
    """The local variable that holds a state, parameter or auxiliary value (never clashes with Python)."""
    return f"v_{name}"


def lag_local(state: str, lag: str) -> str:
    """The local variable that holds state(t - lag)."""
    return f"d_{state}__{lag}"


def emit(expression: Expression) -> str:
    """Source text of a checked expression, over the locals named by `local`."""
    return _emit(expression.tree)


def _emit(node: ast.AST) -> str:
    match node:
        case ast.Constant(value=int() as value):
            return f"{value}.0" if abs(value) > 64 else str(value)
        case ast.Constant(value=value):
            return repr(float(value))
        case ast.Name(id="t"):
            return "t"
        case ast.Name(id="pi"):
            return "math.pi"
        case ast.Name(id=name):
            return local(name)
        case ast.UnaryOp(op=ast.USub(), operand=operand):
            return f"(-{_emit(operand)})"
        case ast.UnaryOp(op=ast.UAdd(), operand=operand):
            return _emit(operand)
        case ast.BinOp(op=ast.Pow(), left=left, right=right) if (n := _negative_integer(right)) is not None:
            # numba raises ZeroDivisionError for 0.0 ** -n whatever the error model (its integer power divides
            # internally); 1.0 / 0.0 ** n is the same arithmetic and gives inf, which the kernels report.
            return f"(1.0 / ({_emit(left)} ** {n}))"
        case ast.BinOp(op=op, left=left, right=right) if type(op) in _BINARY:
            return f"({_emit(left)} {_BINARY[type(op)]} {_emit(right)})"
        case ast.BinOp(op=op, left=left, right=right) if type(op) in _LOGIC:
            return f"({_emit(left)} {_LOGIC[type(op)]} {_emit(right)})"
        case ast.Compare(left=left, ops=[op], comparators=[right]):
            return f"({_emit(left)} {_COMPARE[type(op)]} {_emit(right)})"
        case ast.Call(func=ast.Name(id="where"), args=[cond, yes, no]):
            return f"({_emit(yes)} if {_emit(cond)} else {_emit(no)})"
        case ast.Call(func=ast.Name(id="lag"), args=[ast.Name(id=state), ast.Name(id=lag)]):
            return lag_local(state, lag)
        case ast.Call(func=ast.Name(id=name), args=args):
            return f"{_FUNCTIONS[name]}({', '.join(_emit(a) for a in args)})"
    raise AssertionError(f"unchecked node reached code generation: {ast.dump(node)}")


def _negative_integer(node: ast.AST) -> int | None:
    """n when the node is the integer literal −n (n ≥ 1), else None."""
    match node:
        case ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=int() as value)) if value >= 1:
            return value
        case ast.Constant(value=int() as value) if value <= -1:
            return -value
    return None
