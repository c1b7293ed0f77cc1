"""The generator of new systems: the chaos filter's verdicts, and seeded, resumable parameter perturbations
written as registry entries that pass the conformance check."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import dysts_bench as db
from dysts_bench.checks.systems import check_system
from dysts_bench.cli import main
from dysts_bench.errors import DystsBenchError
from dysts_bench.generator.chaos_filter import chaos_filter, line_share, zero_one_k
from dysts_bench.generator.systems import LOG_FILE, candidate_name, generate_systems


def test_the_chaos_filter_keeps_chaos_and_says_why_it_rejects():
    lorenz = db.get_system("Lorenz")
    passed = chaos_filter(lorenz, lorenz.period, seed=0)
    assert passed.passed and passed.measured["lyapunov_max"] == pytest.approx(0.9, rel=0.1)
    assert len(passed.state) == 3
    assert chaos_filter(lorenz.with_params(rho=10.0), lorenz.period, seed=0).reason == "fixed_point"
    periodic = chaos_filter(lorenz.with_params(rho=160.0), lorenz.period, seed=0)
    assert periodic.reason == "regular" and "0–1 test" in periodic.message


def test_the_chaos_filter_rejects_a_candidate_that_crawls(monkeypatch):
    """A stiff candidate is rejected once it spends the step budget, instead of crawling to millions of steps."""
    from dysts_bench.generator import chaos_filter as module

    monkeypatch.setattr(module, "MAX_STEPS_PER_PERIOD", 5)
    lorenz = db.get_system("Lorenz")
    verdict = chaos_filter(lorenz, lorenz.period, seed=0)
    assert verdict.reason == "integration" and "5 steps per period (stiff)" in verdict.message


def test_the_zero_one_test_and_the_line_share_separate_regular_from_chaotic():
    rng = np.random.default_rng(0)
    t = np.arange(4000) * 0.7
    assert zero_one_k(np.sin(t), rng) < 0.2
    lorenz = db.integrate(db.get_system("Lorenz"), t_end=400.0, dt_out=0.2, transient=50.0).y[:, 0]
    assert zero_one_k(lorenz, rng) > 0.8
    assert line_share(np.sin(0.05 * np.arange(8000))) > 0.98 > line_share(lorenz)


def test_generated_systems_are_registry_entries_deterministic_and_resumable(tmp_path):
    first = generate_systems(3, 7, tmp_path / "a", invariants=False, progress=False)
    assert len(first.accepted) == 3 and first.draws >= 3
    for name in first.accepted:
        path = tmp_path / "a" / name / "1.yaml"
        assert check_system(path, long_run=False) == []
        spec = db.System.from_file(path).spec
        assert spec.provenance["kind"] in ("perturbation", "skew product") and spec.provenance["seed"] == 7
        assert "generated" in spec.tags
    lock = json.loads((tmp_path / "a" / "registry.lock").read_text())
    assert sorted(lock) == sorted(f"{n}/1" for n in first.accepted)
    generate_systems(1, 7, tmp_path / "b", invariants=False, progress=False)     # cut short, then resumed
    resumed = generate_systems(3, 7, tmp_path / "b", invariants=False, progress=False)
    assert resumed.accepted == first.accepted
    for name in first.accepted:
        assert (tmp_path / "a" / name / "1.yaml").read_bytes() == (tmp_path / "b" / name / "1.yaml").read_bytes()
    assert (tmp_path / "a" / LOG_FILE).read_text() == (tmp_path / "b" / LOG_FILE).read_text()
    assert sum(first.rejected.values()) == first.draws - 3
    with pytest.raises(DystsBenchError, match="seed 7"):
        generate_systems(3, 8, tmp_path / "a", invariants=False, progress=False)


def test_names_come_from_the_parents_and_the_parameters():
    name = candidate_name("LorenzP", ["Lorenz@1", [["rho", 28.5]]])
    assert name.startswith("LorenzP") and len(name) == 15
    assert name == candidate_name("LorenzP", ["Lorenz@1", [["rho", 28.5]]])
    assert name != candidate_name("LorenzP", ["Lorenz@1", [["rho", 28.6]]])


def test_the_command_line(tmp_path, capsys):
    assert main(["systems", "generate", "--n", "1", "--seed", "3", "--out", str(tmp_path / "g"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "1 systems accepted" in out and "rejected:" in out
    (spec,) = (tmp_path / "g").glob("*/1.yaml")
    system = db.System.from_file(spec)
    assert system.invariants.spec_hash == system.spec_hash and system.invariants.lyapunov_max.value > 0
    assert check_system(spec, long_run=False) == []


def test_a_skew_product_drives_the_response_and_leaves_the_driver_alone():
    from dysts_bench.generator.skew import rename, skew_spec
    from dysts_bench.specs.schema import SystemSpec

    assert rename("sin(x) * a + pi", {"x": "x_d", "a": "a_d", "sin": "nope"}) == "sin(x_d) * a_d + pi"
    lorenz, rossler = db.get_system("Lorenz"), db.get_system("Rossler")
    spec, coupling = skew_spec(lorenz, rossler, (lorenz.period, rossler.period), np.random.default_rng(0), 0.5)
    assert [f"k_{i}_{j}" for i, j, _ in coupling] == [k for k in spec["parameters"] if k.startswith("k_")]
    assert spec["state"] == ["x_d", "y_d", "z_d", "x_r", "y_r", "z_r"]
    assert any(k.startswith("k_") for k in spec["parameters"])
    ic = [*lorenz.initial_condition, *rossler.initial_condition]
    system = db.System(SystemSpec.model_validate({**spec, "name": "SkewTest", "initial_condition": ic}))
    both = db.integrate(system, t_end=2.0, dt_out=0.1).y
    alone = db.integrate(lorenz, t_end=2.0, dt_out=0.1).y
    np.testing.assert_allclose(both[:, :3], alone, rtol=1e-6, atol=1e-6)
    free = db.integrate(rossler, t_end=2.0, dt_out=0.1).y
    assert np.abs(both[-1, 3:] - free[-1]).max() > 1e-3  # the response is driven


def test_the_filter_integrates_a_skew_product_through_its_parents_with_the_bits_of_its_spec():
    """`SkewProduct` calls the parents' compiled right-hand sides (no module compiled per candidate) and gives
    the bits its written-out spec compiles to."""
    from dysts_bench.compile.modules import cache_dir
    from dysts_bench.generator.systems import draw, parent_pool

    pool = list(parent_pool())
    candidates = [c for c in (draw(pool, 3, i, 0.1, 0.5) for i in range(12)) if c.provenance["kind"] == "skew product"]
    assert len(candidates) >= 2
    for candidate in candidates[:2]:
        before = set(cache_dir().glob("*.py"))
        fast = db.integrate(candidate.system, t_end=5 * candidate.period, dt_out=candidate.period / 25)
        assert set(cache_dir().glob("*.py")) == before
        plain = db.integrate(db.System(candidate.system.spec), t_end=5 * candidate.period,
                             dt_out=candidate.period / 25)
        assert fast.status == plain.status
        np.testing.assert_array_equal(fast.y, plain.y)


def test_a_dask_cluster_draws_the_same_systems(tmp_path):
    serial = generate_systems(2, 11, tmp_path / "serial", invariants=False, progress=False)
    parallel = generate_systems(2, 11, tmp_path / "dask", invariants=False, workers=2, progress=False)
    assert parallel.accepted == serial.accepted
    for name in [*(f"{n}/1.yaml" for n in serial.accepted), LOG_FILE]:
        assert (tmp_path / "serial" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes()


def test_a_corpus_for_zero_shot_evaluation_derives_from_no_evaluated_system(tmp_path, capsys):
    """`--exclude-parents @core`: no accepted system has a core system among its parents (by provenance),
    `leaks` finds those that do, and a resume must exclude the same systems."""
    from dysts_bench.data.subsets import load_subset
    from dysts_bench.generator.systems import leaks

    core = load_subset("core")
    assert main(["systems", "generate", "--n", "2", "--seed", "5", "--out", str(tmp_path / "z"), "--no-invariants",
                 "--exclude-parents", "@core", "--quiet"]) == 0
    assert f"derived from the {len(core)} excluded systems: 0" in capsys.readouterr().out
    assert leaks(tmp_path / "z", core) == {}
    specs = [db.System.from_file(p).spec for p in (tmp_path / "z").glob("*/1.yaml")]
    parents = {p.split("@")[0] for s in specs for p in s.provenance["parents"]}
    assert len(specs) == 2 and parents and not parents & set(core)
    assert leaks(tmp_path / "z", sorted(parents)) == {s.name: sorted({p.split("@")[0] for p in s.provenance["parents"]})
                                                      for s in specs}
    with pytest.raises(DystsBenchError, match="other excluded parents"):
        generate_systems(3, 5, tmp_path / "z", invariants=False, progress=False)
    with pytest.raises(DystsBenchError, match="not in the registry: Nope"):
        generate_systems(1, 5, tmp_path / "y", invariants=False, progress=False, exclude_parents=["Nope"])


CORPUS = """\
name: corpus
seed: 3
systems: generated
generated: {{n: 2, seed: 5, exclude_parents: [{excluded}]}}
sampling: {{unit: period, points_per_unit: 20, period_source: spec}}
transient: 5
attractor_length: 10
splits:
  train: {{n_ic: 2, length: 200}}
"""


def test_a_config_of_generated_systems_makes_them_beside_its_archive(tmp_path, capsys):
    """`systems: generated` names a recipe, not systems: `data generate` writes the systems into
    `<out>.systems/` (a registry folder), then the archive of exactly those; a second run changes nothing."""
    from dysts_bench.data import load
    from dysts_bench.data.generate import generated_folder
    from dysts_bench.data.subsets import load_subset
    from dysts_bench.generator.systems import leaks

    config = tmp_path / "corpus.yaml"
    config.write_text(CORPUS.format(excluded='"@core"'))
    out = tmp_path / "corpus.zarr"
    assert main(["data", "generate", "--config", str(config), "--out", str(out), "--no-progress"]) == 0
    first = capsys.readouterr().out
    folder = generated_folder(out)
    names = sorted(p.parent.name for p in folder.glob("*/1.yaml"))
    assert len(names) == 2 and (folder / "registry.lock").is_file() and leaks(folder, load_subset("core")) == {}
    archive = load(out)
    assert sorted(archive) == names and archive[names[0]]["train"].shape[:2] == (2, 200)
    assert main(["data", "generate", "--config", str(config), "--out", str(out), "--no-progress"]) == 0
    assert capsys.readouterr().out.split("(content")[1] == first.split("(content")[1]
    assert sorted(p.parent.name for p in folder.glob("*/1.yaml")) == names


@pytest.mark.parametrize(("text", "message"), [
    (CORPUS.replace("systems: generated\n", "systems: [Lorenz]\n").format(excluded="Lorenz"),
     "with `systems: generated`, and only then"),
    (CORPUS.replace("generated: {{n: 2, seed: 5, exclude_parents: [{excluded}]}}\n", "").format(),
     "with `systems: generated`, and only then"),
    (CORPUS.format(excluded="Lorenzz"), "field 'generated.exclude_parents[0]': unknown system 'Lorenzz'"),
])
def test_a_generated_config_names_its_recipe_and_real_parents(tmp_path, text, message):
    from dysts_bench.data.config import load_config
    from dysts_bench.data.errors import DatasetConfigError

    path = tmp_path / "corpus.yaml"
    path.write_text(text)
    with pytest.raises(DatasetConfigError, match=re.escape(message)):
        load_config(path)


def test_a_generated_config_is_not_cut_by_listing_systems(tmp_path):
    from dysts_bench.data.config import load_config
    from dysts_bench.data.errors import DatasetConfigError

    path = tmp_path / "corpus.yaml"
    path.write_text(CORPUS.format(excluded="Lorenz"))
    with pytest.raises(DatasetConfigError, match=re.escape("choose fewer by its `generated.n`")):
        load_config(path).subset(systems=["Lorenz"])


SCORED = """\
name: scored
seed: 4
systems: [Lorenz, VallisElNino]
sampling: {unit: period, points_per_unit: 20, period_source: spec}
transient: 5
attractor_length: 10
splits:
  train: {n_ic: 2, length: 200}
  test: {n_ic: 2, length: 120, context: 100, horizon: 20}
"""


def test_a_zero_shot_model_fits_on_a_corpus_and_never_on_what_it_is_scored_on(tmp_path):
    """`evaluate --mode zero-shot --train-data CORPUS`: fitted on the corpus's systems, refused where one derives
    from a scored system; the results name the corpus and its parents, which `leaderboard check` holds against the
    scored systems."""
    from dysts_bench.data.generate import generate
    from dysts_bench.evaluate.harness import EvaluationError, evaluate
    from dysts_bench.evaluate.results import save_results
    from dysts_bench.forecast.registry import load_forecaster
    from dysts_bench.leaderboard import check_file

    (tmp_path / "corpus.yaml").write_text(CORPUS.format(excluded='"@core"'))
    (tmp_path / "scored.yaml").write_text(SCORED)
    corpus = generate(tmp_path / "corpus.yaml", tmp_path / "corpus.zarr", progress=False)
    generate(tmp_path / "scored.yaml", tmp_path / "scored.zarr", progress=False)
    parents = sorted({p for e in corpus["systems"].values() for p in e["parents"]})
    assert parents == ["Lorenz96", "QiChen", "VallisElNino"]   # seed 5's draws: one derives from VallisElNino
    with pytest.raises(EvaluationError, match=r"derive from systems scored here \(\w+ from VallisElNino\)"):
        evaluate(load_forecaster("mean"), tmp_path / "scored.zarr", tmp_path / "leak.json", mode="zero-shot",
                 train_data=tmp_path / "corpus.zarr", progress=False)
    out = tmp_path / "ok.json"
    results = evaluate(load_forecaster("last-value"), tmp_path / "scored.zarr", out, mode="zero-shot",
                       systems=["Lorenz"], train_data=tmp_path / "corpus.zarr", progress=False)
    assert set(results.systems) == {"Lorenz"} and results.train_systems == sorted(corpus["systems"])
    assert results.train_data.config == "corpus" and results.train_data.parents == parents
    assert results.train_data.systems == 2 and results.environment.cpu  # the processor, for re-makes
    from dysts_bench.leaderboard.build import build_site

    (tmp_path / "board").mkdir()
    out.rename(tmp_path / "board" / "ok.json")
    index = build_site(tmp_path / "board", tmp_path / "site", workers=1, progress=False)
    page = next(p for p in index.parent.rglob("*.html") if "trained on the 2 systems" in p.read_text())
    assert "<code>corpus</code> corpus" in page.read_text() and "none of them scored here" in page.read_text()
    forged = results.model_copy(update={"train_data": results.train_data.model_copy(update={"parents": ["Lorenz"]})})
    save_results(forged, tmp_path / "forged.json")
    assert any("train_data.parents" in p for p in check_file(tmp_path / "forged.json")[1])
    with pytest.raises(EvaluationError, match="--train-data is for --mode zero-shot"):
        evaluate(load_forecaster("mean"), tmp_path / "scored.zarr", tmp_path / "p.json",
                 train_data=tmp_path / "corpus.zarr", progress=False)


def test_a_folder_of_another_generator_version_is_not_resumed(tmp_path):
    """Another version's chaos filter may decide otherwise: its folder is not extended with this one's systems."""
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / LOG_FILE).write_text(json.dumps({"seed": 7, "draw": 0, "accepted": False}) + "\n")
    with pytest.raises(DystsBenchError, match="generator version 1, whose chaos filter differs"):
        generate_systems(2, 7, tmp_path / "old", invariants=False, progress=False)
