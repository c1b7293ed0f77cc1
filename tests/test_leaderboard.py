"""The leaderboard: checks of results files, and the static site built from synthetic results."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin

import pytest

from dysts_bench.cli import main
from dysts_bench.evaluate.results import Record, ResultsError, save_results
from dysts_bench.leaderboard.boards import SiteError, board_table, group_boards, load_entries
from dysts_bench.leaderboard.build import MARKER, build_site
from dysts_bench.leaderboard.check import check_file, known_manifests, manifest_file_hash, summarize_records
from dysts_bench.leaderboard.equations import equation_lines
from dysts_bench.system import get_system

from .leaderboard_fixtures import (
    SYSTEMS,
    build_test_site,
    make_results,
    use_fake_invariants,
    write_manifest,
    write_results,
)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site built once from three synthetic results files on Lorenz, Rossler and Thomas."""
    return build_test_site(tmp_path_factory.mktemp("leaderboard"))


@pytest.fixture
def manifests(tmp_path) -> Path:
    """A folder with one known manifest (config demo)."""
    write_manifest(tmp_path / "manifests")
    return tmp_path / "manifests"


@pytest.fixture
def results_file(tmp_path, manifests) -> Path:
    """A consistent results file on the known manifest."""
    results = make_results("ridge", 2.0, manifest_file_hash(manifests / "demo.json"), seed=3, fail=("Thomas",))
    return save_results(results, tmp_path / "ridge.json")


# --- summaries and checks ---------------------------------------------------------------------------

def test_summaries_are_medians_over_successful_forecasts_then_over_systems():
    records = [Record(system="A", ic=i, status="ok", metrics={"vpt": v}) for i, v in enumerate([1.0, 3.0, 2.0])]
    records += [Record(system="A", ic=3, status="error", metrics={"vpt": 100.0}),
                Record(system="B", ic=0, status="ok", metrics={"vpt": 6.0}),
                Record(system="B", ic=1, status="ok", metrics={"vpt": None}),
                Record(system="C", ic=0, status="timeout")]
    totals, summary = summarize_records(records)
    assert (totals["A"].n_ok, totals["A"].n_failed, totals["A"].metrics["vpt"]) == (3, 1, 2.0)
    assert totals["B"].metrics["vpt"] == 6.0
    assert totals["C"].n_ok == 0 and totals["C"].metrics == {}
    assert (summary.n_systems, summary.failed_systems) == (3, 1)
    assert summary.median["vpt"] == 4.0 and summary.mean["vpt"] == 4.0


def test_known_manifests_by_file_hash_and_recomputed_identity(manifests):
    from dysts_bench.data.manifest import identity_hash

    known = known_manifests(manifests)
    file_hash = manifest_file_hash(manifests / "demo.json")
    assert known[file_hash].config == "demo"
    assert known[identity_hash(json.loads((manifests / "demo.json").read_text()))].config == "demo"
    assert "c" * 64 not in known  # the stored content_hash field is never trusted
    (manifests / "broken.json").write_text("{not json")
    assert len(known_manifests(manifests)) == 2


def test_check_accepts_a_consistent_file(results_file, manifests, capsys):
    results, problems = check_file(results_file, manifests=manifests)
    assert problems == [] and results.forecaster.name == "ridge"
    assert main(["leaderboard", "check", str(results_file), "--manifests", str(manifests)]) == 0
    assert "ok   " in capsys.readouterr().out


def _corrupt_system_median(d):
    d["systems"]["Lorenz"]["metrics"]["vpt"] += 0.5


def _corrupt_summary_mean(d):
    d["summary"]["mean"]["d_h"] *= 1.01


def _corrupt_counts(d):
    d["systems"]["Rossler"]["n_ok"] = 1


def _drop_headline(d):
    del d["summary"]["median"]["vpt"]


def _duplicate_record(d):
    d["records"].append(dict(d["records"][0]))


def _unknown_system(d):
    d["records"][0]["system"] = "Lorenzz"


def _unknown_manifest(d):
    d["dataset"]["manifest_hash"] = "0" * 64


def _wrong_config(d):
    d["dataset"]["config_hash"] = "f" * 64


def _zero_shot_leak(d):
    d["mode"], d["train_systems"] = "zero-shot", ["Lorenz", "Aizawa"]


def _nan_lyapunov_time(d):
    d["systems"]["Lorenz"]["lyapunov_time"] = float("nan")


def _wrong_lyapunov_time(d):
    d["systems"]["Rossler"]["lyapunov_time"] *= 100


def _negative_floor(d):
    d["systems"]["Lorenz"]["floors"]["d_stsp"] = -1.0


def _wrong_version(d):
    d["systems"]["Lorenz"]["version"] = 7


def _old_protocol(d):
    d["protocol"] = 1


def _forged_censoring(d):
    d["systems"]["Lorenz"]["censored"] = ["vpt"]


@pytest.mark.parametrize(("corrupt", "expected"), [
    (_nan_lyapunov_time, r"systems\.Lorenz\.lyapunov_time = nan, but the released dataset has 1\.10"),
    (_wrong_lyapunov_time, r"systems\.Rossler\.lyapunov_time = 14\d\d\.\d+, but the released dataset has"),
    (_negative_floor, r"systems\.Lorenz\.floors\.d_stsp = -1\.0: a divergence is finite and >= 0"),
    (_wrong_version, r"systems\.Lorenz\.version = 7, but the released dataset has version 1"),
    (_old_protocol, r"protocol 1: the leaderboard takes protocol 2 only .* re-make the file with `dysts-bench"),
    (_forged_censoring, r"systems\.Lorenz\.censored = \['vpt'\], but the records give \[\]"),
    (_corrupt_system_median, r"systems\.Lorenz\.metrics\.vpt = .* but the records give"),
    (_corrupt_summary_mean, r"summary\.mean\.d_h = .* but the records give"),
    (_corrupt_counts, r"systems\.Rossler\.n_ok = 1, but the records give 3"),
    (_drop_headline, r"summary\.median lacks 'vpt'"),
    (_duplicate_record, r"2 records for system 'Lorenz' initial condition 0"),
    (_unknown_system, r"'Lorenzz' is not in the registry \(did you mean Lorenz"),
    (_unknown_manifest, r"dataset\.manifest_hash 000.* is not the hash of a committed manifest"),
    (_wrong_config, r"dataset\.config_hash .* differs from the manifest's"),
    (_zero_shot_leak, r"trained on: Lorenz"),
])
def test_check_names_each_inconsistency(results_file, manifests, corrupt, expected, capsys):
    data = json.loads(results_file.read_text())
    corrupt(data)
    results_file.write_text(json.dumps(data))
    _, problems = check_file(results_file, manifests=manifests)
    assert any(re.search(expected, p) for p in problems), problems
    assert main(["leaderboard", "check", str(results_file), "--manifests", str(manifests)]) == 1
    assert re.search(expected, capsys.readouterr().err)


def test_check_reports_schema_errors_with_the_file_and_field(tmp_path, results_file, manifests, capsys):
    data = json.loads(results_file.read_text())
    del data["dataset"]["context"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    (tmp_path / "garbage.json").write_text("{")
    with pytest.raises(ResultsError, match=r"bad\.json.*dataset\.context"):
        check_file(bad, manifests=manifests)
    assert main(["leaderboard", "check", str(bad), str(tmp_path / "garbage.json"), str(results_file),
                 "--manifests", str(manifests)]) == 1
    captured = capsys.readouterr()
    assert "dataset.context" in captured.err and "not valid JSON" in captured.err
    assert "ok   " in captured.out


def test_committed_manifests_are_the_default(results_file):
    # The synthetic manifest is not committed: against data/manifests the file names an unknown dataset.
    _, problems = check_file(results_file)
    assert any("not the hash of a committed manifest" in p for p in problems)


# --- equations -----------------------------------------------------------------------------------------

def test_equations_become_math_text():
    from matplotlib.mathtext import MathTextParser

    lorenz = equation_lines(get_system("Lorenz"))
    assert lorenz[0].startswith(r"\dot{x} = ") and r"\sigma" in lorenz[0]
    assert any(r"(t - \tau)" in line for line in equation_lines(get_system("MackeyGlass")))
    parser = MathTextParser("path")
    for name in ("Lorenz", "MackeyGlass", "FluidTrampoline", "DoublePendulum"):
        for line in equation_lines(get_system(name)):
            parser.parse(f"${line}$")   # raises if matplotlib cannot typeset it


# --- the built site ----------------------------------------------------------------------------------

class _Links(HTMLParser):
    def __init__(self, tags: tuple[str, ...] = ()):
        super().__init__()
        self.tags = tags          # only these elements' targets; all if empty
        self.targets: list[str] = []

    def handle_starttag(self, tag, attrs):
        if self.tags and tag not in self.tags:
            return
        attrs = dict(attrs)
        for key in ("href", "src"):
            if attrs.get(key):
                self.targets.append(attrs[key])


def internal_targets(site: Path) -> dict[str, set[str]]:
    """Every page's internal links and images, as paths relative to the site."""
    found: dict[str, set[str]] = {}
    for page in site.rglob("*.html"):
        rel = page.relative_to(site).as_posix()
        parser = _Links()
        parser.feed(page.read_text())
        found[rel] = {urldefrag(urljoin(rel, t)).url for t in parser.targets
                      if not re.match(r"^(https?:|data:|mailto:|#)", t)}
    return found


def test_site_has_every_page_and_only_pages_of_scored_systems(site):
    for rel in ("index.html", "dataset.html", "systems/index.html", "static/style.css", "static/table.js",
                "forecasters/reservoir.html", "forecasters/persistence.html", "forecasters/nvar.html",
                *(f"systems/{s}.html" for s in SYSTEMS)):
        assert (site / rel).is_file(), rel
    assert not (site / "systems/Aizawa.html").exists()
    assert (site / MARKER).is_file()


def test_every_internal_link_and_image_resolves(site):
    missing = {(page, t) for page, targets in internal_targets(site).items() for t in targets
               if not (site / t).is_file()}
    assert not missing


def test_main_table_ranks_by_median_vpt_and_states_conventions(site):
    html = (site / "index.html").read_text()
    order = [html.index(f'forecasters/{n}.html') for n in ("reservoir", "nvar", "persistence")]
    assert order == sorted(order)
    for text in ("ε = 0.5", "τ = 1/λ", "scale 0–200", "manifest", "context 512 points", "floor 0.080",
                 'data-filter="board-0"'):
        assert text in html, text
    assert 'class="mark"' not in html and "⚠" not in html     # consistent files carry no warning
    assert "1 / 3" in html                          # nvar failed on one system of three


def test_forecaster_page_has_table_and_figures(site):
    html = (site / "forecasters/nvar.html").read_text()
    assert "../systems/Lorenz.html" in html and "Failed forecasts" in html
    assert "forecast diverged: NaN at step 12" in html
    for fig in ("nvar-vpt-lyapunov.svg", "nvar-vpt-histogram.svg"):
        assert (site / "figures/forecasters" / fig).read_text().lstrip().startswith("<?xml")


def test_system_pages_show_equations_invariants_and_ranking(site):
    lorenz = (site / "systems/Lorenz.html").read_text()
    assert re.search(r'src="\.\./figures/equations/Lorenz-[0-9a-f]{16}\.svg"', lorenz)
    assert re.search(r'src="\.\./figures/attractors/Lorenz-[0-9a-f]{16}\.png"', lorenz)
    assert "0.9053 ± 0.0011" in lorenz and "2.050 ± 0.010" in lorenz
    assert "figures/complexity-entropy/Lorenz.svg" in lorenz
    assert lorenz.index("../forecasters/reservoir.html") < lorenz.index("../forecasters/persistence.html")
    assert "σ" in lorenz and "<code>sigma</code>" in lorenz
    thomas = (site / "systems/Thomas.html").read_text()
    assert thomas.count('<tr class="missing">') == 7
    assert "Permutation entropy and statistical complexity not computed" in thomas


def test_systems_index_lists_the_whole_registry(site):
    from dysts_bench.system import list_systems

    html = (site / "systems/index.html").read_text()
    assert html.count('<tr data-name="') == len(list_systems())
    assert 'href="Lorenz.html"' in html and 'href="Aizawa.html"' not in html
    assert (site / "figures/complexity-entropy.svg").is_file()


def test_dataset_page_lists_configs_and_manifests(site):
    html = (site / "dataset.html").read_text()
    assert 'id="config-demo"' in html and 'id="config-lyapunov"' in html
    assert "db.data.load" in html and "dysts-bench data download" in html
    assert "No manifest committed yet" in html     # lyapunov has none in the test's manifest folder
    assert "1000 generated by <code>systems generate</code> (seed 0; none derived from @core)" in html  # pretrain


def test_rebuild_reuses_cached_figures_and_prunes_stale_pages(site, tmp_path, monkeypatch):
    use_fake_invariants(monkeypatch)
    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    results = tmp_path / "results"
    results.mkdir()
    shutil.copy(site.parent / "results/reservoir.json", results)
    attractor = next((copy / "figures/attractors").glob("Lorenz-*.png"))
    attractor.write_bytes(b"cached")    # a rebuild that redrew it would overwrite this
    build_site(results, copy, manifests=site.parent / "manifests", progress=False)
    assert attractor.read_bytes() == b"cached"
    assert not (copy / "forecasters/nvar.html").exists()
    assert not (copy / "figures/forecasters/nvar-vpt-histogram.svg").exists()
    assert (copy / "forecasters/reservoir.html").is_file()


def test_build_refuses_a_foreign_folder_and_a_missing_results_folder(tmp_path):
    (tmp_path / "results").mkdir()
    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(SiteError, match="not empty"):
        build_site(tmp_path / "results", foreign, progress=False)
    assert (foreign / "notes.txt").read_text() == "mine"
    with pytest.raises(SiteError, match="no such folder"):
        build_site(tmp_path / "nowhere", tmp_path / "out", progress=False)


def test_build_with_no_results_still_makes_the_site(tmp_path):
    (tmp_path / "results").mkdir()
    index = build_site(tmp_path / "results", tmp_path / "site", progress=False)
    assert "No results yet" in index.read_text()
    assert (tmp_path / "site/systems/index.html").is_file()


def test_main_table_marks_a_results_file_that_fails_the_check(tmp_path, manifests):
    results = make_results("sloppy", 1.0, manifest_file_hash(manifests / "demo.json"), seed=1)
    results.summary.median["vpt"] = 99.0
    save_results(results, tmp_path / "results" / "sloppy.json")
    entries = load_entries(tmp_path / "results", known_manifests(manifests))
    name = board_table(group_boards(entries)[0], 0).rows[0].cells[1]
    assert name.mark == "⚠" and "summary.median.vpt = 99.0" in name.title


def test_results_on_a_subset_get_a_board_where_the_others_are_restricted_to_it(tmp_path):
    manifest = write_manifest(tmp_path / "manifests")
    folder = tmp_path / "results"
    folder.mkdir()
    subset = SYSTEMS[:2]
    save_results(make_results("reservoir", 4.0, manifest, seed=0), folder / "reservoir.json")
    save_results(make_results("persistence", 0.4, manifest, seed=1), folder / "persistence.json")
    save_results(make_results("transformer", 2.0, manifest, seed=2, systems=subset), folder / "transformer.json")
    full, part = group_boards(load_entries(folder, known_manifests(tmp_path / "manifests")))
    assert not full.subset and part.subset and part.systems == frozenset(subset)
    assert [e.results.forecaster.name for e in full.entries] == ["reservoir", "persistence"]
    assert {e.results.forecaster.name for e in part.entries} == {"reservoir", "persistence", "transformer"}
    assert [e.results.forecaster.name for e in part.own_entries] == ["transformer"]
    reservoir = next(e for e in part.entries if e.results.forecaster.name == "reservoir")
    expected = summarize_records(r for r in reservoir.results.records if r.system in subset)[1]
    assert reservoir.summary == expected and reservoir.summary.n_systems == len(subset)
    assert reservoir.results.summary.n_systems == len(SYSTEMS)  # the file itself is unchanged
    table = board_table(part, 1)
    assert all(row.cells[-1].text.endswith(f"/ {len(subset)}") for row in table.rows)


@pytest.mark.parametrize(("content", "message"), [
    (b'{"schema_version": 1, "schema_version": 1}', "appears twice"),
    ('{"a": 1}'.encode("utf-16"), "not UTF-8 text"),
    (b'{"a": "\xe9"}', "not UTF-8 text"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"a": ' + b"9" * 5000 + b"}", "not a valid results file"),
])
def test_hostile_results_files_get_one_line_and_the_check_goes_on(tmp_path, results_file, manifests, capsys,
                                                                  content, message):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    assert main(["leaderboard", "check", str(bad), str(tmp_path), str(results_file),
                 "--manifests", str(manifests)]) == 1
    captured = capsys.readouterr()
    assert f"FAIL {bad}: " in captured.err and message in captured.err
    assert f"FAIL {tmp_path}: a folder, not a results file" in captured.err
    assert f"ok   {results_file}" in captured.out  # the next file is still checked
    assert "Traceback" not in captured.err


def test_terminal_escapes_in_a_results_file_are_printed_escaped(tmp_path, results_file, manifests, capsys):
    data = json.loads(results_file.read_text())
    data["forecaster"]["name"] = "evil\x1b[2J\x1b]0;pwned\x07"
    results_file.write_text(json.dumps(data))
    assert main(["leaderboard", "check", str(results_file), "--manifests", str(manifests)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b[2J" in out


def test_a_forged_floor_does_not_reach_the_board(tmp_path, manifests):
    results_dir = tmp_path / "results"
    paths = write_results(results_dir, manifest_file_hash(manifests / "demo.json"))
    data = json.loads(paths[0].read_text())
    for system in data["systems"].values():
        system["floors"] = {"d_stsp": 99.0, "d_h": 77.0}
    paths[0].write_text(json.dumps(data))
    boards = group_boards(load_entries(results_dir, known_manifests(manifests)))
    assert {b.floors["d_stsp"] for b in boards} == {0.08}


# --- links from data ------------------------------------------------------------------------------------

HOSTILE_URLS = ["javascript:alert(1)", "  JavaScript:alert(2)", "java\tscript:alert(3)",
                "data:text/html,<script>alert(4)</script>", "vbscript:msgbox(5)", "file:///etc/passwd",
                'https://example.org/"><script>alert(6)</script>']


def test_site_links_only_web_addresses_even_from_a_spec_that_bypassed_the_schema(tmp_path, monkeypatch):
    from dysts_bench.leaderboard import build
    from dysts_bench.specs.schema import Reference
    from dysts_bench.system import System

    # model_construct skips validation: as if a spec reached the site without the schema's check.
    refs = [Reference.model_construct(citation=f"hostile url {i}", url=u, doi=None) for i, u in enumerate(HOSTILE_URLS)]
    refs += [Reference.model_construct(citation="hostile doi", url=None, doi=d)
             for d in ("javascript:alert(7)", '10.1000/x"><script>alert(8)</script>')]
    refs.append(Reference.model_construct(citation="Lorenz (1963)", url="https://example.org/lorenz",
                                          doi="10.1175/1520-0469(1963)020<0130:DNF>2.0.CO;2"))
    lorenz = get_system("Lorenz")
    hostile = System(lorenz.spec.model_copy(update={"references": refs}), path=lorenz.path, program=lorenz.program)
    monkeypatch.setattr(build, "load_registry", lambda: [hostile])
    results = make_results("hostile", 2.0, "0" * 64, seed=0, systems=("Lorenz",))
    results.forecaster.source = "javascript:alert(9)"     # a results file's text is shown, never linked
    save_results(results, tmp_path / "results" / "hostile.json")
    build_site(tmp_path / "results", tmp_path / "site", progress=False)
    for page in (tmp_path / "site").rglob("*.html"):
        assert not re.search(r"(?i)(href|src)=\"\s*[a-z]*\s*script", page.read_text()), page

    html = (tmp_path / "site/systems/Lorenz.html").read_text()
    links = _Links()
    links.feed(html)
    outside = [t for t in links.targets if re.match(r"\s*[a-z][a-z0-9+.-]*:", t, re.IGNORECASE)]
    assert outside == ["data:,",      # the base template's empty favicon
                       "https://doi.org/10.1175/1520-0469(1963)020%3C0130:DNF%3E2.0.CO;2", "https://example.org/lorenz"]
    assert "<script>alert" not in html and "javascript:alert(1)" in html    # shown as text, not linked
    assert "<code>javascript:alert(9)</code>" in (tmp_path / "site/forecasters/hostile.html").read_text()


def test_zero_shot_scaling_plots_each_corpus_size_beside_a_per_system_reference(tmp_path, capsys):
    """A zero-shot result is named with its corpus, and `leaderboard scaling` plots median VPT against the
    number of systems it was fitted on, with a per-system forecaster as a reference line."""
    from dysts_bench.evaluate.results import TrainData

    manifest = "a" * 64
    folder = tmp_path / "results"
    save_results(make_results("transformer", 3.0, manifest, seed=0), folder / "transformer.json")
    for k, (n, skill) in enumerate([(100, 1.0), (1000, 2.0)]):
        zero = make_results("transformer-global", skill, manifest, seed=k + 1, mode="zero-shot")
        zero.train_data = TrainData(config=f"pretrain-{n}", config_hash="c" * 64, manifest_hash="d" * 64,
                                    systems=n, parents=["Chen"])
        assert zero.label == f"transformer-global (pretrain-{n})"
        save_results(zero, folder / f"global-{n}.json")
    out = tmp_path / "scaling.svg"
    assert main(["leaderboard", "scaling", "--results", str(folder), "--systems", ",".join(SYSTEMS),
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| `transformer-global (pretrain-100)` | 100 | 3 |" in printed
    assert "| `transformer-global (pretrain-1000)` | 1,000 | 3 |" in printed and "no reference line" not in printed
    svg = out.read_text()
    assert "transformer-global, generated systems" in svg and "transformer (per system)" in svg
    assert main(["leaderboard", "scaling", "--results", str(tmp_path / "none"), "--systems", "Lorenz",
                 "--out", str(out)]) == 1
