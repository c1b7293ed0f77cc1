"""The analysis page's statistics: bootstrap intervals on median VPT and rank, win rates, skill against chaos."""

from __future__ import annotations

import numpy as np
import pytest

from dysts_bench.leaderboard.analysis import Scores, rank_intervals, skill_table, spearman, win_rates


def scores(vpt) -> Scores:
    vpt = np.asarray(vpt, dtype=float)
    n = vpt.shape[1]
    return Scores([f"f{i}" for i in range(len(vpt))], [f"f{i}.html" for i in range(len(vpt))],
                  [f"S{j}" for j in range(n)], vpt, np.linspace(1.0, 2.0, n))


def test_a_clear_winner_ranks_first_in_every_resample_and_noise_does_not():
    rng = np.random.default_rng(1)
    base = rng.uniform(1, 5, 40)
    s = scores([base + 3.0, base, base + rng.normal(0, 0.05, 40)])
    r = rank_intervals(s)
    assert (r[0]["rank"], r[0]["rank_low"], r[0]["rank_high"]) == (1.0, 1.0, 1.0)
    assert r[1]["rank_low"] == 2.0 and r[2]["rank_high"] == 3.0  # the near-identical pair is not separated
    assert r[0]["median_low"] <= r[0]["median"] <= r[0]["median_high"]
    assert rank_intervals(s) == r  # seeded


def test_win_rates_count_shared_systems_and_ties_half():
    s = scores([[1.0, 2.0, 3.0, np.nan], [0.5, 2.0, 4.0, 1.0]])
    w = win_rates(s)
    assert w[0, 1] == (1 + 0.5 + 0) / 3 and w[1, 0] == (0 + 0.5 + 1) / 3
    assert w[0, 1] + w[1, 0] == 1.0


def test_spearman_with_an_interval_and_too_few_pairs():
    x = np.arange(10.0)
    rho, low, high, n = spearman(x, 2 * x + 1)
    assert rho == pytest.approx(1.0) and n == 10 and low <= 1.0 + 1e-12 and high == pytest.approx(1.0)
    assert spearman(x[:3], x[:3]) is None
    assert spearman(np.array([1.0, np.nan, 3.0, 4.0, 5.0]), np.ones(5)) is None  # constant: undefined


def test_skill_table_has_a_row_per_forecaster_and_unit():
    s = scores([[1.0, 2.0, 3.0, 4.0, 5.0], [5.0, 4.0, 3.0, 2.0, 1.0]])
    invariants = {f"S{j}": {"lyapunov_max": float(j + 1)} for j in range(5)}
    table = skill_table(s, invariants, 0)
    assert len(table.rows) == 4
    assert table.rows[0].cells[2].text.startswith("+1.00") and table.rows[2].cells[2].text.startswith("-1.00")
