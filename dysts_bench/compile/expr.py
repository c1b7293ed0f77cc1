"""Safe parsing of equation text: a whitelist check of Python's AST, nothing is ever evaluated."""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import UnsafeExpressionError
from .functions import TABLE

MAX_EXPRESSION_CHARS = 20_000
MAX_DEPTH = 60
MAX_CONSTANT_EXPONENT = 100
# Bounds checked on the text before Python parses it: its parser runs out of stack (RecursionError,
# MemoryError) on a few thousand chained operators, and refuses integers of more than 4,300 digits.
# The registry's longest equation has 74 operators.
MAX_OPERATORS = 400
MAX_NUMBER_DIGITS = 100
_OPERATOR = re.compile(r"\*\*|[-+*/%@&|^~<>=!,]")
_NUMBER = re.compile(r"(?<![A-Za-z0-9_])[0-9][0-9_]*")
_EXCERPT_CHARS = 80
# Integer literals up to this size stay exact (x**2 compiles to a multiplication); larger ones are floats,
# so that constant folding in sympy can never build a huge integer.
MAX_EXACT_INTEGER = 1000

# name -> (minimum, maximum) number of arguments, from the one table of functions
SMOOTH_FUNCTIONS: dict[str, tuple[int, int]] = {f.name: (f.min_args, f.max_args) for f in TABLE if f.kind == "smooth"}
NONSMOOTH_FUNCTIONS: dict[str, tuple[int, int]] = {f.name: (f.min_args, f.max_args) for f in TABLE
                                                   if f.kind == "nonsmooth"}
DELAY_FUNCTION = next(f.name for f in TABLE if f.kind == "delay")
FUNCTIONS: dict[str, tuple[int, int]] = {f.name: (f.min_args, f.max_args) for f in TABLE}
CONSTANTS = {"pi"}
TIME = "t"

_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_COMPARISONS = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)
_LOGIC = (ast.BitAnd, ast.BitOr)


@dataclass(frozen=True)
class Scope:
    """The names an expression may use, and where it comes from (for error messages)."""

    names: frozenset[str]
    states: frozenset[str] = frozenset()
    lags: frozenset[str] = frozenset()
    where: str = "<expression>"
    # The power degree of each auxiliary name (see Expression.power_degree), so that nested powers are
    # bounded through auxiliaries too.
    degrees: Mapping[str, float] = field(default_factory=dict)
    # For text the compiler wrote (the Jacobian): powers the spec only implies (x**60 * x**60 is x**120)
    # are fine, and the fix to name is the contributor's, whatever the problem.
    max_exponent: float = MAX_CONSTANT_EXPONENT
    fix: str | None = None

    def error(self, problem: str, fix: str) -> UnsafeExpressionError:
        """The error for a problem of the text here, with its fix."""
        return UnsafeExpressionError(f"{self.where}: {problem}; {self.fix or fix}")


@dataclass(frozen=True)
class Expression:
    """A checked expression: its text and its AST (only whitelisted nodes)."""

    text: str
    tree: ast.expr
    # How much nested literal powers multiply a variable's exponent: 6 for (x**2)**3, 1 without powers.
    power_degree: float = 1.0

    @property
    def functions(self) -> set[str]:
        """The names of the functions it calls."""
        return {n.func.id for n in ast.walk(self.tree) if isinstance(n, ast.Call)}  # type: ignore[union-attr]

    @property
    def names(self) -> set[str]:
        """The variable names it reads."""
        calls = {id(n.func) for n in ast.walk(self.tree) if isinstance(n, ast.Call)}
        return {n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name) and id(n) not in calls}


def parse_expression(text: str, scope: Scope) -> Expression:
    """Parse equation text and check it against the whitelist; raise UnsafeExpressionError if not allowed."""
    if not isinstance(text, str):
        raise scope.error(f"expected an expression as text, got {type(text).__name__} {_excerpt(repr(text))}",
                          "write it as a string, e.g. 'sigma * (y - x)'")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise scope.error(f"expression is {len(text)} characters long, more than the limit of {MAX_EXPRESSION_CHARS}",
                          "split it with named sub-expressions under 'auxiliary'")
    if not text.strip():
        raise scope.error("the expression is empty", "write the right-hand side")
    _check_text(text, scope)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise scope.error(f"syntax error in `{_excerpt(text)}` at column {exc.offset}: {exc.msg}",
                          "use Python arithmetic syntax such as 'a * x**2 - sin(y)'") from None
    degree = _Checker(text, scope).check(tree.body, depth=0, context="value")
    return Expression(text=text, tree=tree.body, power_degree=degree)


def _check_text(text: str, scope: Scope) -> None:
    """Bounds on the raw text that keep Python's parser from failing on anything but a syntax error."""
    odd = next(((i, c) for i, c in enumerate(text) if not c.isascii()), None)
    if odd is not None:
        # Python folds identifiers by NFKC: "ſin" would run as sin and "ｘ" as x.
        raise scope.error(f"the character U+{ord(odd[1]):04X} at column {odd[0] + 1} is not ASCII",
                          "equations use ASCII names, numbers and operators only (Python would read a "
                          "look-alike letter as another name): retype it")
    depth = deepest = 0
    for c in text:
        depth += (c in "([{") - (c in ")]}")
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise scope.error(f"brackets nested {deepest} levels deep, more than the limit of {MAX_DEPTH}",
                          "split the expression with named sub-expressions under 'auxiliary'")
    operators = len(_OPERATOR.findall(text))
    if operators > MAX_OPERATORS:
        raise scope.error(f"the expression has {operators} operators, more than the limit of {MAX_OPERATORS}",
                          "split it with named sub-expressions under 'auxiliary'")
    longest = max(_NUMBER.finditer(text), key=lambda m: len(m.group()), default=None)
    if longest is not None and len(longest.group()) > MAX_NUMBER_DIGITS:
        raise scope.error(f"a number of {len(longest.group())} digits at column {longest.start() + 1}, more than "
                          f"the limit of {MAX_NUMBER_DIGITS}", "write it in exponent notation, e.g. 1.5e300")


def _excerpt(text: str) -> str:
    """The text, cut short for an error message."""
    return text if len(text) <= _EXCERPT_CHARS else text[:_EXCERPT_CHARS] + "..."


class _Checker:
    def __init__(self, text: str, scope: Scope):
        self.text = text
        self.scope = scope

    def fail(self, node: ast.AST, problem: str, fix: str) -> UnsafeExpressionError:
        col = getattr(node, "col_offset", None)
        at = f" at column {col + 1}" if col is not None else ""
        snippet = ast.get_source_segment(self.text.strip(), node) or type(node).__name__
        return self.scope.error(f"{problem}: `{_excerpt(snippet)}`{at} in `{_excerpt(self.text)}`", fix)

    def check(self, node: ast.AST, depth: int, context: str) -> float:
        """Check one node and give its power degree; context is 'value' or 'condition' (where's first argument)."""
        if depth > MAX_DEPTH:
            raise self.fail(node, f"expression nested deeper than {MAX_DEPTH} levels",
                            "split it with named sub-expressions under 'auxiliary'")
        if context == "condition":
            return self._check_condition(node, depth)
        match node:
            case ast.Constant(value=value):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise self.fail(node, "only numbers are allowed as literals", "remove the literal")
                if not math.isfinite(value):
                    raise self.fail(node, "a number beyond the range of floating point (about 1.8e308)",
                                    "write a smaller number or rescale the variable")
                return 1.0
            case ast.Name(id=name):
                self._check_name(node, name)
                return self.scope.degrees.get(name, 1.0)
            case ast.UnaryOp(op=ast.USub() | ast.UAdd(), operand=operand):
                return self.check(operand, depth + 1, "value")
            case ast.BinOp(op=op, left=left, right=right) if isinstance(op, _ARITHMETIC):
                degrees = (self.check(left, depth + 1, "value"), self.check(right, depth + 1, "value"))
                if isinstance(op, ast.Pow):
                    return self._check_power(node, left, right, degrees[0])
                return max(degrees)
            case ast.Call():
                return self._check_call(node, depth)
            case ast.Compare() | ast.BoolOp() | ast.BinOp(op=ast.BitAnd() | ast.BitOr()):
                raise self.fail(node, "a comparison outside where()",
                                "use where(condition, value_if_true, value_if_false)")
            case _:
                raise self.fail(node, f"{_describe(node)} is not allowed",
                                "use only numbers, names, + - * / **, and the functions listed in "
                                "systems/README.md")

    def _check_name(self, node: ast.AST, name: str) -> None:
        if name.startswith("__"):
            raise self.fail(node, "dunder names are not allowed", "rename it")
        if name in FUNCTIONS and name not in self.scope.names:
            raise self.fail(node, f"the function {name} is used without a call", f"write {name}(...)")
        if name not in self.scope.names:
            known = ", ".join(sorted(self.scope.names)) or "(none)"
            raise self.fail(node, f"undefined name {name!r}",
                            f"use one of the state, parameter or auxiliary names: {known}")

    def _check_power(self, node: ast.AST, base: ast.AST, exponent: ast.AST, base_degree: float) -> float:
        value = _literal(exponent)
        if value is None:
            if not _mentions_name(exponent) and not _mentions_name(base):
                raise self.fail(node, "a power of constant expressions",
                                "write the number itself, or use a literal exponent")
            return base_degree
        limit = self.scope.max_exponent
        if abs(value) > limit:
            raise self.fail(node, f"exponent {value:g} is larger than {limit:g}",
                            "use exp(log(x) * n) or rescale the variable")
        degree = base_degree * max(1.0, abs(value))
        if degree > limit:
            # sympy multiplies nested exponents out: (x**100)**100 is x**10000, whose derivative needs x**9999.
            raise self.fail(node, f"nested powers raise to the power {degree:g} in effect (this exponent "
                            f"{value:g} times {base_degree:g} from powers inside, auxiliaries included), more "
                            f"than {limit:g}", "write a single power with a smaller exponent, or rescale the variable")
        return degree

    def _check_call(self, node: ast.Call, depth: int) -> float:
        if not isinstance(node.func, ast.Name):
            raise self.fail(node, "only calls of named functions are allowed",
                            "use one of: " + ", ".join(sorted(FUNCTIONS)))
        name = node.func.id
        if name not in FUNCTIONS:
            raise self.fail(node, f"the function {name!r} is not allowed",
                            "use one of: " + ", ".join(sorted(FUNCTIONS)))
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(node, "keyword or starred arguments are not allowed", "pass plain arguments")
        low, high = FUNCTIONS[name]
        if not low <= len(node.args) <= high:
            count = str(low) if low == high else f"{low} to {high}"
            raise self.fail(node, f"{name} takes {count} arguments, got {len(node.args)}",
                            f"call {name} with {count} arguments")
        if name == DELAY_FUNCTION:
            self._check_lag(node)
            return 1.0
        return max(self.check(arg, depth + 1, "condition" if name == "where" and i == 0 else "value")
                   for i, arg in enumerate(node.args))

    def _check_lag(self, node: ast.Call) -> None:
        state, lag = node.args
        if not self.scope.lags:
            raise self.fail(node, "lag() is used but the system has no delay section",
                            "add 'delay: {lags: [tau]}' naming the lag parameter")
        if not (isinstance(state, ast.Name) and state.id in self.scope.states):
            raise self.fail(node, "the first argument of lag() must be a state name",
                            "write lag(x, tau) with x one of: " + ", ".join(sorted(self.scope.states)))
        if not (isinstance(lag, ast.Name) and lag.id in self.scope.lags):
            raise self.fail(node, "the second argument of lag() must be a lag listed under delay.lags",
                            "use one of: " + ", ".join(sorted(self.scope.lags)))

    def _check_condition(self, node: ast.AST, depth: int) -> float:
        match node:
            case ast.Compare(left=left, ops=[op], comparators=[right]) if isinstance(op, _COMPARISONS):
                return max(self.check(left, depth + 1, "value"), self.check(right, depth + 1, "value"))
            case ast.BinOp(op=op, left=left, right=right) if isinstance(op, _LOGIC):
                return max(self.check(left, depth + 1, "condition"), self.check(right, depth + 1, "condition"))
            case ast.Compare():
                raise self.fail(node, "a chained or unsupported comparison",
                                "compare two values with one of < <= > >= == !=, combine with & or |")
            case _:
                raise self.fail(node, "the condition of where() must be a comparison",
                                "write e.g. where(x > 0, a, b); combine comparisons with & or |")


def _literal(node: ast.AST) -> float | None:
    """The value of a (possibly negated) number literal, else None."""
    match node:
        case ast.Constant(value=int() | float() as value) if not isinstance(value, bool):
            return float(value)
        case ast.UnaryOp(op=ast.USub(), operand=operand):
            inner = _literal(operand)
            return None if inner is None else -inner
        case ast.UnaryOp(op=ast.UAdd(), operand=operand):
            return _literal(operand)
    return None


def _mentions_name(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) for n in ast.walk(node))


def _describe(node: ast.AST) -> str:
    names = {
        ast.Attribute: "attribute access",
        ast.Subscript: "subscripting",
        ast.Lambda: "a lambda",
        ast.ListComp: "a comprehension",
        ast.GeneratorExp: "a generator expression",
        ast.DictComp: "a comprehension",
        ast.SetComp: "a comprehension",
        ast.IfExp: "an inline if",
        ast.NamedExpr: "an assignment expression",
        ast.JoinedStr: "a string",
        ast.List: "a list",
        ast.Tuple: "a tuple",
        ast.Dict: "a dict",
        ast.Set: "a set",
        ast.Await: "await",
        ast.Yield: "yield",
        ast.Starred: "unpacking",
    }
    if isinstance(node, ast.BinOp):
        return f"the operator {type(node.op).__name__}"
    if isinstance(node, ast.UnaryOp):
        return f"the unary operator {type(node.op).__name__}"
    return names.get(type(node), type(node).__name__)
