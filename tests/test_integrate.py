"""Runge-Kutta kernels: orders of convergence, agreement with scipy, dense output, statuses, delays."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import dysts_bench as db
from dysts_bench.integrate.tableaus import TABLEAUS
from dysts_bench.system import System


@pytest.fixture(scope="module")
def lorenz():
    return db.get_system("Lorenz")


@pytest.mark.parametrize(("method", "steps"), [("rk4", (0.01, 0.005, 0.0025)), ("dopri5", (0.02, 0.01, 0.005)),
                                               ("dop853", (0.04, 0.02, 0.01))])
def test_empirical_order_of_convergence(lorenz, method, steps):
    reference = db.integrate(lorenz, t_end=1.0, dt_out=1.0, rtol=1e-13, atol=1e-13).y[-1]
    errors = [np.abs(db.integrate(lorenz, t_end=1.0, dt_out=1.0, method=method, h=h).y[-1] - reference).max()
              for h in steps]
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(np.abs(orders - TABLEAUS[method].order) < 0.9), orders


@pytest.mark.parametrize("name", ["Lorenz", "Rossler", "Thomas", "Duffing", "HenonHeiles"])
def test_agrees_with_scipy_dop853(name):
    s = db.get_system(name)
    t_end = 2 * (s.period or 1.0)
    ours = db.integrate(s, t_end=t_end, dt_out=t_end / 50, rtol=1e-12, atol=1e-12)
    ref = solve_ivp(lambda t, x: s.rhs(x, t), (0, ours.t[-1]), s.initial_condition, method="DOP853",
                    rtol=1e-12, atol=1e-12, t_eval=ours.t)
    assert ours.ok
    scale = np.abs(ref.y).max()
    np.testing.assert_allclose(ours.y, ref.y.T, atol=1e-8 * scale)


def test_dense_output_matches_stepping_to_each_time(lorenz):
    dense = db.integrate(lorenz, t_end=2.0, dt_out=0.25, rtol=1e-12, atol=1e-12)
    for k in (1, 3, 6):
        direct = db.integrate(lorenz, t_end=dense.t[k], dt_out=dense.t[k], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dense.y[k], direct.y[-1], rtol=1e-8, atol=1e-8)


def test_output_grid_is_exact_and_independent_of_steps(lorenz):
    coarse = db.integrate(lorenz, t_end=3.0, dt_out=0.1, transient=1.0)
    fine = db.integrate(lorenz, t_end=3.0, dt_out=0.05, transient=1.0)
    np.testing.assert_array_equal(coarse.t, 1.0 + 0.1 * np.arange(31))
    np.testing.assert_allclose(coarse.y, fine.y[::2], rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("name", ["Lorenz", "MackeyGlass"])
def test_deterministic_and_batch_equals_single(name):
    """A batch runs on numba's threads; each row is still the single integration, to the bit."""
    system = db.get_system(name)
    y0 = system.initial_condition * np.linspace(0.9, 1.1, 8)[:, None]
    a = db.integrate(system, y0, t_end=5.0, dt_out=0.1)
    b = db.integrate(system, y0, t_end=5.0, dt_out=0.1)
    assert a.y.shape == (8, 51, system.dim) and len(a.statuses) == 8 and a.ok
    np.testing.assert_array_equal(a.y, b.y)
    for i in range(8):
        single = db.integrate(system, y0[i], t_end=5.0, dt_out=0.1)
        np.testing.assert_array_equal(single.y, a.y[i])


def test_energy_is_conserved_on_a_hamiltonian_system():
    s = db.get_system("HenonHeiles")
    lam = s.params["lam"]

    def energy(v):
        x, y, px, py = v.T
        return 0.5 * (px**2 + py**2) + 0.5 * (x**2 + y**2) + lam * (x**2 * y - y**3 / 3)

    sol = db.integrate(s, t_end=200.0, dt_out=0.5, rtol=1e-12, atol=1e-12)
    e = energy(sol.y)
    assert np.abs(e - e[0]).max() < 1e-9


def test_failures_are_reported_not_silent(write_spec):
    blowup = System.from_file(write_spec("""\
        name: Toy
        version: 1
        description: Finite-time blow-up x' = x^2.
        state: [x]
        equations: {x: x**2}
        initial_condition: [1.0]
        dt: 0.1
        """))
    sol = db.integrate(blowup, t_end=2.0, dt_out=0.1)
    assert sol.status in (db.Status.STEP_SIZE_UNDERFLOW, db.Status.NONFINITE, db.Status.MAX_STEPS)
    assert not sol.ok
    assert np.isnan(sol.y[-1]).all() and np.isfinite(sol.y[:5]).all()
    capped = db.integrate(db.get_system("Lorenz"), t_end=100.0, dt_out=1.0, max_steps=10)
    assert capped.status == db.Status.MAX_STEPS


def test_bad_arguments_raise_integration_error(lorenz):
    with pytest.raises(db.IntegrationError, match="unknown method"):
        db.integrate(lorenz, t_end=1, dt_out=0.1, method="euler")
    with pytest.raises(db.IntegrationError, match="pass h="):
        db.integrate(lorenz, t_end=1, dt_out=0.1, method="rk4")
    with pytest.raises(db.IntegrationError, match="shape"):
        db.integrate(lorenz, np.zeros(2), t_end=1, dt_out=0.1)
    with pytest.raises(db.IntegrationError, match="dt_out"):
        db.integrate(lorenz, t_end=1, dt_out=0)


def test_non_autonomous_time_reaches_the_rhs(write_spec):
    forced = System.from_file(write_spec("""\
        name: Toy
        version: 1
        description: x' = cos(t), so x(t) = sin(t).
        state: [x]
        equations: {x: cos(t)}
        initial_condition: [0.0]
        dt: 0.1
        """))
    sol = db.integrate(forced, t_end=10.0, dt_out=0.5, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sol.y[:, 0], np.sin(sol.t), atol=1e-10)


def _mackey_glass_by_scipy(s: System, t_end: float) -> tuple[np.ndarray, np.ndarray]:
    """Method of steps with scipy: each lag interval is an ODE driven by the previous interval."""
    beta, gamma, n, tau = (s.params[k] for k in ("beta", "gamma", "n", "tau"))
    x0 = s.initial_condition[0]
    pieces = []

    def past(t):
        if t <= 0:
            return x0
        for start, sol in pieces:
            if t <= start + tau:
                return sol.sol(t)[0]
        raise AssertionError(t)

    start = 0.0
    while start < t_end:
        xs = pieces[-1][1].y[0, -1] if pieces else x0
        sol = solve_ivp(lambda t, x: [beta * past(t - tau) / (1 + past(t - tau) ** n) - gamma * x[0]],
                        (start, start + tau), [xs], method="DOP853", rtol=1e-12, atol=1e-12, dense_output=True)
        pieces.append((start, sol))
        start += tau
    times = np.linspace(0, t_end, 41)
    return times, np.array([past(t) if t > 0 else x0 for t in times])


def test_mackey_glass_matches_an_independent_method_of_steps():
    s = db.get_system("MackeyGlass")
    times, expected = _mackey_glass_by_scipy(s, 3 * s.params["tau"])
    ours = db.integrate(s, t_end=times[-1], dt_out=times[1], rtol=1e-11, atol=1e-11)
    assert ours.ok
    np.testing.assert_allclose(ours.y[:, 0], expected, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("name", ["MackeyGlass", "IkedaDelay", "SprottDelay", "VossDelay", "ScrollDelay",
                                  "PiecewiseCircuit"])
def test_delay_equations_stay_bounded_and_move(name):
    s = db.get_system(name)
    sol = db.integrate(s, t_end=300.0, dt_out=0.5)
    assert sol.ok
    assert np.abs(sol.y).max() < 1e3 and sol.y[300:].std() > 1e-3


def test_jacobian_is_exact_for_lorenz(lorenz):
    sigma, rho, beta = (lorenz.params[k] for k in ("sigma", "rho", "beta"))
    x, y, z = 1.5, -2.0, 20.0
    expected = [[-sigma, sigma, 0], [rho - z, -1, -x], [y, x, -beta]]
    np.testing.assert_allclose(lorenz.jacobian(np.array([x, y, z])), expected, rtol=0, atol=1e-14)


def test_non_smooth_jacobian_is_taken_almost_everywhere(write_spec):
    s = System.from_file(write_spec("""\
        name: Toy
        version: 1
        description: Piecewise terms.
        state: [x, y]
        equations:
          x: abs(x) * y + where(y > 0, x**2, -x)
          y: max(x, y) + heaviside(x) * sign(y)
        initial_condition: [0.5, 1.0]
        dt: 0.1
        """))
    assert s.non_smooth
    np.testing.assert_allclose(s.jacobian(np.array([0.5, 2.0])), [[2.0 + 1.0, 0.5], [0.0, 1.0]])
    np.testing.assert_allclose(s.jacobian(np.array([-0.5, -2.0])), [[2.0 - 1.0, 0.5], [1.0, 0.0]])


def test_importing_the_package_and_listing_systems_compile_no_kernel(tmp_path):
    """The solver compiles on first use: `import dysts_bench` and `systems list` never pay for it."""
    import subprocess
    import sys

    script = ("import contextlib, io, sys\n"
              "from dysts_bench.cli import main\n"
              "with contextlib.redirect_stdout(io.StringIO()):\n"
              "    main(['systems', 'list'])\n"
              "from dysts_bench.integrate import kernels\n"
              "from dysts_bench.invariants import tangent_kernel\n"
              "sys.exit(kernels.solve.dispatcher.cache_info().currsize"
              " + tangent_kernel.advance.dispatcher.cache_info().currsize)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr


def test_a_tableau_derives_its_stages_and_checks_its_coefficients():
    """Stages and first-same-as-last come from the table; a mistyped coefficient fails where it is made."""
    import dataclasses

    from dysts_bench.integrate.tableaus import Tableau

    assert [(t.stages, t.fsal) for t in TABLEAUS.values()] == [(4, False), (6, True), (12, True)]
    dop853 = TABLEAUS["dop853"]
    a = dop853.a.copy()
    a[5, 3] += 1e-6
    with pytest.raises(ValueError, match="dop853: not a consistent method: each row of a sums to its node c"):
        dataclasses.replace(dop853, a=a)
    error = dop853.error.copy()
    error[0] += 1e-6
    with pytest.raises(ValueError, match="the error weights sum to 0"):
        dataclasses.replace(dop853, error=error)
    with pytest.raises(ValueError, match="one row per stage"):
        Tableau("short", 1, np.zeros((2, 2)), np.ones(3), np.zeros(2), np.zeros((2, 1)))


def _loop_sum(y, h, coefficients, K, stop):
    """The generic stage sum the kernels ran before the sums were written out: y + (h c_j) K_j, j in order."""
    out = y.copy()
    for j in range(stop):
        out = out + h * coefficients[j] * K[j]
    return out


def _loop_error_norm(K, t, h, y, ynew, rtol, atol):
    scale = atol + rtol * np.maximum(np.abs(y), np.abs(ynew))
    sums = [sum(((sum((w[k] * K[k] for k in range(len(w))), np.zeros(len(y))) / scale) ** 2), 0.0)
            for w in ([t.error] if t.error2 is None else [t.error, t.error2])]
    if t.error2 is None:
        return abs(h) * math.sqrt(sums[0] / len(y))
    return abs(h) * sums[0] / math.sqrt((sums[0] + 0.01 * sums[1]) * len(y))


@pytest.mark.parametrize("method", sorted(TABLEAUS))
def test_written_out_sums_equal_the_loops_bit_for_bit(method):
    """The kernels' generated sums leave zero coefficients out and keep the loops' order: not one bit moves."""
    from dysts_bench.integrate import sums as gen

    t, m = TABLEAUS[method], gen.METHODS.index(method)
    rng = np.random.default_rng(0)
    dim, n = 5, t.a.shape[0]
    ours = np.empty(dim)
    for _ in range(20):
        K, y, ynew = rng.normal(size=(n, dim)) * 10.0 ** rng.integers(-3, 4), rng.normal(size=dim), rng.normal(size=dim)
        h, theta = rng.uniform(1e-4, 0.5), rng.uniform()
        for row in range(1, n):
            gen.stage(m, row, y, h, K, ours)
            assert ours.tobytes() == _loop_sum(y, h, t.a[row], K, row).tobytes(), (method, row)
        gen.new_point(m, y, h, K, ours)
        assert ours.tobytes() == _loop_sum(y, h, t.b, K, t.stages).tobytes()
        if t.adaptive:
            assert gen.error_norm(m, K, h, y, ynew, 1e-6, 1e-8) == _loop_error_norm(K, t, h, y, ynew, 1e-6, 1e-8)
        # Dense output: each stage's weight summed by powers of theta, then the stages in order.
        power, w = 1.0, np.zeros(n)
        for j in range(t.dense.shape[1]):
            power *= theta
            w = w + t.dense[:, j] * power
        acc = sum((w[k] * K[k] for k in range(n) if t.dense[k].any()), np.zeros(dim))
        gen.interpolate(m, y, h, K, theta, ours, 0)
        assert ours.tobytes() == (y + h * acc).tobytes()


def test_the_committed_sums_are_those_of_the_tableaus():
    """integrate/sums.py is generated from the tableaus: an edited tableau needs it made again."""
    from dysts_bench.integrate import unrolled

    assert unrolled.GENERATED.read_text() == unrolled.source(), (
        "integrate/sums.py is not what the tableaus give: run `python -m dysts_bench.integrate.unrolled`")
