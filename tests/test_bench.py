"""The benchmark suite's plumbing on tiny sizes: the table, records, reports, child processes, the CLI.

No timing assertions: speed belongs in `dysts-bench bench`, whose figures are ratios measured side by side.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import dysts_bench as db
from dysts_bench.bench import generation, harness, limit, peers, report, scaling
from dysts_bench.bench.isolated import ChildRun, run_child
from dysts_bench.bench.record import CPU_NOTE, ERROR, NOT_AVAILABLE, OK, Figure, NotAvailable, Record, best_time
from dysts_bench.bench.sample import relative_error
from dysts_bench.bench.suite import BENCHMARKS, Benchmark, Context, run_benchmark, select
from dysts_bench.cli import main


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return Context(quick=True, workdir=tmp_path)


def _record(name: str = "demo", **kw) -> Record:
    base = {"title": "A demo", "ours": Figure(0.5, "s", "ours"), "reference": Figure(50.0, "s", "theirs"),
            "ratio": 100.0, "ratio_label": "x faster", "goal": ">= 10x", "passed": True, "notes": ["a note"]}
    return Record(name=name, **{**base, **kw})


def test_the_table_names_every_issue_benchmark():
    assert [b.name for b in select(None)] == list(BENCHMARKS)
    assert {"generation-radau", "generation-dop853", "generation-cold", "limit-c", "compile", "lyapunov",
            "dataset-dysts2021", "scaling", "harness", "memory", "train-esn", "train-plrnn",
            "train-transformer", "generator", "peers-single", "peers-ensemble", "peers-nonsmooth"} == set(BENCHMARKS)
    assert [b.name for b in select(["memory", "limit-c"])] == ["limit-c", "memory"]  # table order
    with pytest.raises(db.DystsBenchError, match=r"unknown benchmark.*choose from"):
        select(["nope"])


def test_training_benchmark_reports_fit_time_and_forecast_speed(ctx):
    record = run_benchmark(BENCHMARKS["train-esn"], ctx)
    assert record.status == "ok", record.notes
    assert record.ours.unit == "s" and record.ours.value > 0 and record.reference.value > 0
    assert record.ratio == pytest.approx(record.ours.value / record.reference.value)
    assert record.details["forecast_points_per_s"] > 0 and any("points/s" in n for n in record.notes)


def test_a_missing_dependency_is_reported_not_raised(ctx):
    def missing(_: Context) -> Record:
        raise NotAvailable("part X is not written yet")

    def unimportable(_: Context) -> Record:
        import dysts_bench_no_such_module  # noqa: F401

    def broken(_: Context) -> Record:
        raise ValueError("boom")

    for fn, status, text in [(missing, NOT_AVAILABLE, "part X"), (unimportable, NOT_AVAILABLE, "no_such_module"),
                             (broken, ERROR, "boom")]:
        record = run_benchmark(Benchmark("x", "X", fn), ctx)
        assert record.status == status and text in record.notes[0]
        assert record.seconds >= 0 and "load_average_before" in record.details
    assert "Traceback" in run_benchmark(Benchmark("x", "X", broken), ctx).details["traceback"]


def test_shared_measurements_run_once_per_context(ctx):
    calls = []
    for _ in range(3):
        assert ctx.shared("key", lambda: calls.append(1) or 42) == 42
    assert calls == [1]


def test_best_time_is_the_minimum():
    assert best_time(lambda: None, 3) >= 0.0


def test_report_table_markdown_and_json(tmp_path):
    records = [_record(), Record(name="later", title="Later", status=NOT_AVAILABLE, notes=["not available: x"]),
               _record("slow", passed=False, ratio=2.0)]
    text = report.table(records)
    assert "demo" in text and "100 x faster" in text and "not available" in text and "MISS" in text
    assert "a note" in text
    info = report.machine()
    assert info["nproc"] >= 1 and info["cpu_model"] and "numba" in info["packages"]
    md = report.markdown(records, info, quick=True, results_file="r.json")
    assert "| A demo | 0.5 s | 50 s |" in md and info["cpu_model"] in md
    path = report.write_json(records, info, tmp_path, quick=True)
    assert path.name.endswith("_quick.json") and path.name[:4].isdigit()
    data = json.loads(path.read_text())
    assert data["mode"] == "quick" and data["machine"]["nproc"] == info["nproc"]
    assert [b["name"] for b in data["benchmarks"]] == ["demo", "later", "slow"]
    assert data["benchmarks"][0]["ours"] == {"value": 0.5, "unit": "s", "what": "ours"}


def test_child_process_reports_result_and_peak_memory():
    run = run_child("from dysts_bench.bench.isolated import emit\nimport numpy as np\n"
                    "x = np.ones(4_000_000)\nemit({'sum': float(x.sum())})")
    assert run.result == {"sum": 4e6} and run.wall > 0
    assert run.peak_rss_bytes > 32e6  # the 32 MB array at least
    with pytest.raises(db.DystsBenchError, match="exit 3"):
        run_child("import sys; sys.exit(3)")


def test_equal_accuracy_picks_the_loosest_tolerance_good_enough():
    errors = dict(zip(generation.LADDER, np.logspace(-9, -14, len(generation.LADDER)), strict=True))
    runs = generation.SystemRuns("X", 1.0, "test", 1e-15, np.zeros(1),
                                 ours={t: generation.Run(1.0, e, 1) for t, e in errors.items()})
    tol, run, ok = runs.matched(2e-11)
    assert ok and run.error <= 2e-11 and errors[generation.LADDER[generation.LADDER.index(tol) - 1]] > 2e-11
    assert runs.matched(1e-20)[2] is False  # below every tolerance: flagged, tightest used
    runs.floor = 1e-9
    assert runs.matched(1e-20)[0] == generation.LADDER[0]  # the references' floor bounds what can be asked


def test_cold_registry_time_is_measured_or_extrapolated():
    systems = {n: {"load": 0.1, "compile": 0.2, "integrate": 0.1} for n in ("A", "B")}
    run = ChildRun(result={"import": 3.0, "systems": systems}, wall=9.0, cpu=5.0, peak_rss_bytes=0)
    assert generation.registry_cold_seconds(run, ["A", "B"]) == pytest.approx((5.0, True))
    seconds, measured = generation.registry_cold_seconds(run, ["A", "B", "C", "D"])
    assert not measured and seconds == pytest.approx(4.2 + 4 * 0.4)


def test_our_runs_and_scipy_agree_on_the_accuracy_window():
    lorenz = db.get_system("Lorenz")
    grid = generation.trajectory_window(lorenz, points=50)
    window, basis, reference, floor = generation._accuracy_reference(lorenz, grid)
    assert window > 0 and basis and len(reference) >= 2 and floor < 1e-11
    ours, nfev = generation._ours(lorenz, grid, 1e-10)()
    theirs, _ = generation._scipy(lorenz, grid, "DOP853", 1e-10)()
    assert ours.shape == theirs.shape == (50, 3) and nfev > 0
    for y in (ours, theirs):
        assert relative_error(y[: len(reference)], reference) < 1e-7


def test_archives_are_compared_only_where_inputs_match():
    def entry(tau, sha, status="ok"):
        return {"status": status, "spec_hash": "h", "timescale": {"value": tau},
                "arrays": {"train": {"sha256": sha}} if status == "ok" else {}}

    a = {"systems": {"A": entry(1.0, "x"), "B": entry(2.0, "y"), "C": entry(3.0, "z")}}
    b = {"systems": {"A": entry(1.0, "x"), "B": entry(2.5, "w"), "C": entry(3.0, "q", status="max_steps")}}
    same, compared, changed = scaling.compare_archives(a, b)
    assert same == ["A"] and compared == ["A", "C"] and changed == ["B"]


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_c_reference_builds_and_computes_what_our_kernel_computes(tmp_path):
    binary = limit._build(tmp_path)
    assert limit._agreement(db.get_system("Lorenz"), binary) < 1e-12


def test_harness_hook_times_a_given_evaluate(tmp_path):
    class Results:
        records = [type("R", (), {"status": "ok"})()] * 10

    def evaluate(forecaster, data, out, **kw):
        assert kw == {"max_ics": 1}
        for _ in range(10):
            assert forecaster.predict(np.ones((5, 3)), 7).shape == (7, 3)
        return Results()

    record = harness.overhead_with(evaluate, data=None, out=tmp_path / "r.json", max_ics=1)
    assert record.status == OK and record.ours.unit == "ms" and record.details["n_forecasts"] == 10
    assert len(harness.ZeroForecaster.spent) == 10


def test_cli_lists_runs_and_writes_json(tmp_path, capsys):
    assert main(["bench", "--list"]) == 0
    assert "generation-dop853" in capsys.readouterr().out
    assert main(["bench", "--only", "nope"]) == 2
    assert "unknown benchmark" in capsys.readouterr().err
    out = tmp_path / "results"
    assert main(["bench", "--quick", "--only", "lyapunov", "--out", str(out), "--no-progress",
                 "--markdown", str(tmp_path / "b.md")]) == 0
    text = capsys.readouterr().out
    assert "lyapunov" in text and "results:" in text
    (path,) = out.glob("*.json")
    assert json.loads(path.read_text())["benchmarks"][0]["name"] == "lyapunov"
    assert "| benchmark |" in (tmp_path / "b.md").read_text()


TINY = peers.Case("peers-tiny", "Lorenz vs a tiny set of peers", ("Lorenz",), t_end=2.0, dt_out=0.01,
                  quick_t_end=2.0)


def test_a_peer_that_is_not_installed_is_skipped_and_the_case_not_judged(ctx, monkeypatch):
    absent = peers.Peer("absent peer", "dysts_bench_no_such_module", peers.PEERS[-1].make)
    scipy = next(p for p in peers.PEERS if p.name == "scipy DOP853")
    monkeypatch.setattr(peers, "PEERS", (absent, scipy))
    record = peers.run_case(ctx, TINY)
    assert record.status == OK and record.passed is None   # never a pass for want of a competitor
    assert "skipped: absent peer: dysts_bench_no_such_module is not installed" in record.notes
    (row,) = record.details["rows"]
    assert row["peer"] == "scipy DOP853" and row["accuracy_matched"] and row["peer_error"] <= row["our_error"]
    assert record.ratio == pytest.approx(row["peer_s"] / row["our_s"]) and "closest peer" in record.ratio_label
    monkeypatch.setattr(peers, "PEERS", (absent,))
    assert peers.run_case(ctx, TINY).status == NOT_AVAILABLE


def test_every_peer_present_judges_the_case(ctx, monkeypatch):
    monkeypatch.setattr(peers, "PEERS", tuple(p for p in peers.PEERS if p.name == "scipy DOP853"))
    record = peers.run_case(ctx, TINY)
    assert record.passed is (record.ratio >= TINY.goal) and not record.details["skipped"]


def test_an_ensemble_is_timed_by_the_wall_clock_and_batch_only_peers_skip_single_runs(ctx, monkeypatch):
    """Ours integrates a batch on every core, so CPU seconds would charge it (and prange peers) per core."""
    twin = peers.Peer("our twin", "numpy", peers._ours, single=False)
    monkeypatch.setattr(peers, "PEERS", (twin,))
    ensemble = peers.Case("peers-tiny-ensemble", "8 starts", ("Lorenz",), t_end=2.0, dt_out=0.01, starts=8,
                          quick_t_end=2.0, quick_starts=8, wall=True)
    record = peers.run_case(ctx, ensemble)
    assert record.notes[0] == peers.WALL_NOTE and [r["peer"] for r in record.details["rows"]] == ["our twin"]
    single = peers.run_case(ctx, TINY)
    assert single.notes[0] == CPU_NOTE and single.details["rows"] == [] and single.status == NOT_AVAILABLE


def test_accuracy_is_the_median_start_and_the_ladder_has_eight_rungs_a_decade():
    """One start's error jumps between neighbouring tolerances: the median of 32 decides, not the worst."""
    reference = np.ones((5, 4, 2))
    errors = np.array([1e-3, 1e-9, 3e-9, 2e-9, 1e-9])  # one wild start
    assert peers._window_error(reference + errors[:, None, None], reference) == pytest.approx(2e-9)
    assert peers._window_error((reference + errors[:, None, None])[0], reference[:1]) == pytest.approx(1e-3)
    ladder = np.array(peers.LADDER)
    assert ladder[0] == 1e-6 and ladder[-1] == 1e-13 and np.all(np.diff(ladder) < 0)
    assert np.allclose(np.log10(ladder[:-1] / ladder[1:]), 1 / 8, atol=0.01)


@pytest.mark.slow
def test_the_installed_peers_integrate_what_ours_integrates(ctx):
    """numbalsoda and diffrax (the `bench` extra) on Lorenz and MultiChua: matched accuracy, no failure."""
    pytest.importorskip("numbalsoda")
    pytest.importorskip("diffrax")
    for case in (TINY, peers.Case("peers-tiny-nonsmooth", "MultiChua", ("MultiChua",), 2.0, 0.01,
                                  quick_t_end=2.0)):
        record = peers.run_case(ctx, case)
        assert not record.details["skipped"], record.details["skipped"]
        assert {r["peer"] for r in record.details["rows"]} == {p.name for p in peers.PEERS if p.single}
        assert all(r["accuracy_matched"] for r in record.details["rows"] if r["system"] == "Lorenz")
