"""The whole registry: every dysts flow transcribed faithfully, and every spec passes the conformance check.

The fixtures were recorded from dysts 0.96 by scripts/make_reference_rhs.py in a throw-away environment;
dysts itself is not a dependency.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import dysts_bench as db
from dysts_bench.checks.systems import check_system

FIXTURES = Path(__file__).parent / "fixtures"
METADATA = json.loads((Path(__file__).parents[1] / "data" / "reference" / "dysts_metadata.json").read_text())
RHS = np.load(FIXTURES / "dysts_rhs.npz")


def _flatten(params: dict) -> dict[str, float]:
    """dysts's list-valued parameters as our scalar ones: name_i, or name_i_j for matrices."""
    flat = {}
    for name, value in params.items():
        arr = np.asarray(value, dtype=float)
        if arr.ndim == 0:
            flat[name] = float(arr)
        else:
            for index in np.ndindex(arr.shape):
                flat[name + "".join(f"_{i}" for i in index)] = float(arr[index])
    return flat


def test_every_dysts_flow_is_in_the_registry():
    assert len(METADATA) == 135
    missing = sorted(set(METADATA) - set(db.list_systems()))
    assert not missing


@pytest.mark.parametrize("name", sorted(METADATA))
def test_same_facts_as_dysts(name):
    meta = METADATA[name]
    s = db.get_system(name, version=1)
    assert s.params == pytest.approx(_flatten(meta["parameters"]), rel=1e-15)
    ic = np.asarray(meta["initial_conditions"], dtype=float).ravel()
    np.testing.assert_array_equal(s.initial_condition, ic[: s.dim])
    assert s.dt == meta["dt"] and s.period == meta["period"]
    assert s.spec.hamiltonian == meta["hamiltonian"] and s.spec.non_autonomous == meta["nonautonomous"]
    assert bool(s.delay_lags) == meta["delay"]
    if not meta["delay"]:
        assert s.dim == meta["dim"]


@pytest.mark.parametrize("name", sorted(METADATA))
def test_rhs_matches_dysts(name):
    s = db.get_system(name, version=1)
    xs, ts, expected = RHS[f"{name}.x"], RHS[f"{name}.t"], RHS[f"{name}.dx"]
    ours = np.array([s.rhs(x, t) for x, t in zip(xs, ts, strict=True)])
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max())


@pytest.mark.parametrize("name", db.list_systems())
def test_every_system_passes_the_conformance_check(name):
    problems = check_system(name)
    assert not problems, "\n".join(map(str, problems))


def test_newer_versions_keep_the_dysts_equations():
    """A later version may correct flags and text (DoublePendulum@2: not Hamiltonian), not the vector field."""
    newer = [n for n in METADATA if db.get_system(n).version > 1]
    assert "DoublePendulum" in newer
    for name in newer:
        xs, ts = RHS[f"{name}.x"], RHS[f"{name}.t"]
        old, new = db.get_system(name, version=1), db.get_system(name)
        np.testing.assert_array_equal([new.rhs(x, t) for x, t in zip(xs, ts, strict=True)],
                                      [old.rhs(x, t) for x, t in zip(xs, ts, strict=True)])


@pytest.mark.parametrize("name", sorted(n for n in db.list_systems() if db.get_system(n).hamiltonian))
def test_hamiltonian_systems_preserve_volume(name):
    """A system flagged Hamiltonian has a divergence-free vector field.

    The fluid flows in polar coordinates (r, theta) preserve the area r dr dtheta: their divergence
    gains f_r / r.
    """
    s = db.get_system(name)
    polar = s.state_names[:2] == ("r", "theta")
    rng = np.random.default_rng(0)
    scale = np.maximum(np.abs(s.initial_condition), 1.0)
    for x in s.initial_condition + scale * rng.uniform(-0.5, 0.5, size=(20, s.dim)):
        jac = s.jacobian(x, 0.0)
        divergence = np.trace(jac) + (s.rhs(x, 0.0)[0] / x[0] if polar else 0.0)
        assert abs(divergence) <= 1e-9 * max(1.0, np.abs(jac).max())


def test_system_ids_parse_one_way_and_outdated_versions_warn(caplog):
    import logging

    from dysts_bench.errors import UnknownSystemError
    from dysts_bench.specs.registry import _warn_outdated, parse_id

    _warn_outdated.cache_clear()   # it warns once per process: earlier tests may have looked it up
    assert parse_id("Lorenz") == ("Lorenz", None) and parse_id("Lorenz@1") == ("Lorenz", 1)
    for bad in ("Lorenz@", "Lorenz@one", "@1", "Lorenz@-1"):
        with pytest.raises(UnknownSystemError, match="bad system id"):
            parse_id(bad)
    with caplog.at_level(logging.WARNING, logger="dysts_bench.specs.registry"):
        assert db.get_system("DoublePendulum@1").version == 1
    assert "DoublePendulum@1 is outdated: the latest version is DoublePendulum@2" in caplog.text


def test_parallel_options_refuse_a_non_positive_worker_count(capsys):
    import argparse

    from dysts_bench.parallel import add_parallel_options, map_unordered

    parser = argparse.ArgumentParser()
    add_parallel_options(parser, "systems")
    assert parser.parse_args(["--workers", "2"]).workers == 2
    for bad in ("0", "two"):
        with pytest.raises(SystemExit):
            parser.parse_args(["--workers", bad])
    assert "must be positive" in capsys.readouterr().err
    assert list(map_unordered(lambda x: x * x, [1, 2, 3])) == [(1, 1), (2, 4), (3, 9)]


def test_a_system_is_immutable_and_its_derived_arrays_follow_its_parameters():
    lorenz = db.get_system("Lorenz")
    with pytest.raises(TypeError):
        lorenz.params["sigma"] = 20.0            # read-only: with_params makes another system
    changed = lorenz.param_array
    changed[:] = 0.0                             # a copy: the system is unchanged
    assert np.array_equal(lorenz.param_array, [lorenz.params[p] for p in lorenz.program.params])
    faster = lorenz.with_params(sigma=20.0)
    assert faster.params["sigma"] == 20.0 and lorenz.params["sigma"] == 10.0
    assert faster.param_array[list(lorenz.program.params).index("sigma")] == 20.0
    mackey = db.get_system("MackeyGlass")
    longer = mackey.with_params(tau=20.0)
    assert longer.delay_lags == {"tau": 20.0} and longer.rhs(np.array([1.0]))[0] == mackey.rhs(np.array([1.0]))[0]
    assert lorenz.timescale == lorenz.period and db.get_system("Lorenz").timescale > 0


def test_a_stale_sidecar_is_an_error_naming_the_file_and_the_command(tmp_path):
    lorenz = db.get_system("Lorenz")
    spec = tmp_path / "Lorenz" / "1.yaml"
    spec.parent.mkdir()
    spec.write_bytes(lorenz.path.read_bytes())
    sidecar = spec.with_name("1.invariants.json")
    sidecar.write_text(json.dumps({**lorenz.invariants, "spec_hash": "0" * 64}))
    with pytest.raises(db.DystsBenchError, match=r"1\.invariants\.json: computed for another version.*"
                                                 r"dysts-bench invariants Lorenz@1 --write"):
        db.System.from_file(spec).invariants   # noqa: B018
    sidecar.write_text(json.dumps(lorenz.invariants.to_dict()))
    assert db.System.from_file(spec).invariants["lyapunov_max"] == lorenz.invariants["lyapunov_max"]
    # The sidecar was computed for the spec's parameters: a system with others has no invariants yet.
    assert lorenz.with_params(rho=35.0).invariants == {} and lorenz.with_params(rho=28.0).invariants


@pytest.mark.parametrize(("text", "message"), [
    ('{"lyapunov_max": {"value": "fast"}}', r"lyapunov_max\.value.*dysts-bench invariants Lorenz@1 --write"),
    ('{"lyapunov_maximum": {"value": 0.9}}', r"lyapunov_maximum: Extra inputs are not permitted"),
    ('{"lyapunov_max": ', r"not a readable invariants sidecar"),
])
def test_a_sidecar_that_is_not_one_is_an_error_naming_the_file_and_the_field(tmp_path, text, message):
    spec = tmp_path / "Lorenz" / "1.yaml"
    spec.parent.mkdir()
    spec.write_bytes(db.get_system("Lorenz").path.read_bytes())
    spec.with_name("1.invariants.json").write_text(text)
    with pytest.raises(db.DystsBenchError, match=r"1\.invariants\.json: .*" + message):
        db.System.from_file(spec).invariants   # noqa: B018
    from dysts_bench.checks.systems import check_system

    assert [p.check for p in check_system(spec, long_run=False)] == ["invariants"]


def test_the_typed_invariants_read_every_committed_sidecar_as_written():
    """The record holds every field of every sidecar: reading and writing it back loses nothing; it also
    reads as the sidecar's dict, as `System.invariants` did before it was typed."""
    for name in db.list_systems():
        system = db.get_system(name)
        if system.sidecar_path and system.sidecar_path.exists():
            data = json.loads(system.sidecar_path.read_text())
            assert system.invariants.to_dict() == data and system.invariants == data, name
    lorenz = db.get_system("Lorenz").invariants
    assert lorenz["lyapunov_max"]["value"] == lorenz.lyapunov_max.value == lorenz.scalar("lyapunov_max") > 0
    assert lorenz.get("missing", 1) == 1 and "period" in lorenz and dict(lorenz)["chaos"] == lorenz.chaos
