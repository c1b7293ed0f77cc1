"""The dataset part: configs, generation, determinism, resumption after SIGKILL, verify, load, download."""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from dysts_bench.cli import main
from dysts_bench.data import (
    ChecksumError,
    DataError,
    DatasetConfigError,
    download,
    generate,
    load,
    load_config,
    release,
    store,
    to_darts,
    verify,
)
from dysts_bench.data import config as config_module
from dysts_bench.data import manifest as manifest_module

from .conftest import LORENZ_SPEC

ROSSLER_SPEC = """\
name: {name}
version: 1
description: Test copy of the Rossler system.
state: [x, y, z]
parameters: {{a: 0.2, b: 0.2, c: 5.7}}
equations:
  x: -y - z
  y: x + a * y
  z: b + z * x - c * z
initial_condition: [6.5, 0.48, 0.34]
dt: 0.01
period: 5.9
"""

FORCED_SPEC = """\
name: Forced
version: 1
description: A Duffing oscillator forced through explicit time.
state: [x, y]
parameters: {delta: 0.1, gamma: 0.35, omega: 1.4}
equations:
  x: y
  y: -delta * y + x - x**3 + gamma * cos(omega * t)
initial_condition: [-1.16, -0.51]
dt: 0.01
period: 4.49
non_autonomous: true
"""

BLOWUP_SPEC = """\
name: Blowup
version: 1
description: Escapes to infinity in finite time.
state: [x]
equations:
  x: x**2 + 1
initial_condition: [1.0]
dt: 0.01
period: 1.0
"""

CONFIG = """\
name: tiny
description: a test config
seed: 7
systems: [Lorenz, Rossler, Forced]
sampling: {unit: period, points_per_unit: 20}
transient: 5
attractor_length: 20
splits:
  train: {n_ic: 2, length: 100}
  test: {n_ic: 3, length: 80, context: 60, horizon: 20}
"""


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Path:
    """A registry of small test systems (independent of the real one, which others edit)."""
    root = tmp_path_factory.mktemp("registry")
    for name, text in [("Lorenz", LORENZ_SPEC.format(name="Lorenz")), ("Lorenz2", LORENZ_SPEC.format(name="Lorenz2")),
                       ("Rossler", ROSSLER_SPEC.format(name="Rossler")), ("Forced", FORCED_SPEC),
                       ("Blowup", BLOWUP_SPEC)]:
        (root / name).mkdir()
        (root / name / "1.yaml").write_text(text)
    return root


@pytest.fixture(autouse=True)
def use_registry(registry, monkeypatch):
    monkeypatch.setenv("DYSTS_BENCH_SYSTEMS", str(registry))


def write_config(folder: Path, text: str = CONFIG, name: str = "tiny") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture(scope="module")
def archive(tmp_path_factory, registry) -> tuple[Path, dict]:
    """One archive of the tiny config, generated serially; tests that alter it work on a copy."""
    folder = tmp_path_factory.mktemp("archive")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DYSTS_BENCH_SYSTEMS", str(registry))
        manifest = generate(write_config(folder), folder / "tiny.zarr", progress=False)
    return folder / "tiny.zarr", manifest


def copy_archive(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


# --- configs -----------------------------------------------------------------------------------------

def test_released_configs_validate(monkeypatch):
    monkeypatch.delenv("DYSTS_BENCH_SYSTEMS")  # the released configs name systems of the real registry
    for name in ("demo", "dysts2021", "lyapunov", "pretrain", "pretrain-100"):
        assert load_config(name).name == name
    pretrain, small = load_config("pretrain"), load_config("pretrain-100")
    assert pretrain.systems == "generated" and pretrain.generated.exclude_parents == ["@core"]
    # The small corpus is the large one's recipe cut at 100 systems: its systems are the large one's first.
    assert small.generated.model_dump() == {**pretrain.generated.model_dump(), "n": 100}
    assert small.model_dump(exclude={"name", "description", "generated"}) == pretrain.model_dump(
        exclude={"name", "description", "generated"})
    assert load_config("dysts2021").systems == "all"
    lyap = load_config("lyapunov")
    assert lyap.sampling.unit == "lyapunov_time" and lyap.sampling.points_per_unit == 30
    assert {s.n_ic for s in lyap.splits.values()} == {20}
    assert (lyap.splits["test"].context, lyap.splits["test"].horizon) == (512, 300)


@pytest.mark.parametrize(("edit", "message"), [
    ("seed: 7", "field 'seed' is required"),
    ("splits:", "unknown field 'colour'"),
    ("test: {n_ic: 3, length: 80, context: 60, horizon: 20}", "exceeds length"),
    ("attractor_length: 20", "attractor_length"),
    ("systems: [Lorenz, Rossler, Forced]", "did you mean Lorenz"),
    ("sampling: {unit: period, points_per_unit: 20}", "sampling.unit"),
])
def test_bad_config_names_the_field(tmp_path, edit, message):
    replacement = {
        "seed: 7": "",
        "splits:": "colour: red\nsplits:",
        "test: {n_ic: 3, length: 80, context: 60, horizon: 20}": "test: {n_ic: 3, length: 80, context: 70, "
                                                                 "horizon: 20}",
        "attractor_length: 20": "attractor_length: 3",
        "systems: [Lorenz, Rossler, Forced]": "systems: [Lorenx]",
        "sampling: {unit: period, points_per_unit: 20}": "sampling: {unit: seconds, points_per_unit: 20}",
    }[edit]
    path = write_config(tmp_path, CONFIG.replace(edit, replacement))
    with pytest.raises(DatasetConfigError, match=message) as info:
        load_config(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(("long_term", "message"), [
    ("{n_ic: 1, length: 400, discard: 100}", "n_ic"),
    ("{n_ic: 2, length: 150, discard: 100}", "discard"),
    ("{n_ic: 4, length: 400, discard: 100}", "n_ic"),
    ("{n_ic: 2, length: 400, discard: 100, colour: red}", "colour"),
])
def test_bad_long_term_names_the_field(tmp_path, long_term, message):
    text = CONFIG.replace("horizon: 20}", f"horizon: 20, long_term: {long_term}}}")
    with pytest.raises(DatasetConfigError, match=message):
        load_config(write_config(tmp_path, text))


def test_split_names_may_not_collide_with_derived_arrays(tmp_path):
    with pytest.raises(DatasetConfigError, match="_long"):
        load_config(write_config(tmp_path, CONFIG.replace("train:", "train_long:")))


def test_unknown_config_name_suggests():
    with pytest.raises(DatasetConfigError, match="did you mean demo"):
        load_config("dem")


# --- generation ----------------------------------------------------------------------------------------

def test_archive_layout_and_manifest(archive):
    path, manifest = archive
    assert manifest["systems"].keys() == {"Lorenz", "Rossler", "Forced"}
    assert json.loads(manifest_module.sidecar_path(path).read_text()) == manifest
    assert store.read_root(path)["manifest"] == manifest
    entry = manifest["systems"]["Lorenz"]
    assert entry["arrays"]["test"]["shape"] == [3, 80, 3]
    ds = xr.open_zarr(path, group="Lorenz")
    assert ds["train"].dims == ("ic_train", "time_train", "dim")
    assert ds["test"].attrs["context"] == 60 and ds["test"].attrs["horizon"] == 20
    assert ds.attrs["system"] == "Lorenz" and ds.attrs["config_hash"] == manifest["config_hash"]
    assert ds.attrs["period"] == 1.5 and ds.attrs["timescale_source"] == "spec"
    np.testing.assert_allclose(np.diff(ds["time_test"].values), 1.5 / 20)
    assert manifest_module.array_sha256(ds["test"].values) == entry["arrays"]["test"]["sha256"]
    # Five distinct initial conditions, one per unit of attractor at least.
    t0 = np.concatenate([ds["t0_train"].values, ds["t0_test"].values])
    assert len(set(t0)) == 5


def test_long_truths_continue_the_first_test_contexts(tmp_path):
    config = write_config(tmp_path, CONFIG.replace("[Lorenz, Rossler, Forced]", "[Lorenz]").replace(
        "horizon: 20}", "horizon: 20, long_term: {n_ic: 2, length: 400, discard: 100}}"))
    manifest = generate(config, tmp_path / "long.zarr", progress=False)
    assert manifest["systems"]["Lorenz"]["arrays"]["test_long"]["shape"] == [2, 460, 3]
    ds = xr.open_zarr(tmp_path / "long.zarr", group="Lorenz")
    assert ds["test_long"].attrs["context"] == 60 and ds["test_long"].attrs["horizon"] == 400
    assert ds["test_long"].attrs["discard"] == 100
    # The same initial conditions and sampling as the test split: its contexts, continued further.
    np.testing.assert_array_equal(ds["t0_test_long"].values, ds["t0_test"].values[:2])
    np.testing.assert_allclose(ds["test_long"].values[:, :80], ds["test"].values[:2], rtol=1e-7, atol=1e-7)
    assert verify(tmp_path / "long.zarr") == []


def test_plain_xarray_opens_a_group_without_the_package(archive):
    path = archive[0]
    code = ("import sys, xarray as xr; ds = xr.open_zarr(sys.argv[1], group='Rossler'); "
            "assert 'dysts_bench' not in sys.modules; print(ds['train'].shape)")
    out = subprocess.run([sys.executable, "-W", "error", "-c", code, str(path)], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "(2, 100, 3)"


def test_trajectories_continue_the_attractor(archive):
    """A split trajectory after one unit is the next recorded attractor point (forced systems too)."""
    path, _ = archive
    for name in ("Lorenz", "Forced"):
        ds = xr.open_zarr(path, group=name)
        for split in ("train", "test"):
            values, t0 = ds[split].values, ds[f"t0_{split}"].values
            assert np.all(np.isfinite(values))
            # the state one unit later, integrated again from t0 + unit, must agree
            import dysts_bench as db

            s = db.get_system(name)
            unit = ds.attrs["period"]
            for i in range(values.shape[0]):
                sol = db.integrate(s, values[i, 0], t0=t0[i], t_end=unit, dt_out=unit / 20, rtol=1e-10,
                                   atol=1e-10)
                np.testing.assert_allclose(sol.y[-1], values[i, 20], rtol=1e-6, atol=1e-6)


def test_same_config_same_checksums_in_any_subset(archive, tmp_path):
    manifest = archive[1]
    config = write_config(tmp_path)
    again = generate(config, tmp_path / "again.zarr", progress=False)
    assert again["content_hash"] == manifest["content_hash"]
    one = generate(config, tmp_path / "one.zarr", systems=["Rossler"], progress=False)
    assert one["systems"]["Rossler"] == manifest["systems"]["Rossler"]
    assert one["config_hash"] != manifest["config_hash"]


def test_noise_keeps_the_clean_trajectory(tmp_path):
    config = write_config(tmp_path, CONFIG.replace("seed: 7", "seed: 7\nnoise: 0.1")
                          .replace("[Lorenz, Rossler, Forced]", "[Lorenz]"))
    generate(config, tmp_path / "noisy.zarr", progress=False)
    ds = load(tmp_path / "noisy.zarr", system="Lorenz", split="train")
    noise = (ds["train"] - ds["train_clean"]).values.reshape(-1, 3)
    np.testing.assert_allclose(noise.std(axis=0) / ds["train_clean"].values.reshape(-1, 3).std(axis=0), 0.1,
                               rtol=0.25)


def test_failed_system_is_recorded_and_the_rest_written(tmp_path):
    config = write_config(tmp_path, CONFIG.replace("[Lorenz, Rossler, Forced]", "[Blowup, Lorenz]"))
    manifest = generate(config, tmp_path / "f.zarr", progress=False)
    failed = manifest["systems"]["Blowup"]
    assert failed["status"] in ("nonfinite", "step_size_underflow", "max_steps") and "Blowup" in failed["message"]
    assert manifest["systems"]["Lorenz"]["status"] == "ok"
    assert not (tmp_path / "f.zarr" / "Blowup").exists()
    assert list(load(tmp_path / "f.zarr")) == ["Lorenz"]
    with pytest.raises(KeyError, match=r"Blowup.*integration"):
        load(tmp_path / "f.zarr", system="Blowup")


def test_lyapunov_sampling_needs_the_sidecar(tmp_path):
    config = write_config(tmp_path, CONFIG.replace("unit: period", "unit: lyapunov_time")
                          .replace("[Lorenz, Rossler, Forced]", "[Lorenz]"))
    with pytest.raises(DataError, match=r"lyapunov_max in .*1\.invariants\.json.*dysts-bench invariants Lorenz"):
        generate(config, tmp_path / "l.zarr", progress=False)


def test_lyapunov_sampling_with_a_sidecar(tmp_path, registry, monkeypatch):
    reg = tmp_path / "reg"
    shutil.copytree(registry / "Lorenz", reg / "Lorenz")
    (reg / "Lorenz" / "1.invariants.json").write_text(json.dumps({"lyapunov_max": {"value": 0.9056},
                                                                  "period": {"value": 1.6}}))
    monkeypatch.setenv("DYSTS_BENCH_SYSTEMS", str(reg))
    config = write_config(tmp_path, CONFIG.replace("unit: period", "unit: lyapunov_time")
                          .replace("[Lorenz, Rossler, Forced]", "[Lorenz]"))
    generate(config, tmp_path / "l.zarr", progress=False)
    ds = load(tmp_path / "l.zarr", system="Lorenz", split="test")
    assert ds.attrs["lyapunov_time"] == pytest.approx(1 / 0.9056)
    assert ds["test"].attrs["dt"] == pytest.approx(1 / 0.9056 / 20)
    periodic = CONFIG.replace("[Lorenz, Rossler, Forced]", "[Lorenz]")
    generate(write_config(tmp_path, periodic), tmp_path / "p.zarr", progress=False)
    assert load(tmp_path / "p.zarr", system="Lorenz").attrs["period"] == 1.6  # measured, from the sidecar
    hint = periodic.replace("points_per_unit: 20}", "points_per_unit: 20, period_source: spec}")
    generate(write_config(tmp_path, hint), tmp_path / "h.zarr", progress=False)
    assert load(tmp_path / "h.zarr", system="Lorenz").attrs["period"] == 1.5  # the spec's hint


@pytest.mark.parametrize(("sidecar", "min_points", "status", "message"), [
    ({"lyapunov_max": {"value": 0.01, "chaos_reason": "slow"}, "chaos": "marginal", "chaotic": False,
      "period": {"value": 1.6}}, None, "marginal_chaos", "marginally chaotic"),
    ({"lyapunov_max": {"value": 0.9056}, "lyapunov_time": {"value": 1 / 0.9056}, "chaos": "chaotic",
      "chaotic": True, "period": {"value": 0.2}}, 5, "undersampled", "3.6 points per period"),
])
def test_lyapunov_sampling_leaves_out_marginal_and_undersampled_systems(tmp_path, registry, monkeypatch, sidecar,
                                                                        min_points, status, message):
    reg = tmp_path / "reg"
    shutil.copytree(registry / "Lorenz", reg / "Lorenz")
    shutil.copytree(registry / "Rossler", reg / "Rossler")
    (reg / "Lorenz" / "1.invariants.json").write_text(json.dumps(sidecar))
    (reg / "Rossler" / "1.invariants.json").write_text(json.dumps(
        {"lyapunov_max": {"value": 0.07}, "chaos": "chaotic", "chaotic": True, "period": {"value": 5.9}}))
    monkeypatch.setenv("DYSTS_BENCH_SYSTEMS", str(reg))
    sampling = "{unit: lyapunov_time, points_per_unit: 20" + (f", min_points_per_period: {min_points}}}"
                                                               if min_points else "}")
    config = write_config(tmp_path, CONFIG.replace("{unit: period, points_per_unit: 20}", sampling)
                          .replace("[Lorenz, Rossler, Forced]", "[Lorenz, Rossler]"))
    manifest = generate(config, tmp_path / "l.zarr", progress=False)
    assert manifest["systems"]["Lorenz"]["status"] == status
    assert message in manifest["systems"]["Lorenz"]["message"]
    assert manifest["systems"]["Rossler"]["status"] == "ok"  # 20 * 0.07 * 5.9 = 8.3 points per period


# --- overwrite, resume, SIGKILL ------------------------------------------------------------------------

def test_other_config_refused_unless_overwrite(archive, tmp_path, capsys):
    path = copy_archive(archive[0], tmp_path / "a.zarr")
    other = write_config(tmp_path, CONFIG.replace("seed: 7", "seed: 8"), name="other")
    with pytest.raises(DataError, match=r"another config.*--overwrite"):
        generate(other, path, progress=False)
    assert main(["data", "generate", "--config", str(other), "--out", str(path), "--no-progress"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["data", "generate", "--config", str(other), "--out", str(path), "--overwrite",
                 "--no-progress"]) == 0
    assert store.read_root(path)["manifest"]["config"]["seed"] == 8
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    with pytest.raises(DataError, match="not a dysts-bench archive"):
        generate(other, tmp_path / "notes", overwrite=True, progress=False)
    assert (tmp_path / "notes" / "keep.txt").exists()


def test_resume_completes_the_missing_systems(archive, tmp_path):
    path, manifest = archive
    partial = copy_archive(path, tmp_path / "p.zarr")
    shutil.rmtree(partial / "Rossler")
    root = store.read_root(partial)
    store._write_root(partial, {**root, "manifest": None})
    with pytest.raises(DataError, match="incomplete"):
        load(partial)
    again = generate(write_config(tmp_path), partial, progress=False)
    assert again["content_hash"] == manifest["content_hash"] and not verify(partial)


def test_resume_rebuilds_systems_whose_spec_changed(tmp_path, registry, monkeypatch):
    reg = tmp_path / "reg"
    shutil.copytree(registry, reg)
    monkeypatch.setenv("DYSTS_BENCH_SYSTEMS", str(reg))
    config = write_config(tmp_path, CONFIG.replace("[Lorenz, Rossler, Forced]", "[Lorenz, Rossler]"))
    first = generate(config, tmp_path / "s.zarr", progress=False)
    spec = reg / "Rossler" / "1.yaml"
    spec.write_text(spec.read_text().replace("period: 5.9", "period: 6.0"))
    second = generate(config, tmp_path / "s.zarr", progress=False)
    assert second["systems"]["Rossler"]["timescale"]["value"] == 6.0
    assert second["systems"]["Lorenz"] == first["systems"]["Lorenz"]
    assert not verify(tmp_path / "s.zarr")


def test_sigkill_leaves_systems_complete_or_absent_and_a_rerun_completes(tmp_path, registry):
    names = ["Lorenz", "Rossler", "Forced", "Lorenz2"]
    config = write_config(tmp_path, CONFIG.replace("[Lorenz, Rossler, Forced]", f"[{', '.join(names)}]")
                          .replace("length: 100", "length: 20000"))
    out = tmp_path / "k.zarr"
    command = [sys.executable, "-c", "import sys; from dysts_bench.cli import main; sys.exit(main())", "data",
               "generate", "--config", str(config), "--out", str(out), "--no-progress"]
    env = {**os.environ, "DYSTS_BENCH_SYSTEMS": str(registry)}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if out.is_dir() and store.complete_systems(out):
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert store.read_root(out)["manifest"] is None, "the run finished before it could be killed"
    done = store.complete_systems(out)
    assert 0 < len(done) < len(names)
    for name in done:  # every committed system is whole: it verifies against its own checksums
        entry = store.group_entry(out, name)
        assert not verify(out, {"systems": {name: entry}})
    assert set(p.name for p in out.iterdir()) - {"zarr.json"} == done
    rerun = subprocess.run(command, env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    uninterrupted = generate(config, tmp_path / "u.zarr", progress=False)
    assert store.read_root(out)["manifest"]["content_hash"] == uninterrupted["content_hash"]
    assert not store.staging_dir(out).exists()


# --- verify ----------------------------------------------------------------------------------------------

def test_verify_names_missing_truncated_and_corrupted_arrays(archive, tmp_path, capsys):
    path = copy_archive(archive[0], tmp_path / "v.zarr")
    assert main(["data", "verify", str(path)]) == 0
    shutil.rmtree(path / "Rossler")
    (path / "Lorenz" / "test" / "c.0.0.0").unlink()
    chunk = path / "Lorenz" / "train" / "c.0.0.0"
    chunk.write_bytes(chunk.read_bytes()[:-50])
    chunk = path / "Forced" / "test" / "c.0.0.0"
    data = bytearray(chunk.read_bytes())
    data[-9] ^= 0xFF
    chunk.write_bytes(bytes(data))
    problems = {(p.system, p.array): p.kind for p in verify(path)}
    assert problems[("Rossler", None)] == "missing"
    assert problems[("Lorenz", "test")] == "truncated"
    assert problems[("Lorenz", "train")] == "corrupted"
    assert problems[("Forced", "test")] == "corrupted"
    assert main(["data", "verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert "Rossler: missing" in out and "Lorenz/test: truncated" in out and "Forced/test: corrupted" in out


# --- load, darts, HTTP, download ---------------------------------------------------------------------------

def test_load_gives_lazy_datasets_and_darts_series(archive):
    path, manifest = archive
    arch = load(path)
    assert list(arch) == ["Forced", "Lorenz", "Rossler"] and arch.splits == ["train", "test"]
    ds = load(path, system="Lorenz", split="test")
    assert ds["test"].dims == ("ic", "time", "dim") and list(ds["dim"].values) == ["x", "y", "z"]
    assert ds["test"].chunks is not None  # lazy (dask-backed)
    assert manifest_module.array_sha256(ds["test"].values) == manifest["systems"]["Lorenz"]["arrays"]["test"]["sha256"]
    series = to_darts(ds)
    assert len(series) == 3 and len(series[0]) == 80 and list(series[0].components) == ["x", "y", "z"]
    np.testing.assert_array_equal(series[2].values(), ds["test"].values[2])
    assert len(to_darts(arch["Rossler"], split="train")) == 2
    with pytest.raises(DataError, match="no split 'val'"):
        load(path, system="Lorenz", split="val")


@pytest.fixture
def http_root(tmp_path):
    """A loopback HTTP server over a folder; yields (folder, base URL)."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _tamper(path: Path, system: str, key: str, change) -> None:
    """Change a group attribute in the group and in the root's consolidated copy, as an attacker would."""
    group = path / system / "zarr.json"
    meta = json.loads(group.read_text())
    meta["attributes"][key] = change(meta["attributes"][key])
    group.write_text(json.dumps(meta))
    root = json.loads((path / "zarr.json").read_text())
    attrs = root["consolidated_metadata"]["metadata"][system]["attributes"]
    attrs[key] = change(attrs[key])
    (path / "zarr.json").write_text(json.dumps(root))


@pytest.mark.parametrize(("key", "change"), [
    ("dt", lambda v: v * 100),
    ("period", lambda v: v * 100),
    ("state_names", lambda v: v[::-1]),
    ("spec_hash", lambda v: "0" * 64),
])
def test_changed_metadata_fails_verify_and_load(archive, tmp_path, key, change):
    path = copy_archive(archive[0], tmp_path / "m.zarr")
    _tamper(path, "Lorenz", key, change)
    problems = verify(path)
    assert problems and {(p.system, p.kind) for p in problems} == {("Lorenz", "metadata")}
    assert any(repr(key) in p.detail for p in problems)
    with pytest.raises(ChecksumError, match=f"Lorenz: metadata: attribute '{key}'.*data verify"):
        load(path, system="Lorenz")
    assert load(path, system="Rossler").attrs["system"] == "Rossler"  # the others still load


def test_a_group_the_manifest_does_not_list_fails_verify(archive, tmp_path):
    path = copy_archive(archive[0], tmp_path / "x.zarr")
    shutil.copytree(path / "Lorenz", path / "Intruder")
    assert [(p.system, p.kind) for p in verify(path)] == [("Intruder", "unexpected")]


def test_remote_lazy_reading_over_http(archive, http_root):
    folder, url = http_root
    copy_archive(archive[0], folder / "tiny.zarr")
    remote = load(f"{url}/tiny.zarr", system="Rossler", split="train")
    local = load(archive[0], system="Rossler", split="train")
    np.testing.assert_array_equal(remote["train"].values, local["train"].values)
    assert list(load(f"{url}/tiny.zarr")) == ["Forced", "Lorenz", "Rossler"]


def test_download_is_verified_and_refuses_corruption(archive, http_root, tmp_path):
    folder, url = http_root
    copy_archive(archive[0], folder / "tiny.zarr")
    target = tmp_path / "cache" / "tiny.zarr"
    target.parent.mkdir()
    assert main(["data", "download", f"{url}/tiny.zarr", "--to", str(target), "--no-progress"]) == 0
    assert not verify(target)
    assert json.loads(manifest_module.sidecar_path(target).read_text())["content_hash"] == archive[1]["content_hash"]

    chunk = folder / "tiny.zarr" / "Lorenz" / "train" / "c.0.0.0"
    data = bytearray(chunk.read_bytes())
    data[-9] ^= 0xFF
    chunk.write_bytes(bytes(data))
    bad = tmp_path / "cache" / "bad.zarr"
    with pytest.raises(ChecksumError, match="system Lorenz, array train"):
        download(f"{url}/tiny.zarr", bad, progress=False)
    assert sorted(p.name for p in bad.parent.iterdir()) == ["tiny.zarr", "tiny.zarr.manifest.json"]

    other = json.loads(json.dumps(archive[1]))
    other["systems"]["Rossler"]["arrays"]["train"]["sha256"] = "0" * 64
    with pytest.raises(ChecksumError, match="Rossler/train"):
        download(f"{url}/tiny.zarr", bad, expected=other, progress=False)
    assert not bad.exists()


def test_download_overwrite_replaces_an_archive_and_nothing_else(archive, http_root, tmp_path, capsys):
    folder, url = http_root
    copy_archive(archive[0], folder / "tiny.zarr")
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.tex").write_text("mine")
    notes = manifest_module.sidecar_path(mine)
    notes.write_text("my notes")
    assert main(["data", "download", f"{url}/tiny.zarr", "--to", str(mine), "--overwrite", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"{mine} exists and is not a dysts-bench archive" in err and "choose another --to" in err
    assert (mine / "chapter1.tex").read_text() == "mine" and notes.read_text() == "my notes"

    ours = copy_archive(archive[0], tmp_path / "ours.zarr")
    (ours / "stale").write_text("left by an older archive")
    manifest_module.sidecar_path(ours).write_text("{}")
    assert main(["data", "download", f"{url}/tiny.zarr", "--to", str(ours), "--overwrite", "--no-progress"]) == 0
    assert not (ours / "stale").exists() and not verify(ours)
    assert json.loads(manifest_module.sidecar_path(ours).read_text())["content_hash"] == archive[1]["content_hash"]


def test_download_edges_give_one_line_and_leftovers_are_cleaned(archive, http_root, tmp_path, capsys):
    folder, url = http_root
    copy_archive(archive[0], folder / "tiny.zarr")
    target = tmp_path / "tiny.zarr"
    assert main(["data", "download", f"file://{archive[0]}", "--to", str(target)]) == 2
    assert "not an http(s) URL" in capsys.readouterr().err
    (folder / "junk.zarr").mkdir()
    (folder / "junk.zarr" / "zarr.json").write_text('["not", "an", "object"]')
    assert main(["data", "download", f"{url}/junk.zarr", "--to", str(target), "--no-progress"]) == 2
    assert "not the root metadata of an archive" in capsys.readouterr().err
    killed = tmp_path / f".{target.name}.download-999999999-deadbeef"  # no such process
    killed.mkdir()
    (killed / "zarr.json").write_text("{}")
    assert main(["data", "download", f"{url}/tiny.zarr", "--to", str(target), "--no-progress"]) == 0
    assert not killed.exists() and not verify(target)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# --- released configs: local copy, mirror, regeneration -------------------------------------------------

@pytest.fixture
def released(tmp_path, monkeypatch, archive):
    """A released config 'tiny' with its committed manifest, and an empty data home."""
    configs, manifests = tmp_path / "configs", tmp_path / "manifests"
    configs.mkdir()
    manifests.mkdir()
    write_config(configs)
    (manifests / "tiny.json").write_text(json.dumps(archive[1]))
    monkeypatch.setattr(config_module, "CONFIG_DIR", configs)
    monkeypatch.setattr(manifest_module, "MANIFEST_DIR", manifests)
    monkeypatch.setenv(release.DATA_ENV, str(tmp_path / "home"))
    monkeypatch.delenv(release.MIRROR_ENV, raising=False)
    return manifests / "tiny.json"


def test_released_name_regenerates_bit_identical_then_reuses(released, archive, caplog):
    ds = load("tiny", system="Lorenz", split="test")
    local = release.data_home() / "tiny.zarr"
    assert store.read_root(local)["manifest"]["reference_check"]["status"] == "identical"
    expected = archive[1]["systems"]["Lorenz"]["arrays"]["test"]["sha256"]
    assert manifest_module.array_sha256(ds["test"].values) == expected
    stamp = (local / "zarr.json").stat().st_mtime_ns
    load("tiny")
    assert (local / "zarr.json").stat().st_mtime_ns == stamp  # the verified copy is reused


def test_released_name_on_other_floating_point_is_checked_within_tolerance(released, archive, caplog):
    reference = json.loads(released.read_text())
    reference["systems"]["Lorenz"]["arrays"]["train"]["sha256"] = "f" * 64  # as if made on another platform
    reference["content_hash"] = manifest_module.content_hash(reference["systems"])
    released.write_text(json.dumps(reference))
    load("tiny")
    check = store.read_root(release.data_home() / "tiny.zarr")["manifest"]["reference_check"]
    assert check["status"] == "within_tolerance" and check["differing_systems"] == ["Lorenz"]
    assert "not bit-identical" in caplog.text and "floating point" in caplog.text
    load("tiny")  # accepted again from the recorded check

    reference["systems"]["Rossler"]["arrays"]["train"]["sha256"] = "f" * 64
    reference["systems"]["Rossler"]["arrays"]["train"]["mean"] = [100.0, 100.0, 100.0]
    reference["content_hash"] = manifest_module.content_hash(reference["systems"])
    released.write_text(json.dumps(reference))
    with pytest.raises(ChecksumError, match=r"beyond tolerance.*Rossler"):
        load("tiny")
    assert not (release.data_home() / "tiny.zarr").exists()


def test_released_name_downloads_from_the_mirror(released, archive, http_root, monkeypatch):
    folder, url = http_root
    copy_archive(archive[0], folder / "tiny.zarr")
    monkeypatch.setenv(release.MIRROR_ENV, url)
    monkeypatch.setattr(release, "regenerate", None)  # must not be needed
    ds = load("tiny", system="Forced", split="train")
    assert ds["train"].shape == (2, 100, 2)
    assert not verify(release.data_home() / "tiny.zarr", archive[1])


def test_released_name_never_deletes_a_folder_that_is_not_an_archive(released):
    local = release.data_home() / "tiny.zarr"
    local.mkdir(parents=True)
    (local / "notes.txt").write_text("mine")
    expected = rf"{re.escape(str(local))} exists and is not a dysts-bench archive.*another \$DYSTS_BENCH_DATA"
    with pytest.raises(DataError, match=expected):
        load("tiny")
    assert (local / "notes.txt").read_text() == "mine"


def test_committed_demo_manifest_is_reproduced(tmp_path, monkeypatch):
    """`load("demo")` regenerates the demo archive from the real registry, bit for bit as committed."""
    monkeypatch.delenv("DYSTS_BENCH_SYSTEMS")
    monkeypatch.delenv(release.MIRROR_ENV, raising=False)
    monkeypatch.setenv(release.DATA_ENV, str(tmp_path))
    archive = load("demo")
    check = archive.manifest["reference_check"]
    assert check["status"] == "identical", (
        "the demo systems or their invariants sidecars changed: regenerate the committed manifest with "
        "`dysts-bench data generate --config demo --out /tmp/demo.zarr --overwrite --write-manifest`")
    assert archive["Lorenz"]["test"].shape == (2, 200, 3)
