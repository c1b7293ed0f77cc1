"""The command line as a user runs it: verbs, --help, exit codes, messages."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dysts_bench.cli import COMMANDS, build_parser, main

from .conftest import LORENZ_SPEC
from .hostile_specs import FOUND_BY_CHECK, PASSING, REFUSED_ON_LOAD


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dysts_bench", *args], capture_output=True, text=True,
                          timeout=300)


def test_every_verb_has_help(capsys):
    parser = build_parser()
    verbs = parser._subparsers._group_actions[0].choices
    assert set(verbs) <= set(COMMANDS) and {"systems", "demo"} <= set(verbs)
    for verb in verbs:
        with pytest.raises(SystemExit) as exit_info:
            main([verb, "--help"])
        assert exit_info.value.code == 0
        assert "usage: dysts-bench" in capsys.readouterr().out


def test_systems_list_and_show(capsys):
    assert main(["systems", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"Lorenz", "Rossler"} <= {r["name"] for r in rows}
    assert main(["systems", "show", "Lorenz"]) == 0
    out = capsys.readouterr().out
    assert "dx/dt = " in out and "sigma" in out
    assert main(["systems", "show", "Lorenz", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["parameters"]["rho"] == 28.0


def test_unknown_system_exits_with_a_suggestion():
    result = run("systems", "show", "Lorenx")
    assert result.returncode == 2
    assert "did you mean Lorenz" in result.stderr


def test_systems_check_passes_and_fails(tmp_path, write_spec, capsys):
    assert main(["systems", "check", "Lorenz"]) == 0
    good = write_spec(LORENZ_SPEC.format(name="Toy"))
    assert main(["systems", "check", str(good)]) == 0
    bad = write_spec(LORENZ_SPEC.format(name="Bad").replace("sigma * (y - x)", "sigma * (y - x) + u"), "Bad")
    capsys.readouterr()
    assert main(["systems", "check", str(bad), str(good)]) == 1
    out = capsys.readouterr()
    assert f"{bad}: [schema]" in out.out and "undefined name 'u'" in out.out
    assert "1 of 2 specs pass" in out.err


def test_check_flags_escaping_and_fixed_point_systems(write_spec, capsys):
    escaping = write_spec(LORENZ_SPEC.format(name="Esc").replace("x * y - beta * z", "x * y + beta * z"), "Esc")
    fixed = write_spec(LORENZ_SPEC.format(name="Fix").replace("rho: 28.0", "rho: 0.5"), "Fix")
    capsys.readouterr()
    assert main(["systems", "check", str(escaping), str(fixed)]) == 1
    out = capsys.readouterr().out
    assert "[bounded]" in out and "[not-fixed-point]" in out


def test_systems_check_reports_every_hostile_spec_and_checks_the_rest(write_spec):
    # One run over the whole corpus (issue #15 item 7), with good specs after the bad ones: each bad spec
    # gets its lines naming the file, nothing raises, and the later specs are still checked.
    cases = {**REFUSED_ON_LOAD, **FOUND_BY_CHECK, **{k: (v, None) for k, v in PASSING.items()},
             "good": (LORENZ_SPEC.format(name="Toy"), None)}
    paths = {}
    for i, (case, (text, _)) in enumerate(cases.items()):
        paths[case] = write_spec(text.replace("name: Toy", f"name: Case{i}", 1), name=f"Case{i}")
    result = run("systems", "check", *map(str, paths.values()))
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for case, (_, expected) in cases.items():
        mine = [line for line in lines if line.startswith(f"{paths[case]}: [")]
        if expected is None:
            assert not mine, case
        else:
            assert mine and any(expected in line for line in mine), (case, mine)
    assert len(lines) == sum(1 for _, expected in cases.values() if expected is not None)
    passing = len(PASSING) + 1
    assert result.stderr == f"{passing} of {len(cases)} specs pass, {len(cases) - passing} fail\n"


def test_demo_runs_the_main_job_end_to_end(tmp_path):
    result = run("demo", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "attractors.png").stat().st_size > 10_000
    assert (tmp_path / "site" / "index.html").is_file()
    assert {"last-value.json", "perturbed-truth.json"} <= {p.name for p in (tmp_path / "results").iterdir()}
    assert "leaderboard: " in result.stdout


def test_an_os_error_is_one_line_and_debug_shows_the_traceback(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    argv = ["data", "generate", "--config", "demo", "--out", str(blocker / "demo.zarr"), "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {blocker}") and "Not a directory" in err and "--debug" in err
    assert len(err.strip().splitlines()) == 1
    with pytest.raises(NotADirectoryError):
        main(["--debug", *argv])
