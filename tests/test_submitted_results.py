"""Every results file committed under leaderboard/results passes the submission check."""

from __future__ import annotations

from pathlib import Path

import pytest

from dysts_bench.leaderboard import check_file

RESULTS = sorted((Path(__file__).parents[1] / "leaderboard" / "results").glob("*.json"))


@pytest.mark.parametrize("path", RESULTS, ids=[p.name for p in RESULTS])
def test_submitted_results_pass_the_check(path):
    _, problems = check_file(path)
    assert not problems, "\n".join(map(str, problems))


def test_the_docs_tables_are_made_from_the_committed_results():
    """docs/forecasters.md's comparison tables are the output of `leaderboard table --update`, never typed."""
    from dysts_bench.leaderboard.compare import refresh_tables

    root = Path(__file__).resolve().parents[1]
    docs = (root / "docs" / "forecasters.md").read_text()
    assert docs.count("<!-- leaderboard table") == 3
    assert refresh_tables(docs, sorted((root / "leaderboard" / "results").glob("*.json"))) == docs, (
        "re-make them: dysts-bench leaderboard table --update docs/forecasters.md")
