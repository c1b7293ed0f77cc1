"""The learned forecasters (ESN, shPLRNN + GTF, patch transformer): conformance of their quick presets,
save/load round trips, the GTF kernel against torch autograd, and (slow) their quality on Lorenz-63."""

from __future__ import annotations

import numpy as np
import pytest

from dysts_bench.checks.forecasters import check_cases, parametrize_with_checks
from dysts_bench.evaluate.metrics import METRICS
from dysts_bench.forecast import ForecasterError, as_context, as_series, clone, get_params, tags_of

from .learned_fixtures import forecasters_module, lorenz_benchmark_data, median_vpt

torch = pytest.importorskip("torch")

ESN = forecasters_module("esn").ESN
plrnn = forecasters_module("plrnn")
transformer = forecasters_module("transformer")
ShPLRNN, PatchTransformer = plrnn.ShPLRNN, transformer.PatchTransformer

QUICK = [ESN.quick(progress=False), ShPLRNN.quick(progress=False),
         ShPLRNN.quick(progress=False, latent_dim=8, clipped=False), PatchTransformer.quick(progress=False),
         transformer.GlobalPatchTransformer.quick(progress=False)]


@parametrize_with_checks(QUICK)
def test_quick_presets_conform(forecaster, check):
    check(forecaster)


def _lorenz_case():
    case = check_cases()[0]
    return as_series(list(case.train)), as_context(case.context), case.dt


@pytest.mark.parametrize("forecaster", QUICK, ids=[f"{f.name}-{i}" for i, f in enumerate(QUICK)])
def test_save_and_load_predict_identically(forecaster, tmp_path):
    train, context, dt = _lorenz_case()
    model = clone(forecaster).fit(train, dt=dt)
    loaded = type(model).load(model.save(tmp_path / "model"))
    assert type(loaded) is type(model) and get_params(loaded) == get_params(model)
    np.testing.assert_array_equal(loaded.predict(context, 50), model.predict(context, 50))


def test_load_rejects_other_files(tmp_path):
    train, _, dt = _lorenz_case()
    path = ShPLRNN.quick(progress=False).fit(train, dt=dt).save(tmp_path / "plrnn.pt")
    with pytest.raises(ForecasterError, match="not a saved PatchTransformer"):
        PatchTransformer.load(path)
    (tmp_path / "junk.npz").write_bytes(b"not a model")
    with pytest.raises(ForecasterError, match="ESN"):
        ESN.load(tmp_path / "junk.npz")


def test_progress_bars_can_be_silenced(capsys):
    train, _, dt = _lorenz_case()
    for model in (ESN.quick(progress=False), ShPLRNN.quick(progress=False)):
        model.fit(train, dt=dt)
    assert capsys.readouterr().err == ""
    ShPLRNN.quick(progress=True, n_steps=3).fit(train, dt=dt)
    assert "shPLRNN" in capsys.readouterr().err


def test_predict_needs_fit_and_the_fitted_dimension():
    with pytest.raises(ForecasterError, match="not fitted"):
        ESN().predict(np.zeros((10, 3)), 5)
    train, context, dt = _lorenz_case()
    model = ESN.quick(progress=False).fit(train, dt=dt)
    with pytest.raises(ForecasterError, match="3-D"):
        model.predict(context[:, :2], 5)


# ------------------------------------------------------------------------------------------------ shPLRNN

@pytest.mark.parametrize(("clipped", "latent_dim"), [(True, 3), (False, 3), (True, 5)])
def test_compiled_gtf_loss_matches_torch_autograd(clipped, latent_dim):
    gen = torch.Generator().manual_seed(0)
    net = plrnn._network(3, latent_dim, 12, clipped, gen).double()
    batch = torch.randn(4, 25, 3, dtype=torch.float64, generator=gen)
    params = list(net.parameters())
    reference = plrnn._gtf_loss(net, batch, 0.3)
    compiled = plrnn._compiled_gtf_loss()(net, batch, 0.3)
    assert compiled.item() == pytest.approx(reference.item(), rel=1e-12)
    expected, got = torch.autograd.grad(reference, params), torch.autograd.grad(compiled, params)
    for a, b in zip(expected, got, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-14)


def test_gtf_alpha_follows_the_jacobian_product_bound():
    """With W1 = 0 the Jacobian is diag(A): G = max|A| and α* = 1 − 1/G (Hess et al. 2023)."""
    net = plrnn._network(3, 3, 4, True, torch.Generator().manual_seed(0)).double()
    with torch.no_grad():
        net.W1.zero_()
        net.A.copy_(torch.tensor([2.0, 0.5, -0.25]))
    latents = torch.randn(2, 10, 3, dtype=torch.float64)
    assert plrnn._product_bound(net, latents) == pytest.approx(2.0)
    model = ShPLRNN(alpha_decay=0.5)
    assert model._anneal(0.1, 2.0) == pytest.approx(0.5)                     # α* above α: jump to it
    assert model._anneal(0.9, 2.0) == pytest.approx(0.5 * 0.9 + 0.5 * 0.5)   # below: decay towards it


@pytest.mark.parametrize(("clipped", "latent_dim"), [(True, 3), (False, 4)])
def test_compiled_jacobian_bound_matches_torch(clipped, latent_dim):
    gen = torch.Generator().manual_seed(1)
    net = plrnn._network(3, latent_dim, 12, clipped, gen).double()
    latents = 2 * torch.randn(5, 40, latent_dim, dtype=torch.float64, generator=gen)
    assert plrnn._compiled_product_bound(net, latents) == pytest.approx(plrnn._product_bound(net, latents),
                                                                         rel=1e-9)


def test_plrnn_restarts_keep_the_best_scored_training():
    train, context, dt = _lorenz_case()
    single = ShPLRNN.quick(progress=False).fit(train, dt=dt)
    best = ShPLRNN.quick(progress=False, n_restarts=2).fit(train, dt=dt)
    assert best.training_d_stsp_ <= single.training_d_stsp_     # its first run is the single one
    assert np.isfinite(best.predict(context, 20)).all()


def test_plrnn_rejects_a_latent_space_smaller_than_the_data():
    train, _, dt = _lorenz_case()
    with pytest.raises(ForecasterError, match="latent_dim"):
        ShPLRNN.quick(latent_dim=2, progress=False).fit(train, dt=dt)


# -------------------------------------------------------------------------------------------- transformer

def test_global_transformer_forecasts_unseen_dimensions():
    cases = check_cases()
    mixed = [s for case in cases for s in case.train]          # 3-D, 6-D and 1-D series
    model = transformer.GlobalPatchTransformer.quick(progress=False)
    assert tags_of(model).global_model and not tags_of(PatchTransformer()).global_model
    model.fit(as_series(mixed), dt=cases[0].dt)
    context = as_context(np.concatenate([cases[0].context, cases[0].context[:, :1]], axis=1))  # 4-D
    forecast = model.predict(context, 40)
    assert forecast.shape == (40, 4) and np.all(np.isfinite(forecast))
    # Short contexts (under one patch) still forecast.
    assert model.predict(context[:3], 5).shape == (5, 4)


def test_global_transformer_presets_set_the_budget_and_arguments_override_them():
    cpu = transformer.GlobalPatchTransformer(preset="cpu")
    assert cpu.n_steps == transformer.PRESETS["cpu"]["n_steps"] and cpu.get_params()["preset"] == "cpu"
    assert transformer.GlobalPatchTransformer(preset="cpu", n_steps=7).n_steps == 7
    assert transformer.GlobalPatchTransformer().n_steps == PatchTransformer().n_steps
    again = transformer.GlobalPatchTransformer(**transformer.GlobalPatchTransformer(preset="gpu").get_params())
    assert again.get_params() == transformer.GlobalPatchTransformer(preset="gpu").get_params()
    with pytest.raises(ForecasterError, match="unknown preset 'huge'"):
        transformer.GlobalPatchTransformer(preset="huge")
    # The GPU preset's network runs here too (two updates on short windows).
    cases = check_cases()
    small = transformer.GlobalPatchTransformer(preset="gpu", n_steps=2, batch_size=4, context_length=64,
                                               progress=False)
    small.fit(as_series(cases[0].train), dt=cases[0].dt)
    assert small.predict(as_context(cases[0].context), 16).shape == (16, cases[0].context.shape[1])


def test_transformer_is_equivariant_to_permuting_coordinates():
    train, context, dt = _lorenz_case()
    model = PatchTransformer.quick(progress=False).fit(train, dt=dt)
    order = [2, 0, 1]
    np.testing.assert_allclose(model.predict(context[:, order], 20), model.predict(context, 20)[:, order],
                               rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------------- quality on Lorenz-63 (slow)


@pytest.mark.slow
def test_esn_lorenz_vpt():
    train, contexts, futures, sigma, dt, _ = lorenz_benchmark_data()
    model = ESN(progress=False).fit(train, dt=dt)
    vpt = median_vpt(model, contexts, futures, sigma, dt)
    print(f"ESN default on Lorenz (dt={dt:.4f}): median VPT {vpt:.2f} Lyapunov times (eps = 0.5)")
    assert vpt >= 5.0


@pytest.mark.slow
def test_shplrnn_lorenz_long_term_statistics():
    train, contexts, futures, sigma, dt, reference = lorenz_benchmark_data()
    model = ShPLRNN(progress=False).fit(train, dt=dt)
    n = 20_000
    generated = model.predict(as_context(contexts[0]), n)
    truth = reference[-n:]
    d_stsp, d_h = METRICS["d_stsp"](truth, generated), METRICS["d_h"](truth, generated)
    vpt = median_vpt(model, contexts, futures, sigma, dt)
    print(f"shPLRNN+GTF default on Lorenz (dt={dt:.4f}, {n} generated steps): D_stsp {d_stsp:.3f}, "
          f"D_H {d_h:.3f}, median VPT {vpt:.2f} Lyapunov times (eps = 0.5)")
    assert d_stsp <= 0.5 and d_h <= 0.1


@pytest.mark.slow
def test_shplrnn_long_term_statistics_through_the_harness(tmp_path):
    """Protocol 2: `dysts-bench evaluate` itself gives the shPLRNN its long-run D_stsp and D_H on Lorenz."""
    import json
    import subprocess
    import sys

    archive, out = tmp_path / "l.zarr", tmp_path / "plrnn.json"
    run = [sys.executable, "-m", "dysts_bench"]
    subprocess.run([*run, "data", "generate", "--config", "lyapunov", "--systems", "Lorenz", "--out", str(archive),
                    "--no-progress"], check=True)
    subprocess.run([*run, "evaluate", "plrnn", "--data", str(archive), "--out", str(out), "--quiet"], check=True)
    results = json.loads(out.read_text())
    lorenz = results["systems"]["Lorenz"]
    print(f"shPLRNN through the harness on Lorenz: D_stsp {lorenz['metrics']['d_stsp']:.3f} (floor "
          f"{lorenz['floors']['d_stsp']:.3f}), D_H {lorenz['metrics']['d_h']:.3f}, VPT {lorenz['metrics']['vpt']:.2f}")
    assert results["protocol"] == 2
    assert {r["long_status"] for r in results["records"] if r["long_status"]} == {"ok"}
    assert lorenz["metrics"]["d_stsp"] <= 0.5 and lorenz["metrics"]["d_h"] <= 0.1


@pytest.mark.slow
def test_transformer_lorenz_vpt():
    train, contexts, futures, sigma, dt, _ = lorenz_benchmark_data()
    model = PatchTransformer(progress=False).fit(train, dt=dt)
    vpt = median_vpt(model, contexts, futures, sigma, dt)
    print(f"transformer default on Lorenz (dt={dt:.4f}): median VPT {vpt:.2f} Lyapunov times (eps = 0.5)")
    assert vpt >= 1.0


def test_evaluate_quiet_silences_the_training_bars_and_restores_the_environment(monkeypatch):
    import os

    from dysts_bench.cli.evaluate import _quiet_forecasters

    from .learned_fixtures import forecasters_module

    learned = forecasters_module("_learned")
    monkeypatch.delenv("DYSTS_BENCH_QUIET", raising=False)
    assert not learned.progress_bar(10, "x", True).disable
    with _quiet_forecasters(True):
        assert learned.progress_bar(10, "x", True).disable
    assert "DYSTS_BENCH_QUIET" not in os.environ
