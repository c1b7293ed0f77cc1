"""The built-in forecasters of dysts-bench, installed as `dysts_bench_forecasters` (one module each).

Baselines (`naive`), a wrapper for darts models (`darts_adapter`, needs the `learn` extra), the
perturbed-truth reference (`oracle`), and the learned models: an echo state network (`esn`), a
next-generation reservoir computer (`ngrc`), the shPLRNN trained with generalized teacher forcing
(`plrnn`, training kernels in `gtf_kernel`) and a patch transformer, per system or global
(`transformer`). They follow `dysts_bench.forecast.protocol`
and are registered under the entry-point group `dysts_bench.forecasters`.
"""
