"""Invariants against literature values and independent computations."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

import dysts_bench as db
from dysts_bench.invariants import (
    complexity_entropy,
    compute_invariants,
    correlation_dimension,
    dominant_period,
    kaplan_yorke_dimension,
    kaplan_yorke_estimate,
    lyapunov_spectrum,
    natural_time,
    permutation_entropy,
    read_sidecar,
    recommended_dt,
    write_sidecar,
)
from dysts_bench.invariants.estimate import batch_stderr
from dysts_bench.invariants.lyapunov import chaos_class
from dysts_bench.invariants.ordinal import complexity_entropy_bounds
from dysts_bench.invariants.period import MIN_BIN
from dysts_bench.invariants.report import write_comparison, write_table
from dysts_bench.invariants.sidecar import PERIOD_AGREEMENT, period_note
from dysts_bench.invariants.trajectory import attractor_samples
from dysts_bench.specs.invariants import Invariants

SIGMA, RHO, BETA = 10.0, 28.0, 8.0 / 3.0
LORENZ = (0.9056, 0.0, -14.5723)


@pytest.fixture(scope="module")
def lorenz():
    return db.get_system("Lorenz").with_params(sigma=SIGMA, rho=RHO, beta=BETA)


@pytest.fixture(scope="module")
def lorenz_spectrum(lorenz):
    return lyapunov_spectrum(lorenz, rtol=4e-3)


def test_lorenz_spectrum_matches_literature(lorenz_spectrum):
    lam, se = lorenz_spectrum.exponents, lorenz_spectrum.stderr
    assert lam[0] == pytest.approx(LORENZ[0], rel=0.01)
    assert abs(lam[1]) < 0.01
    assert lam[2] == pytest.approx(LORENZ[2], rel=0.01)
    assert lam.sum() == pytest.approx(-(SIGMA + 1 + BETA), abs=1e-3)
    assert np.all(se > 0) and se[0] < 0.01
    assert lorenz_spectrum.converged


def test_dopri5_tangent_steps_estimate_their_error_with_the_fsal_stage(lorenz):
    """DOPRI5's error weights read f(t + h, y_new): without it the tangent run failed while aligning."""
    lam = lyapunov_spectrum(lorenz, integrator="dopri5", max_time=200).exponents
    assert lam[0] == pytest.approx(LORENZ[0], rel=0.03) and lam[2] == pytest.approx(LORENZ[2], rel=0.01)


def test_lorenz_kaplan_yorke(lorenz_spectrum):
    est = kaplan_yorke_estimate(lorenz_spectrum)
    assert est.value == pytest.approx(2.06, abs=0.01)
    assert 0 < est.stderr < 0.01


def test_lorenz_correlation_dimension(lorenz):
    dt = 1.5 / 5.3
    points = attractor_samples(lorenz, dt, 6000)
    est = correlation_dimension(points, theiler=5)
    assert est.value == pytest.approx(2.05, abs=0.05)
    assert 0 < est.stderr < 0.1
    assert est.settings["decades"] >= 0.75


def test_rossler_largest_exponent():
    rossler = db.get_system("Rossler")
    assert rossler.params == {"a": 0.2, "b": 0.2, "c": 5.7}
    result = lyapunov_spectrum(rossler, k=1, rtol=0.01)
    assert result.maximum == pytest.approx(0.0714, rel=0.03)


VAN_DER_POL = """\
name: VanDerPol
version: 1
description: The unforced van der Pol oscillator, whose attractor is a limit cycle.
state: [x, y]
parameters: {mu: 1.0}
equations:
  x: y
  y: mu * (1 - x**2) * y - x
initial_condition: [2.0, 0.0]
dt: 0.01
period: 6.66
references:
  - citation: van der Pol (1926)
"""


def test_limit_cycle_has_zero_largest_exponent(write_spec):
    system = db.System.from_file(write_spec(VAN_DER_POL, name="VanDerPol"))
    result = lyapunov_spectrum(system, max_time=500 * system.period)
    assert abs(result.exponents[0]) < 0.005
    assert result.exponents[1] < -0.5
    assert kaplan_yorke_estimate(result).value == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("name", ["Rossler", "HyperRossler", "Duffing", "NoseHoover"])
def test_spectrum_sums_to_mean_jacobian_trace(name):
    system = db.get_system(name)
    result = lyapunov_spectrum(system, max_time=100 * system.period, min_blocks=10)
    assert result.exponents.sum() == pytest.approx(result.trace_mean, abs=1e-6 * (1 + abs(result.trace_mean)))
    assert np.all(np.diff(result.exponents) <= 0)


def test_non_smooth_system_uses_nearby_trajectories():
    chua = db.get_system("Chua")
    assert chua.non_smooth
    result = lyapunov_spectrum(chua, max_time=300 * chua.period, min_blocks=10)
    assert result.method == "nearby"
    assert result.maximum > 0.1
    # Chua's field is continuous (piecewise linear), so volumes still follow the mean trace.
    assert result.exponents.sum() == pytest.approx(result.trace_mean, abs=1e-3)


def test_without_the_trace_no_jacobian_is_needed():
    """trace=False: "auto" takes nearby trajectories on a smooth system and never asks for its Jacobian."""
    lorenz = db.get_system("Lorenz")

    class NoJacobian(db.System):
        @property
        def jacobian_function(self):
            raise AssertionError("the Jacobian was asked for")

    system = NoJacobian(lorenz.spec)
    result = lyapunov_spectrum(system, k=1, max_time=300 * lorenz.period, min_blocks=10, trace=False)
    assert result.method == "nearby" and math.isnan(result.trace_mean)
    assert result.maximum == pytest.approx(0.906, abs=4 * result.stderr[0] + 0.02)
    with pytest.raises(db.DystsBenchError, match="needs the Jacobian"):
        lyapunov_spectrum(system, k=1, method="variational", trace=False)


def test_discontinuous_system_integrates_trajectories_separately():
    assert db.get_system("SprottMore").program.functions & {"sign"}
    chua = db.get_system("Chua")  # continuous: both nearby-trajectory methods must agree
    shared = lyapunov_spectrum(chua, k=1, max_time=400 * chua.period, min_blocks=10)
    separate = lyapunov_spectrum(chua, k=1, method="separate", max_time=400 * chua.period, min_blocks=10)
    assert separate.method == "separate"
    assert separate.maximum == pytest.approx(shared.maximum, abs=4 * math.hypot(shared.stderr[0],
                                                                                 separate.stderr[0]))


@pytest.mark.slow
def test_mackey_glass_delay_exponent():
    # τ = 17, the classic chaotic case: λ_max ≈ 0.0056 (RK4 on a 100-point history; Farmer 1982).
    system = db.get_system("MackeyGlass").with_params(tau=17.0)
    result = lyapunov_spectrum(system, h=0.17, max_time=1e5, rtol=0.03)
    assert result.method == "delay"
    assert result.maximum == pytest.approx(0.0056, rel=0.15)


def test_delay_equation_at_dysts_parameters_is_periodic():
    # τ = 16 lies below the onset of chaos (τ ≈ 16.8): a limit cycle.
    system = db.get_system("MackeyGlass")
    result = lyapunov_spectrum(system, max_time=3000 * system.period)
    assert abs(result.maximum) < 1e-3


def _ordinal_by_hand(x, order):
    """Pattern frequencies by explicit enumeration of permutations (independent of the library)."""
    counts = dict.fromkeys(itertools.permutations(range(order)), 0)
    for t in range(len(x) - order + 1):
        window = x[t: t + order]
        counts[tuple(sorted(range(order), key=lambda i: (window[i], i)))] += 1
    total = sum(counts.values())
    return np.array([c / total for c in counts.values()])


def _entropy_complexity_by_hand(p):
    n = p.size
    s = lambda q: -sum(v * math.log(v) for v in q if v > 0)  # noqa: E731
    u = np.full(n, 1 / n)
    js = s((p + u) / 2) - s(p) / 2 - s(u) / 2
    delta = np.zeros(n)
    delta[0] = 1
    js_max = s((delta + u) / 2) - s(delta) / 2 - s(u) / 2
    h = s(p) / math.log(n)
    return h, js / js_max * h


def test_permutation_entropy_by_hand_order_3():
    # Bandt & Pompe's example: the sorting permutations are 012 (twice), 201 (twice) and 102 (once).
    x = np.array([4, 7, 9, 10, 6, 11, 3], dtype=float)
    p = np.array([2, 2, 1]) / 5
    h_hand = -(p * np.log(p)).sum() / math.log(6)
    assert permutation_entropy(x, order=3) == pytest.approx(h_hand, abs=1e-12)
    assert h_hand == pytest.approx(1.5219 / math.log2(6), abs=1e-4)
    assert complexity_entropy(x, order=3) == pytest.approx(_entropy_complexity_by_hand(_ordinal_by_hand(x, 3)))


def _logistic(n, x0=0.1, r=4.0):
    x = np.empty(n + 1000)
    x[0] = x0
    for i in range(1, x.size):
        x[i] = r * x[i - 1] * (1 - x[i - 1])
    return x[1000:]


def test_logistic_map_and_white_noise_complexity():
    x = _logistic(100_000)
    h, c = complexity_entropy(x)
    assert (h, c) == pytest.approx(_entropy_complexity_by_hand(_ordinal_by_hand(x, 5)), abs=1e-12)
    assert h == pytest.approx(0.679, abs=0.005)
    assert c == pytest.approx(0.399, abs=0.005)
    noise = np.random.default_rng(0).standard_normal(10_000)
    h, c = complexity_entropy(noise)
    assert (h, c) == pytest.approx(_entropy_complexity_by_hand(_ordinal_by_hand(noise, 5)), abs=1e-12)
    assert h == pytest.approx(0.999, abs=0.002)
    assert c == pytest.approx(0.002, abs=0.002)


def test_complexity_bounds_enclose_a_series():
    lower, upper = complexity_entropy_bounds(5)   # 5! = 120 patterns
    h, c = complexity_entropy(_logistic(20_000))
    assert np.interp(h, lower[0], lower[1]) <= c <= upper[1].max()


def test_kaplan_yorke_formula():
    assert kaplan_yorke_dimension([0.9056, 0.0, -14.5723]) == pytest.approx(2 + 0.9056 / 14.5723)
    assert kaplan_yorke_dimension([-0.1, -1.0]) == 0.0
    assert kaplan_yorke_dimension([0.0, -1.0]) == 1.0
    assert kaplan_yorke_dimension([0.2, 0.1]) == 2.0


def test_period_and_natural_time_of_a_sine():
    dt = 0.05
    t = np.arange(40_000) * dt
    y = np.column_stack([np.sin(2 * np.pi * t / 3.7), np.cos(2 * np.pi * t / 3.7)])
    est = dominant_period(y, dt)
    assert est.value == pytest.approx(3.7, rel=2e-3)
    assert natural_time(y[:, 0], dt) == pytest.approx(3.7, rel=2e-3)
    assert recommended_dt(3.7) == pytest.approx(0.37)


def test_correlation_dimension_of_simple_sets():
    rng = np.random.default_rng(1)
    angle = rng.uniform(0, 2 * np.pi, 4000)
    circle = np.column_stack([np.cos(angle), np.sin(angle), np.zeros_like(angle)])
    assert correlation_dimension(circle).value == pytest.approx(1.0, abs=0.05)
    square = rng.uniform(size=(4000, 2))
    assert correlation_dimension(square).value == pytest.approx(2.0, abs=0.1)


def test_batch_stderr_of_independent_samples():
    samples = np.random.default_rng(2).standard_normal((4096, 2))
    se = batch_stderr(samples)
    assert se == pytest.approx(np.full(2, 1 / 64), rel=0.25)


def test_sidecar_roundtrip_and_spec_hash(lorenz_spec):
    system = db.System.from_file(lorenz_spec)
    inv = compute_invariants(system, lyapunov_options={"max_time": 300 * system.period})
    for key in ("lyapunov_spectrum", "lyapunov_max", "lyapunov_time", "kaplan_yorke_dimension",
                "correlation_dimension", "period", "permutation_entropy", "statistical_complexity",
                "ideal_sampling"):
        assert inv[key]["value"] is not None, (key, inv[key])
    assert inv["errors"] == {}
    assert inv["spec_hash"] == system.spec_hash and inv["package_version"] == db.__version__
    assert inv["lyapunov_time"]["value"] == pytest.approx(1 / inv["lyapunov_max"]["value"])
    assert 0.3 <= 4 * inv["ideal_sampling"]["recommended_dt"] / inv["ideal_sampling"]["natural_time"] <= 0.5
    path = write_sidecar(system, inv)
    assert db.System.from_file(lorenz_spec).invariants.lyapunov_max.value == inv["lyapunov_max"]["value"]
    assert read_sidecar(system).spec_hash == system.spec_hash
    data = json.loads(path.read_text())
    data["spec_hash"] = "0" * 64
    path.write_text(json.dumps(data))
    with pytest.raises(db.DystsBenchError, match="spec_hash differs"):
        read_sidecar(system)
    from dysts_bench.checks.systems import check_system

    assert any(p.check == "invariants" for p in check_system(lorenz_spec, long_run=False))


def test_failed_integration_is_an_error_entry(write_spec):
    blowup = VAN_DER_POL.replace("y: mu * (1 - x**2) * y - x", "y: y**2 + 1 + 0 * mu").replace("VanDerPol", "Blowup")
    system = db.System.from_file(write_spec(blowup, name="Blowup"))
    inv = compute_invariants(system)
    assert inv["lyapunov_max"]["value"] is None and "lyapunov_max" in inv["errors"]
    assert inv["chaotic"] is None


def test_reports_from_sidecars(tmp_path):
    inv = Invariants.model_validate({
        "version": 1, "chaotic": True, "errors": {},
        "lyapunov_max": {"value": 1.2, "stderr": 0.01}, "lyapunov_time": {"value": 1 / 1.2, "stderr": 0.01},
        "lyapunov_spectrum": {"value": [1.2, 0.0, -10.0], "method": "variational", "sum": -8.8,
                              "jacobian_trace_mean": -8.8, "settings": {"averaging_time": 5000.0}},
        "permutation_entropy": {"value": 0.8, "stderr": 0.001}})
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"Toy": {"dysts_maximum_lyapunov_estimated": 2.0,
                                        "dysts_lyapunov_spectrum_estimated": [0.5, 0.0, -9.0]}}))
    csv_path, md_path = write_table({"Toy": inv}, tmp_path)
    assert "Toy" in csv_path.read_text() and "1.2 ± 0.01" in md_path.read_text()
    text = write_comparison({"Toy": inv}, tmp_path, metadata=meta).read_text()
    assert "| Toy |" in text and "disagree" in text


def test_committed_sidecars_are_consistent():
    """Every current sidecar has every quantity or an explicit error, and its spectrum sums to the trace."""
    checked = 0
    for name in db.list_systems():
        system = db.get_system(name)
        inv = system.invariants
        if not inv.computed or inv.spec_hash != system.spec_hash:
            continue  # not computed yet, or stale: `dysts-bench systems check` reports those
        checked += 1
        for key in ("lyapunov_spectrum", "lyapunov_max", "lyapunov_time", "kaplan_yorke_dimension",
                    "correlation_dimension", "period", "permutation_entropy", "statistical_complexity",
                    "ideal_sampling"):
            entry = getattr(inv, key)
            assert entry.value is not None or entry.error or entry.note, (name, key)
        spectrum = inv.lyapunov_spectrum
        if spectrum.method == "variational":
            trace = spectrum.jacobian_trace_mean
            assert spectrum.sum == pytest.approx(trace, abs=1e-5 * (1 + abs(trace))), name
        if inv.chaotic:
            assert inv.lyapunov_time.value == pytest.approx(1 / inv.lyapunov_max.value), name
    if checked == 0:
        pytest.skip("no sidecar computed yet: run `dysts-bench invariants --all --write`")


def test_period_is_never_set_by_the_lowest_spectral_bins():
    """A strong random walk (power rising towards zero frequency) under a sine: the sine's period."""
    rng = np.random.default_rng(3)
    dt = 0.05
    t = np.arange(2**14) * dt
    drift = np.cumsum(rng.standard_normal(t.size)) * 0.5
    y = np.column_stack([np.sin(2 * np.pi * t / 3.7) + drift, np.cos(2 * np.pi * t / 3.7)])
    est = dominant_period(y, dt)
    assert est.value == pytest.approx(3.7, rel=0.02)
    assert est.settings["lowest_bin"] == MIN_BIN
    with pytest.raises(db.DystsBenchError, match="no peak"):
        dominant_period(np.cumsum(rng.standard_normal((2**14, 2)), axis=0), dt)


def test_chaos_classes():
    chaotic, why = chaos_class(0.9, 0.01, 1000.0, 1.5)
    assert chaotic == "chaotic" and "exceeds" in why
    assert chaos_class(0.002, 0.0001, 10_000.0, 7.7)[0] == "marginal"  # an e-folding in 65 periods
    assert chaos_class(0.002, 0.001, 10_000.0, 7.7)[0] == "not_chaotic"  # within 3 standard errors
    assert chaos_class(0.01, 0.0001, 100.0, 100.0)[0] == "not_chaotic"  # within the O(1/T) end term


def test_period_notes_explain_a_disagreement_with_the_spec():
    assert period_note(1.45, 1.5, 0.5) is None
    assert "harmonic 2" in period_note(0.76, 1.5, 0.1)
    assert "3 times the spec's period" in period_note(24.0, 8.0, 0.2)
    assert "not a whole multiple" in period_note(3.4, 7.7, 0.05)


def test_registry_sidecars_hold_up():
    """Every sidecar: a period within PERIOD_AGREEMENT of the spec's or a note why, a chaos class with its
    reason, and for non-smooth systems an error that includes the spread over d0."""
    for name in db.list_systems():
        system = db.get_system(name)
        inv = system.invariants
        period = inv.period
        if system.period is not None and period.value is not None:
            ratio = system.period / period.value
            assert 1 / PERIOD_AGREEMENT <= ratio <= PERIOD_AGREEMENT or period.note, name
            assert period.settings.get("lowest_bin", MIN_BIN) == MIN_BIN, name
        lam = inv.lyapunov_max
        if lam.value is None:
            continue
        assert inv.chaos in ("chaotic", "marginal", "not_chaotic") and lam.chaos_reason, name
        assert inv.chaotic == (inv.chaos == "chaotic"), name
        assert (inv.lyapunov_time.value is not None) == inv.chaotic, name
        if system.non_smooth and not system.delay_lags:
            spread = lam.d0_spread["lyapunov_max"]
            assert lam.stderr >= (max(spread) - min(spread)) / 2, name
