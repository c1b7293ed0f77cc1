"""The harness end to end on the demo dataset: scores, failures isolated, streaming and resume."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dysts_bench.data.generate import generate
from dysts_bench.evaluate.harness import EvaluationError, evaluate
from dysts_bench.evaluate.results import load_results
from dysts_bench.forecast.registry import load_forecaster
from dysts_bench.leaderboard import check_file
from dysts_bench.leaderboard.check import manifest_file_hash

BROKEN = Path(__file__).parent / "broken_forecasters.py"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("data") / "demo.zarr"
    generate("demo", out, progress=False)
    return out


def test_two_baselines_score_every_system_and_pass_the_leaderboard_check(demo, tmp_path):
    for name in ("last-value", "mean"):
        out = tmp_path / f"{name}.json"
        results = evaluate(load_forecaster(name), demo, out, progress=False)
        assert results.summary.n_systems == 5 and results.summary.failed_systems == 0
        assert all(r.status == "ok" for r in results.records)
        assert {"vpt", "vpt_smape30", "d_stsp", "d_h", "smape", "mse", "dtw"} <= set(results.records[0].metrics)
        _, problems = check_file(out)
        assert not problems
        assert load_results(out).forecaster.name == results.forecaster.name
        assert not out.with_name(out.name + ".partial.jsonl").exists()


def test_perturbed_truth_beats_the_naive_baseline(demo, tmp_path):
    oracle = evaluate(load_forecaster("perturbed-truth"), demo, tmp_path / "o.json", progress=False)
    naive = evaluate(load_forecaster("last-value"), demo, tmp_path / "n.json", progress=False)
    assert oracle.summary.median["vpt"] > 5 * naive.summary.median["vpt"]
    floors = oracle.systems["Lorenz"].floors
    assert floors["d_stsp"] is not None and floors["d_h"] is not None


def test_long_free_runs_give_the_long_term_statistics(demo, tmp_path):
    """D_stsp and D_H come from the long runs against the long truths; floors come from the archive."""
    import xarray as xr

    from dysts_bench.evaluate.metrics import d_stsp

    oracle = evaluate(load_forecaster("perturbed-truth"), demo, tmp_path / "o.json", systems=["Lorenz"],
                      progress=False)
    naive = evaluate(load_forecaster("last-value"), demo, tmp_path / "n.json", systems=["Lorenz"],
                     progress=False)
    assert oracle.dataset.long_term == {"n_ic": 2, "length": 2000, "discard": 400}
    for results in (oracle, naive):
        long = [r for r in results.records if r.long_status is not None]
        assert [r.ic for r in long] == [0, 1] and {r.long_status for r in long} == {"ok"}
        assert all(r.long_seconds >= 0 and r.metrics["d_stsp"] is not None for r in long)
        assert all(r.metrics["d_stsp_window"] is not None for r in results.records)
    assert oracle.summary.median["d_stsp"] < naive.summary.median["d_stsp"]
    # The floors are the archive's own: the same for every forecaster, recomputed from the long truths.
    truth = xr.open_zarr(demo, group="Lorenz")["test_long"].values[:, 150 + 400:]
    floor = float(d_stsp(truth[:1], truth[1:])[0])
    assert oracle.systems["Lorenz"].floors == naive.systems["Lorenz"].floors
    assert oracle.systems["Lorenz"].floors["d_stsp"] == pytest.approx(floor)


def test_check_with_the_archive_recomputes_the_floors(demo, tmp_path):
    out = tmp_path / "l.json"
    evaluate(load_forecaster("last-value"), demo, out, systems=["Lorenz", "Thomas"], progress=False)
    assert check_file(out, data=demo)[1] == []
    data = json.loads(out.read_text())
    data["systems"]["Lorenz"]["floors"]["d_stsp"] = 99.0
    out.write_text(json.dumps(data))
    problems = check_file(out, data=demo)[1]
    assert len(problems) == 1 and "systems.Lorenz.floors.d_stsp = 99.0, but the archive's truths give" in problems[0]


def test_changed_array_values_are_never_scored(demo, tmp_path):
    import shutil

    import zarr

    from dysts_bench.data import ChecksumError

    path = tmp_path / "v.zarr"
    shutil.copytree(demo, path)
    test = zarr.open_array(path / "Lorenz" / "test", mode="r+")
    test[0, 0, 0] = test[0, 0, 0] + 1.0
    with pytest.raises(ChecksumError, match="Lorenz/test differs from its checksum"):
        evaluate(load_forecaster("last-value"), path, tmp_path / "v.json", systems=["Lorenz"], progress=False)


def test_an_archive_changed_with_its_manifest_is_marked_and_not_accepted(demo, tmp_path, caplog):
    """Lyapunov time x 100 everywhere it is written: the metadata agree, but not with the released manifest."""
    import shutil

    path = tmp_path / "m.zarr"
    shutil.copytree(demo, path)

    def scale(attrs: dict) -> None:
        attrs["lyapunov_max"] *= 100
        attrs["manifest_entry"]["timescale"]["lyapunov_max"] *= 100

    group = json.loads((path / "Lorenz" / "zarr.json").read_text())
    scale(group["attributes"])
    (path / "Lorenz" / "zarr.json").write_text(json.dumps(group))
    root = json.loads((path / "zarr.json").read_text())
    scale(root["consolidated_metadata"]["metadata"]["Lorenz"]["attributes"])
    root["attributes"]["manifest"]["systems"]["Lorenz"]["timescale"]["lyapunov_max"] *= 100
    (path / "zarr.json").write_text(json.dumps(root))
    out = tmp_path / "m.json"
    results = evaluate(load_forecaster("last-value"), path, out, systems=["Lorenz"], progress=False)
    assert "is NOT the released 'demo' dataset (differs in: Lorenz)" in caplog.text
    _, problems = check_file(out)
    assert any("is not the hash of a committed manifest" in p for p in problems)
    released = Path(__file__).parents[1] / "data" / "manifests" / "demo.json"
    assert results.dataset.manifest_hash != manifest_file_hash(released)


def test_a_failed_long_run_keeps_the_short_scores(demo, tmp_path):
    results = evaluate(load_forecaster(f"{BROKEN}:FailsOnLongRuns"), demo, tmp_path / "f.json",
                       systems=["Lorenz"], progress=False)
    assert {r.status for r in results.records} == {"ok"}
    assert [r.long_status for r in results.records] == ["error", "error"]
    assert "MemoryError: too long" in results.records[0].long_message
    assert results.summary.median["vpt"] is not None and results.summary.median["d_stsp"] is None
    assert results.records[0].metrics["d_stsp"] is None


def test_a_long_run_over_its_time_limit_is_stopped_and_the_short_scores_stand(demo, tmp_path, monkeypatch):
    from dysts_bench.evaluate import worker

    assert worker.long_run_limit(10, worker.Job("", "", "", "", 150, 50, long_length=2000)) == 400
    monkeypatch.setattr(worker, "long_run_limit", lambda timeout, job: 2.0)  # not 400 s in a test
    # A generous limit for the short forecasts (a loaded machine compiles the metrics slowly), 2 s for the long.
    results = evaluate(load_forecaster(f"{BROKEN}:HangsOnLongRuns"), demo, tmp_path / "h.json",
                       systems=["Lorenz"], timeout=60, progress=False)
    assert [r.status for r in results.records] == ["ok", "ok"]
    assert [r.long_status for r in results.records] == ["timeout", "timeout"]
    assert "a long free run did not finish within 2 s" in results.records[0].long_message
    assert results.records[0].metrics["vpt"] is not None


def test_a_darts_model_is_scored(demo, tmp_path):
    forecaster = load_forecaster("darts", model="NLinear", input_chunk_length=16, output_chunk_length=8,
                                 n_epochs=1)
    results = evaluate(forecaster, demo, tmp_path / "d.json", systems=["Lorenz", "Rossler"], progress=False)
    assert results.summary.failed_systems == 0
    assert results.records[0].metrics["vpt"] is not None


@pytest.mark.parametrize(("cls", "status", "message"), [
    ("Raises", "error", "RuntimeError: boom"),
    ("ReturnsNaN", "invalid", "non-finite"),
    ("WrongShape", "invalid", "shape"),
    ("FitFails", "error", "fit failed: ValueError: cannot fit"),
])
def test_broken_forecasters_are_recorded(demo, tmp_path, cls, status, message):
    results = evaluate(load_forecaster(f"{BROKEN}:{cls}"), demo, tmp_path / "b.json", systems=["Lorenz"],
                       progress=False)
    assert {r.status for r in results.records} == {status}
    assert message in results.records[0].message
    assert results.summary.failed_systems == 1


def test_a_forecaster_that_hangs_is_stopped_and_the_good_ones_still_score(demo, tmp_path):
    results = evaluate(load_forecaster(f"{BROKEN}:SleepsForever"), demo, tmp_path / "s.json",
                       systems=["Lorenz"], timeout=3, progress=False)
    assert [r.status for r in results.records] == ["timeout", "timeout"]
    assert "did not finish within 3 s" in results.records[0].message
    good = evaluate(load_forecaster("last-value"), demo, tmp_path / "g.json", systems=["Lorenz", "Thomas"],
                    timeout=30, progress=False)
    assert all(r.status == "ok" for r in good.records)


def test_zero_shot_fits_once_and_scores_held_out_systems(demo, tmp_path):
    results = evaluate(load_forecaster("mean"), demo, tmp_path / "z.json", mode="zero-shot",
                       train_systems=["Lorenz", "Rossler"], progress=False)
    assert set(results.systems) == {"Thomas", "Aizawa", "Halvorsen"}
    assert results.train_systems == ["Lorenz", "Rossler"]
    assert results.fit_seconds is not None and results.fit_seconds >= 0   # the one fit, timed
    assert all(r.fit_seconds is None for r in results.records)
    with pytest.raises(EvaluationError, match="train-systems"):
        evaluate(load_forecaster("mean"), demo, tmp_path / "z2.json", mode="zero-shot", progress=False)


def test_a_killed_run_resumes_and_gives_the_same_results(demo, tmp_path):
    spec = f"{BROKEN}:SlowLastValue"
    full = evaluate(load_forecaster(spec), demo, tmp_path / "full.json", progress=False)
    out = tmp_path / "resumed.json"
    partial = out.with_name(out.name + ".partial.jsonl")
    command = [sys.executable, "-m", "dysts_bench", "evaluate", spec, "--data", str(demo), "--out", str(out),
               "--quiet"]
    proc = subprocess.Popen(command)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not partial.exists() or len(partial.read_text().splitlines()) < 3):
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = len(partial.read_text().splitlines()) - 1
    assert 2 <= finished < 5 and not out.exists()
    assert subprocess.run(command, timeout=300).returncode == 0
    assert not partial.exists()
    resumed = load_results(out)
    assert [r.metrics for r in resumed.records] == [r.metrics for r in full.records]
    assert [(r.system, r.ic, r.status) for r in resumed.records] == [(r.system, r.ic, r.status) for r in full.records]


def test_resume_drops_a_torn_line_and_scores_that_system_again(demo, tmp_path, monkeypatch):
    from dysts_bench.evaluate import harness

    out = tmp_path / "r.json"
    monkeypatch.setattr(harness, "_assemble", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        evaluate(load_forecaster("last-value"), demo, out, systems=["Lorenz", "Thomas"], progress=False)
    monkeypatch.undo()
    partial = out.with_name(out.name + ".partial.jsonl")
    header, first, second = partial.read_text().splitlines()
    partial.write_text(f"{header}\n{first}\n{second[:40]}")
    scored = []
    real = harness.score_one
    monkeypatch.setattr(harness, "score_one", lambda f, job, t: scored.append(job.system) or real(f, job, t))
    results = evaluate(load_forecaster("last-value"), demo, out, systems=["Lorenz", "Thomas"], progress=False)
    assert scored == [json.loads(second)["system"]]
    assert set(results.systems) == {"Lorenz", "Thomas"}
    assert not partial.exists()


def test_a_re_make_with_overwrite_resumes_its_own_interrupted_run_and_discards_another(demo, tmp_path, monkeypatch):
    from dysts_bench.evaluate import harness

    out, systems = tmp_path / "r.json", ["Lorenz", "Thomas"]
    evaluate(load_forecaster("last-value"), demo, out, systems=["Lorenz"], progress=False)   # the file to re-make

    def interrupted(name):
        with monkeypatch.context() as m, pytest.raises(KeyboardInterrupt):
            m.setattr(harness, "_assemble", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
            evaluate(load_forecaster(name), demo, out, systems=systems, overwrite=True, progress=False)

    scored = []
    real = harness.score_one
    spy = lambda f, job, t: scored.append(job.system) or real(f, job, t)  # noqa: E731
    interrupted("last-value")
    with monkeypatch.context() as m:
        m.setattr(harness, "score_one", spy)
        evaluate(load_forecaster("last-value"), demo, out, systems=systems, overwrite=True, progress=False)
    assert scored == []          # both systems came from the interrupted re-make
    interrupted("mean")          # partial results of another forecaster are discarded, not mixed in
    with monkeypatch.context() as m:
        m.setattr(harness, "score_one", spy)
        results = evaluate(load_forecaster("last-value"), demo, out, systems=systems, overwrite=True, progress=False)
    assert sorted(scored) == systems and results.forecaster.name == "last-value"


def test_refuses_to_overwrite_or_mix_runs(demo, tmp_path):
    out = tmp_path / "x.json"
    evaluate(load_forecaster("last-value"), demo, out, systems=["Lorenz"], progress=False)
    with pytest.raises(EvaluationError, match="--overwrite"):
        evaluate(load_forecaster("last-value"), demo, out, systems=["Lorenz"], progress=False)
    with pytest.raises(EvaluationError, match="holds no system"):
        evaluate(load_forecaster("last-value"), demo, tmp_path / "y.json", systems=["Nope"], progress=False)


def test_cli_prints_a_summary_table(demo, tmp_path):
    out = tmp_path / "cli.json"
    result = subprocess.run([sys.executable, "-m", "dysts_bench", "evaluate", "last-value", "--data", str(demo),
                             "--out", str(out), "--systems", "Lorenz,Thomas", "--quiet"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "eps=0.5" in result.stdout and "median over systems" in result.stdout
    assert np.isfinite(json.loads(out.read_text())["summary"]["median"]["vpt"])


@pytest.mark.slow
def test_dask_workers_give_the_same_records_as_a_serial_run(demo, tmp_path):
    serial = evaluate(load_forecaster("last-value"), demo, tmp_path / "s.json", progress=False)
    parallel = evaluate(load_forecaster("last-value"), demo, tmp_path / "p.json", workers=2, progress=False)
    timings = {"fit_seconds", "predict_seconds", "long_seconds"}
    assert ([r.model_dump(exclude=timings) for r in parallel.records]
            == [r.model_dump(exclude=timings) for r in serial.records])


def test_prints_cannot_forge_events_and_stderr_floods_do_not_block(demo, tmp_path):
    honest = evaluate(load_forecaster("last-value"), demo, tmp_path / "h.json", systems=["Lorenz"], progress=False)
    for i, cls in enumerate(("PrintsFakeEvents", "FloodsStderr")):
        results = evaluate(load_forecaster(f"{BROKEN}:{cls}"), demo, tmp_path / f"p{i}.json", systems=["Lorenz"],
                           timeout=30, progress=False)
        assert [r.status for r in results.records] == ["ok"] * len(honest.records)
        assert [r.metrics["vpt"] for r in results.records] == [r.metrics["vpt"] for r in honest.records]


def test_a_background_child_of_the_forecaster_is_killed(demo, tmp_path):
    pidfile = tmp_path / "pid"
    start = time.monotonic()
    results = evaluate(load_forecaster(f"{BROKEN}:LeavesAChild", pidfile=str(pidfile)), demo, tmp_path / "c.json",
                       systems=["Lorenz"], timeout=30, progress=False)
    assert time.monotonic() - start < 30
    assert {r.status for r in results.records} == {"ok"}
    time.sleep(0.2)
    stat = Path(f"/proc/{pidfile.read_text()}/stat")
    # Killed; a zombie remains only where this process is the subreaper that has not reaped it yet.
    assert not stat.exists() or stat.read_text().split(")")[-1].split()[0] == "Z"


def test_an_unpicklable_forecaster_is_recorded_not_a_traceback(demo, tmp_path):
    results = evaluate(load_forecaster(f"{BROKEN}:Unpicklable"), demo, tmp_path / "u.json", systems=["Lorenz"],
                       timeout=30, progress=False)
    assert {r.status for r in results.records} == {"error"}
    assert "run without --timeout" in results.records[0].message


@pytest.mark.parametrize(("cls", "message"), [
    ("RaisesSystemExit", "SystemExit"),
    ("RaisesKeyboardInterrupt", "KeyboardInterrupt"),
    ("RaisesBaseException", "CustomBaseException: odd"),
])
def test_base_exceptions_of_a_forecaster_are_recorded(demo, tmp_path, cls, message):
    results = evaluate(load_forecaster(f"{BROKEN}:{cls}"), demo, tmp_path / "b.json", systems=["Lorenz"],
                       progress=False)
    assert {r.status for r in results.records} == {"error"}
    assert message in results.records[0].message


def test_a_second_run_on_the_same_out_fails_at_once(demo, tmp_path):
    import fcntl


    out = tmp_path / "l.json"
    with open(out.with_name(out.name + ".lock"), "w") as fh:
        fh.write("4242")
        fh.flush()
        # flock locks are per open file: a second open in this process conflicts like another process would.
        fcntl.flock(fh, fcntl.LOCK_EX)
        with pytest.raises(EvaluationError, match=r"another evaluation \(pid 4242\) is writing"):
            evaluate(load_forecaster("last-value"), demo, out, systems=["Lorenz"], progress=False)
    assert not out.exists()
    evaluate(load_forecaster("last-value"), demo, out, systems=["Lorenz"], progress=False)
    assert out.exists()


@pytest.mark.parametrize("option", [["--timeout", "-5"], ["--max-ics", "0"]])
def test_cli_refuses_non_positive_numbers(tmp_path, option):
    result = subprocess.run([sys.executable, "-m", "dysts_bench", "evaluate", "last-value", "--data", "demo",
                             "--out", str(tmp_path / "o.json"), *option], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "must be positive" in result.stderr


def test_lines_written_at_once_are_all_relayed_before_the_worker_goes_quiet():
    """A worker that writes its last records in one go and then hangs: every line is seen at once, none
    waits for a next write (a buffered readline reads ahead where `select` cannot see)."""
    import os
    import selectors
    import time

    from dysts_bench.evaluate.worker import _read_line

    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b'{"event": "data"}\n{"event": "fitted"}\n{"event": "rec')
        selector = selectors.DefaultSelector()
        selector.register(read_end, selectors.EVENT_READ)
        buffer = bytearray()
        soon = time.monotonic() + 5.0
        assert _read_line(read_end, selector, buffer, soon) == b'{"event": "data"}\n'
        start = time.monotonic()
        assert _read_line(read_end, selector, buffer, soon) == b'{"event": "fitted"}\n'
        assert time.monotonic() - start < 1.0  # from the buffer, not after the 5 s of silence
        assert _read_line(read_end, selector, buffer, time.monotonic() + 0.2) is None  # a line not yet whole
        os.write(write_end, b'ord"}\n')
        assert _read_line(read_end, selector, buffer, soon) == b'{"event": "record"}\n'
        os.close(write_end)
        write_end = None
        assert _read_line(read_end, selector, buffer, soon) == b""  # the end of the pipe
    finally:
        os.close(read_end)
        if write_end is not None:
            os.close(write_end)
