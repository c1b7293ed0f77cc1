"""The safe expression compiler: whitelist, hostile input, and random expressions against an interpreter."""

from __future__ import annotations

import ast
import contextlib
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dysts_bench.compile import codegen
from dysts_bench.compile.expr import Scope, parse_expression
from dysts_bench.compile.modules import function_source, load_module
from dysts_bench.errors import SpecError, UnsafeExpressionError
from dysts_bench.system import System

from .conftest import LORENZ_SPEC

SCOPE = Scope(frozenset({"x", "y", "a", "t", "pi"}), states=frozenset({"x", "y"}), where="test.yaml: equations.x")

HOSTILE = {
    "__import__('os').system('echo pwned')": "only calls of named functions",
    "__import__('os')": "not allowed",
    "__builtins__": "dunder",
    "os.system('ls')": "only calls of named functions",
    "os": "undefined name 'os'",
    "x.__class__": "attribute",
    "(lambda: 1)()": "only calls of named functions",
    "[i for i in range(3)]": "comprehension",
    "x[0]": "subscript",
    "open('/etc/passwd')": "not allowed",
    "eval('1')": "not allowed",
    "exec('x=1')": "not allowed",
    "x if y else a": "inline if",
    "x < y": "comparison outside where",
    "where(x, 1, 2)": "must be a comparison",
    "where(x < y < a, 1, 2)": "chained",
    "x ** 1000": "exponent",
    "2 ** (3 ** 4)": "power of constant",
    "'text'": "literal",
    "True": "literal",
    "sin(x, y)": "takes 1",
    "sin(x=1)": "keyword",
    "max(*x)": "keyword or starred",
    "(x := 1)": "assignment",
    "f'{x}'": "string",
    "z + 1": "undefined name 'z'",
    "sin": "without a call",
    "lag(x, a)": "no delay section",
    "x +": "syntax error",
    "": "empty",
    "x @ y": "operator MatMult",
    "~x": "unary operator Invert",
    "x // y": "operator FloorDiv",
    "x % y": "operator Mod",
    "-(" * 80 + "x" + ")" * 80: "brackets nested 80 levels deep",
    "-" * 80 + "x": "nested deeper",
    "x + " * 6000 + "x": "characters long",
    # issue #15 item 7: bounds checked before Python's parser runs out of stack or digits
    "x+" * 3000 + "x": "3000 operators",
    "- " * 3000 + "x": "3000 operators",
    "x**" * 3000 + "x": "3000 operators",
    "(" * 5000 + "x" + ")" * 5000: "brackets nested 5000 levels deep",
    "9" * 5000 + " * x": "a number of 5000 digits",
    "x * 1e999": "beyond the range of floating point",
    "(x**10)**20": "nested powers raise to the power 200",
    "((x**4)**5)**6": "raise to the power 120",
    # Python folds identifiers by NFKC: these would run as sin(x) and x
    "\u017fin(x)": "the character U+017F at column 1 is not ASCII",
    "x + \uff58": "the character U+FF58 at column 5",
    "x + \ud800": "U+D800",
}


@pytest.mark.parametrize("text", list(HOSTILE))
def test_hostile_expressions_are_rejected_with_a_reason(text):
    with pytest.raises(UnsafeExpressionError) as info:
        parse_expression(text, SCOPE)
    message = str(info.value)
    assert message.startswith("test.yaml: equations.x: ")
    assert HOSTILE[text].lower() in message.lower()


def test_errors_quote_long_text_cut_short():
    with pytest.raises(UnsafeExpressionError) as info:
        parse_expression("q + " + "x * " * 300 + "x", SCOPE)
    assert "undefined name 'q'" in str(info.value) and len(str(info.value)) < 400


def test_nested_powers_are_bounded_through_auxiliaries():
    inner = parse_expression("x**10", SCOPE)
    assert inner.power_degree == 10
    scope = Scope(SCOPE.names | {"s"}, where="test.yaml: equations.x", degrees={"s": inner.power_degree})
    assert parse_expression("s**10 + s * x**50", scope).power_degree == 100
    with pytest.raises(UnsafeExpressionError, match=r"equations\.x: nested powers raise to the power 110"):
        parse_expression("s**11", scope)


def test_non_text_is_rejected():
    with pytest.raises(UnsafeExpressionError, match="expected an expression as text"):
        parse_expression(["x"], SCOPE)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["x", "-x + 2.5e-3 * y**2", "where((x < y) & (y >= 0) | (a != 1), x, y)",
                                  "max(x, y, a)", "heaviside(x) * sign(y) + mod(x, 3) + floor(y)",
                                  "sin(pi * t) + arctan(x) - sqrt(abs(y))"])
def test_whitelisted_expressions_are_accepted(text):
    assert parse_expression(text, SCOPE).text == text


# --- random expressions: compiled code against an independent interpreter of the tree -----------------

_UNARY = ["sin", "cos", "tanh", "arctan", "abs", "sign", "heaviside", "floor", "exp"]


def _exprs():
    leaves = st.one_of(st.sampled_from(["x", "y", "a", "t", "pi"]),
                       st.floats(-10, 10, allow_nan=False).map(lambda v: repr(round(v, 6))),
                       st.integers(0, 9).map(str))

    def extend(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(lambda p: f"({p[0]} {p[1]} {p[2]})"),
            st.tuples(inner, inner).map(lambda p: f"({p[0]} / (1.5 + abs({p[1]})))"),
            st.tuples(inner, st.integers(0, 3)).map(lambda p: f"({p[0]}) ** {p[1]}"),
            st.tuples(st.sampled_from(_UNARY), inner).map(lambda p: f"{p[0]}(tanh({p[1]}))"),
            st.tuples(inner, inner).map(lambda p: f"max({p[0]}, {p[1]})"),
            st.tuples(inner, inner, inner).map(lambda p: f"where({p[0]} < {p[1]}, {p[2]}, -{p[2]})"),
            st.tuples(inner).map(lambda p: f"-{p[0]}"),
        )

    return st.recursive(leaves, extend, max_leaves=12)


def _interpret(node: ast.AST, env: dict[str, float]) -> float:
    funcs = {"sin": math.sin, "cos": math.cos, "tanh": math.tanh, "arctan": math.atan, "abs": abs,
             "exp": math.exp, "sign": lambda v: float(np.sign(v)), "heaviside": lambda v: float(np.heaviside(v, 0.5)),
             "floor": lambda v: float(math.floor(v)), "max": max}
    ops = {ast.Add: lambda p, q: p + q, ast.Sub: lambda p, q: p - q, ast.Mult: lambda p, q: p * q,
           ast.Div: lambda p, q: p / q, ast.Pow: lambda p, q: p**q}
    match node:
        case ast.Constant(value=v):
            return float(v)
        case ast.Name(id="pi"):
            return math.pi
        case ast.Name(id=n):
            return env[n]
        case ast.UnaryOp(operand=o):
            return -_interpret(o, env)
        case ast.BinOp(op=op, left=left, right=right):
            return ops[type(op)](_interpret(left, env), _interpret(right, env))
        case ast.Call(func=ast.Name(id="where"), args=[ast.Compare(left=cl, comparators=[cr]), yes, no]):
            return _interpret(yes, env) if _interpret(cl, env) < _interpret(cr, env) else _interpret(no, env)
        case ast.Call(func=ast.Name(id=f), args=args):
            return funcs[f](*(_interpret(a, env) for a in args))
    raise AssertionError(ast.dump(node))


@pytest.fixture(scope="module")
def scratch_cache(tmp_path_factory):
    """Keep the many one-off kernels of this test out of the user's cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("DYSTS_BENCH_CACHE", str(tmp_path_factory.mktemp("kernels")))
    yield
    mp.undo()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=_exprs(), x=st.floats(-3, 3), y=st.floats(-3, 3), t=st.floats(0, 5))
def test_random_expressions_compile_to_what_they_mean(scratch_cache, text, x, y, t):
    expr = parse_expression(text, SCOPE)
    body = [f"{codegen.local('x')} = x[0]", f"{codegen.local('y')} = x[1]", f"{codegen.local('a')} = p[0]",
            f"out[0] = {codegen.emit(expr)}"]
    module = load_module(function_source("f", "void(float64[::1], float64, float64[::1], float64[::1])",
                                         "x, t, p, out", body), "hypothesis")
    out = np.empty(1)
    module.f(np.array([x, y]), t, np.array([0.7]), out)
    expected = _interpret(expr.tree, {"x": x, "y": y, "a": 0.7, "t": t})
    assert out[0] == pytest.approx(expected, rel=1e-12, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_is_accepted_or_rejected_cleanly(text):
    with contextlib.suppress(UnsafeExpressionError):
        parse_expression(text, SCOPE)


# --- Jacobians of specs that once failed in sympy or in the printer -----------------------------------


def _toy(write_spec, equation: str, auxiliary: str = "") -> System:
    text = LORENZ_SPEC.format(name="Toy").replace("sigma * (y - x)", f"'{equation}'")
    return System.from_file(write_spec(text.replace("equations:", auxiliary + "equations:")))


@pytest.mark.parametrize(("equation", "row"), [
    # sympy left floor's and Mod's derivatives unevaluated: "cannot print Derivative"
    ("floor(x) * x + mod(x, y)", [math.floor(1.3) + 1.0, -math.floor(1.3 / 2.1), 0.0]),
    # sympy merges x**60 * x**60 into x**120: its derivative's exponent 119 is in no spec text
    ("x**60 * x**60", [120 * 1.3**119, 0.0, 0.0]),
    # 2**(1/3) in the derivative is a power of constants, which spec text may not write
    ("(2*x)**(1/3) + y", [2 ** (1 / 3) / 3 * 1.3 ** (-2 / 3), 1.0, 0.0]),
])
def test_jacobians_of_implied_terms_compile(write_spec, equation, row):
    s = _toy(write_spec, equation)
    np.testing.assert_allclose(s.jacobian(np.array([1.3, 2.1, 0.7]))[0], row, rtol=1e-12)


def test_a_negative_power_of_zero_is_inf_not_an_exception(write_spec):
    """numba's power with a negative integer exponent raises ZeroDivisionError at a zero base whatever the error
    model; the generated code divides instead, so the Jacobian of sqrt(x) at 0 is inf and the kernels report it."""
    assert codegen.emit(parse_expression("x ** -2", Scope(frozenset({"x"})))) == "(1.0 / (v_x ** 2))"
    s = _toy(write_spec, "sqrt(x) + y")
    row = s.jacobian(np.array([0.0, 2.1, 0.7]))[0]
    assert row[0] == math.inf and row[1] == 1.0
    np.testing.assert_allclose(s.jacobian(np.array([4.0, 2.1, 0.7]))[0, 0], 0.25, rtol=1e-15)


@pytest.mark.parametrize(("equation", "auxiliary", "expected"), [
    # each auxiliary squares the last: (2*x)**(2**k) holds the exact integer 2**(2**k)
    ("sigma * (y - x) + 0 * a39", "auxiliary:\n" + "".join(
        f"  a{k}: a{k - 1} * a{k - 1}\n" if k else "  a0: 2 * x\n" for k in range(40)),
     "auxiliary.a12: the expression makes an exact integer of 4097 bits"),
    # each auxiliary repeats the last twice: the substituted tree doubles
    ("sigma * (y - x) + 0 * a30", "auxiliary:\n" + "".join(
        f"  a{k}: sin(a{k - 1}) + cos(a{k - 1})\n" if k else "  a0: x\n" for k in range(31)),
     "auxiliary.a10: with its auxiliaries substituted the expression has 4093 nodes"),
    ("where(x > 1e9, x / (y - y), sigma * (y - x))", "",
     "equations.x (its derivative by x): the compiler cannot write the Jacobian: it holds zoo"),
])
def test_jacobians_too_large_or_unprintable_name_the_field(write_spec, equation, auxiliary, expected):
    s = _toy(write_spec, equation, auxiliary)
    with pytest.raises(SpecError) as info:
        s.program.jacobian_source()
    assert str(info.value).startswith(f"{s.path}: ") and expected in str(info.value)


def test_the_function_table_is_the_only_list_of_the_language_s_functions():
    """Parser, code generator, Jacobian and jump detection all read compile/functions.py; no other list."""
    from pathlib import Path

    import sympy as sp

    from dysts_bench.compile import codegen, expr, functions, symbolic

    package = Path(functions.__file__).parents[1]
    for path in [*package.glob("compile/*.py"), *package.glob("invariants/*.py")]:
        if path.name != "functions.py":
            text = path.read_text()
            assert '"arcsin"' not in text and '"heaviside", ' not in text and "math.asin" not in text, path
    names = set(functions.BY_NAME)
    assert set(expr.FUNCTIONS) == names
    assert set(expr.SMOOTH_FUNCTIONS) | set(expr.NONSMOOTH_FUNCTIONS) == names - {"lag"}
    special = {"where", "lag"}   # written by the code generator itself
    assert set(codegen._FUNCTIONS) == names - special
    assert set(symbolic._FUNCTIONS) == names - special - {"heaviside"}
    assert all(callable(getattr(sp, f.sympy)) for f in functions.TABLE if f.sympy)
    assert {"sign", "heaviside", "where", "floor", "mod"} == functions.JUMP_FUNCTIONS
