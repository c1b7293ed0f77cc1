"""Hostile system specs (issue #15, item 7): each a Lorenz copy with one attack, and the message it must get.

Every entry once crashed `dysts-bench systems check` with a traceback or was silently accepted.
"""

from __future__ import annotations

from .conftest import LORENZ_SPEC


def _lorenz(replace: str, by: str) -> str:
    text = LORENZ_SPEC.format(name="Toy")
    assert replace in text
    return text.replace(replace, by)


def _equation(text: str) -> str:
    """The Lorenz copy with the right-hand side of x replaced (single-quoted in YAML)."""
    return _lorenz("sigma * (y - x)", "'" + text.replace("'", "''") + "'")


# Attacks refused when the spec loads: case -> (spec text, what the SpecError must say).
REFUSED_ON_LOAD = {
    # RecursionError in Python's parser (ast construction)
    "6000-term sum": (_equation("x+" * 6000 + "x"), "equations.x: the expression has 6000 operators"),
    # RecursionError in PyYAML's composer
    "5000 nested YAML lists": (_lorenz("dt: 0.01", "dt: 0.01\ntags: " + "[" * 5000 + "]" * 5000),
                               "line 12, column 26: values nested deeper than 20 levels"),
    "5000 nested brackets": (_equation("(" * 5000 + "x" + ")" * 5000),
                             "equations.x: brackets nested 5000 levels deep"),
    # MemoryError in Python's parser
    "unary chain": (_equation("- " * 5000 + "x"), "equations.x: the expression has 5000 operators"),
    "power chain": (_equation("x**" * 3000 + "x"), "equations.x: the expression has 3000 operators"),
    # ValueError: Python's limit of 4,300 digits for int("...")
    "5000-digit literal in an equation": (_equation("9" * 5000 + " * x"), "equations.x: a number of 5000 digits"),
    "5000-digit parameter": (_lorenz("rho: 28.0", "rho: " + "9" * 5000),
                             "line 5, column 45: an integer of 5000 characters"),
    "literal beyond floating point": (_equation("sigma * (y - x) + 1e999"), "beyond the range of floating point"),
    # UnicodeEncodeError when the text reached compile()
    "surrogate in an equation": (_lorenz("sigma * (y - x)", '"x + \\ud800"'), "unpaired surrogate U+D800"),
    "surrogate in the description": (_lorenz("description: Test copy of the Lorenz system.",
                                             'description: "\\udfff"'), "line 3, column 14: the text holds"),
    # a released power tower once failed in the Jacobian on an exponent (9,999) the spec never wrote
    "power tower": (_equation("sigma * (y - x) + 1e-3 * (sin(x)**100)**100"),
                    "nested powers raise to the power 10000 in effect"),
    "power tower through an auxiliary": (
        _lorenz("equations:", "auxiliary:\n  s: sin(x)**10\nequations:").replace("sigma * (y - x)", "s**20"),
        "equations.x: nested powers raise to the power 200"),
    # aborted the whole run, naming no file (and `--quick` passed it)
    "infinite dt": (_lorenz("dt: 0.01\nperiod: 1.5", "dt: .inf"), "field 'dt': dt must be a finite number"),
    "infinite period": (_lorenz("period: 1.5", "period: .inf"), "field 'period': period must be a finite number"),
    # silently accepted: YAML keeps the last of repeated keys
    "duplicate parameter": (_lorenz("rho: 28.0, sigma: 10.0", "rho: 28.0, sigma: 10.0, rho: 99.0"),
                            "line 5, column 64: the key 'rho' appears twice (first at line 5)"),
    "duplicate equation": (_lorenz("  z: x * y - beta * z\n", "  z: x * y - beta * z\n  x: 0\n"),
                           "line 10, column 3: the key 'x' appears twice (first at line 7)"),
    "duplicate top-level field": (_lorenz("dt: 0.01", "dt: 0.01\ndt: 0.02"), "the key 'dt' appears twice"),
    "merge key": (_lorenz("parameters: {", "parameters: {<<: {rho: 1.0}, "), "the merge key '<<' is not allowed"),
    "alias": (_lorenz("state: [x, y, z]", "state: &s [x, y, z]\ntags: *s"), "the alias *s is not allowed"),
    # silently accepted: Python folds identifiers by NFKC
    "long s": (_equation("\u017fin(x)"), "equations.x: the character U+017F at column 1 is not ASCII"),
    "full-width x": (_equation("sigma * (y - \uff58)"), "equations.x: the character U+FF58 at column 14"),
    "non-ASCII state name": (_lorenz("[x, y, z]", "[\uff58, y, z]"), "field 'state': state name"),
    "200-character name": (_lorenz("rho: 28.0", "r" * 200 + ": 28.0"), "is 200 characters long, more than the limit"),
    # silently accepted: "$" matches before a trailing newline
    "state name with a newline": (_lorenz("state: [x, y, z]", 'state: ["x\\n", y, z]'),
                                  r"state name 'x\n' is not a valid name"),
    "parameter name with a newline": (_lorenz("rho: 28.0", '"rho\\n": 28.0'),
                                      r"parameter 'rho\n' is not a valid name"),
}

# Attacks that load but fail a later check: case -> (spec text, what `systems check` must print).
FOUND_BY_CHECK = {
    # ZeroDivisionError from the compiled right-hand side
    "division by zero at the initial condition": (_equation("1/(x-x)"), "[finite]"),
    "zero parameter as divisor": (_lorenz("rho: 28.0", "rho: 0.0").replace("sigma * (y - x)", "sigma * (y - x) / rho"),
                                  "equations.x is -inf"),
    # ZeroDivisionError mid-integration: floor(t - 1) is 0 from t = 1 on
    "division by zero mid-integration": (_equation("sigma * (y - x) + 1 / floor(t - 1)"),
                                         "ended with STEP_SIZE_UNDERFLOW at t=1"),
    # ZeroDivisionError in the integrator's first step (the vector field overflows its norm)
    "overflowing vector field": (_equation("x**99 * y**99"), "ended with STEP_SIZE_UNDERFLOW"),
}

# Specs that once broke the Jacobian ("cannot print Derivative") and now pass the whole check.
PASSING = {
    "floor": _equation("sigma * (y - x) + 0.01 * floor(x) * x"),
    "mod": _equation("sigma * (y - x) + 0.01 * mod(x, y)"),
}
