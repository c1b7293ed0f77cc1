"""A compact patch transformer for multivariate time series, per system or as a global (zero-shot) model.

Architecture (in the line of PatchTST, Nie et al. ICLR 2023, with the channel attention of Panda,
Lai et al. 2025, which forecasts chaotic systems zero-shot):
- Each coordinate (channel) is cut into non-overlapping patches of `patch_len` steps; a patch is a token,
  embedded linearly, with a learned position embedding.
- Each of `n_layers` blocks applies causal self-attention along time within each channel, then
  self-attention across the channels at each patch position (no mask: the channels of one time window),
  each with a feed-forward layer (pre-norm transformer encoder layers).
- A linear head maps every token to the next patch. Training is teacher-forced next-patch prediction
  (MSE) on random windows of the training series; forecasting is autoregressive, one patch at a time.
- Scaling is per window and channel (instance normalization, RevIN-style): the context's mean and
  standard deviation, so that no statistic of the training systems is needed at forecast time.

Weights are shared across channels and the channel attention has no channel embedding, so the model is
equivariant to permuting coordinates and accepts any dimension: trained on one system it is a
per-system forecaster; trained on series of many systems of different dimensions (`global_model=True`,
the tag the harness reads) it forecasts held-out systems zero-shot. A batch holds windows of series of
one dimension; batches are drawn over all series in proportion to their lengths.

Saved files: see `dysts_bench_forecasters._learned` (torch.save of the state dict, hyper-parameters and
fitted attributes as JSON).
"""

from __future__ import annotations

import inspect
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from dysts_bench.forecast.protocol import ForecasterError, ForecasterTags

from ._learned import (
    check_fitted,
    check_series,
    load_torch,
    progress_bar,
    save_torch,
    torch_device,
    torch_session,
    torch_threads,
)

logger = logging.getLogger(__name__)

# Hyper-parameters of `PatchTransformer.quick()`: a fit of about a second.
QUICK = {"patch_len": 8, "context_length": 64, "d_model": 16, "n_heads": 2, "n_layers": 1, "n_steps": 30,
         "batch_size": 8, "warmup_steps": 5}
_MIN_STD = 1e-8


def _network(patch_len: int, max_patches: int, d_model: int, n_heads: int, n_layers: int, dropout: float,
             generator: Any) -> Any:
    """The transformer as a torch module (built here so that torch is imported only when a model is used)."""
    import torch
    from torch import nn

    def layer() -> nn.TransformerEncoderLayer:
        return nn.TransformerEncoderLayer(d_model, n_heads, dim_feedforward=2 * d_model, dropout=dropout,
                                          batch_first=True, norm_first=True)

    class PatchNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Linear(patch_len, d_model)
            self.position = nn.Parameter(torch.zeros(max_patches, d_model))
            self.temporal = nn.ModuleList(layer() for _ in range(n_layers))
            self.across = nn.ModuleList(layer() for _ in range(n_layers))
            self.norm = nn.LayerNorm(d_model)
            self.head = nn.Linear(d_model, patch_len)

        def forward(self, patches: torch.Tensor) -> torch.Tensor:
            """Next-patch predictions (B, C, P, patch_len) from patches (B, C, P, patch_len)."""
            b, c, p, _ = patches.shape
            h = self.embed(patches) + self.position[:p]
            causal = nn.Transformer.generate_square_subsequent_mask(p, device=patches.device)
            for temporal, across in zip(self.temporal, self.across, strict=True):
                h = temporal(h.reshape(b * c, p, -1), src_mask=causal, is_causal=True)
                h = h.reshape(b, c, p, -1).transpose(1, 2).reshape(b * p, c, -1)
                h = across(h).reshape(b, p, c, -1).transpose(1, 2)
            return self.head(self.norm(h))

    net = PatchNet()
    with torch.no_grad():  # torch's default initialization draws from its global generator: redo it seeded
        for name, param in net.named_parameters():
            if name == "position":
                nn.init.normal_(param, std=0.02, generator=generator)
            elif param.dim() > 1:
                nn.init.xavier_uniform_(param, generator=generator)
            elif name.endswith("bias"):
                nn.init.zeros_(param)
    return net


class PatchTransformer:
    """Causal patch transformer with channel attention, trained by next-patch prediction."""

    name = "transformer"

    def __init__(self, patch_len: int = 16, context_length: int = 512, d_model: int = 64, n_heads: int = 4,
                 n_layers: int = 2, dropout: float = 0.0, n_steps: int = 2000, batch_size: int = 32,
                 lr: float = 1e-3, weight_decay: float = 1e-4, warmup_steps: int = 100,
                 global_model: bool = False, seed: int = 0, device: str | None = None,
                 n_threads: int | None = 1, progress: bool = True):
        self.patch_len = patch_len
        self.context_length = context_length
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.dropout = dropout
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.warmup_steps = warmup_steps
        self.global_model = global_model
        self.seed = seed
        self.device = device
        self.n_threads = n_threads
        self.progress = progress

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments of `PatchTransformer`, also for subclasses that preset some of them."""
        names = inspect.signature(PatchTransformer.__init__).parameters
        return {name: getattr(self, name) for name in names if name != "self"}

    @property
    def tags(self) -> ForecasterTags:
        """Multivariate; global (fitted once across systems) when `global_model` is set."""
        return ForecasterTags(multivariate=True, global_model=bool(self.global_model), stochastic=True)

    @classmethod
    def quick(cls, **overrides: Any) -> PatchTransformer:
        """A small configuration that fits in about a second (for tests and smoke runs)."""
        return cls(**{**QUICK, **overrides})

    @property
    def max_patches(self) -> int:
        """The number of patch tokens the model attends over."""
        return max(1, self.context_length // self.patch_len)

    # ------------------------------------------------------------------------------------------ training

    def fit(self, series: list[np.ndarray], *, dt: float) -> PatchTransformer:
        """Trains by next-patch prediction on random windows; series may differ in dimension."""

        check_series(series, "PatchTransformer", min_length=2 * self.patch_len, same_dim=False)
        usable = [np.asarray(s, dtype=np.float32) for s in series if len(s) >= 2 * self.patch_len]
        # One window length for every batch: as many patches as the shortest usable series allows.
        n_patches = min(self.max_patches, min(len(s) for s in usable) // self.patch_len - 1)
        device = torch_device(self.device)
        with torch_session(self.seed, self.n_threads) as gen:
            net = _network(self.patch_len, self.max_patches, self.d_model, self.n_heads, self.n_layers,
                           self.dropout, gen).to(device)
            self.loss_history_ = self._train(net, usable, n_patches, gen, device)
        self.net_ = net.cpu().eval()
        self.dt_ = float(dt)
        self.dims_ = sorted({s.shape[1] for s in usable})
        return self

    def _train(self, net: Any, series: list[np.ndarray], n_patches: int, gen: Any, device: Any) -> list:
        import torch

        optimizer = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, self._lr_factor)
        window = (n_patches + 1) * self.patch_len
        starts = torch.tensor([len(s) - window + 1 for s in series], dtype=torch.float64)
        dims = torch.tensor([s.shape[1] for s in series])
        net.train()
        losses = []
        with progress_bar(self.n_steps, "transformer", self.progress) as bar:
            for _ in range(self.n_steps):
                x = _sample_windows(series, starts, dims, self.batch_size, window, gen)
                patches = _patches(_normalize(x, x[:, :-self.patch_len])[0], self.patch_len).to(device)
                loss = torch.mean((net(patches[:, :, :-1]) - patches[:, :, 1:]) ** 2)
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                if not math.isfinite(loss.item()):
                    raise ForecasterError(f"PatchTransformer: the training loss became {loss.item()}; "
                                          "lower lr")
                losses.append(loss.item())
                bar.update()
                bar.set_postfix(loss=f"{loss.item():.3g}", refresh=False)
        logger.info("transformer trained: %d steps on %d series, final loss %.4g", self.n_steps, len(series),
                    losses[-1] if losses else math.nan)
        return losses

    def _lr_factor(self, step: int) -> float:
        """Linear warm-up, then cosine decay to zero at `n_steps`."""
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        progress = (step - self.warmup_steps) / max(1, self.n_steps - self.warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    # ---------------------------------------------------------------------------------------- forecasting

    def predict(self, context: np.ndarray, horizon: int) -> np.ndarray:
        """Forecasts patch by patch from the last `context_length` steps (any dimension)."""
        import torch

        check_fitted(self, "net_")
        if context.ndim != 2 or len(context) == 0:
            raise ForecasterError(f"PatchTransformer.predict needs a (n_ctx, dim) context, got "
                                  f"{context.shape}")
        usable = min(len(context), self.max_patches * self.patch_len)
        usable = max(self.patch_len, usable - usable % self.patch_len)
        recent = np.asarray(context[-usable:], dtype=np.float32)
        if len(recent) < usable:  # a context shorter than one patch: repeat its first value before it
            recent = np.concatenate([np.repeat(recent[:1], usable - len(recent), axis=0), recent])
        x = torch.from_numpy(recent)[None]
        z, mean, std = _normalize(x, x)
        tokens = _patches(z, self.patch_len)
        n_new = -(-horizon // self.patch_len)
        with torch.no_grad(), torch_threads(self.n_threads):
            for _ in range(n_new):
                step = self.net_(tokens[:, :, -self.max_patches:])[:, :, -1:]
                tokens = torch.cat([tokens, step], dim=2)
        future = tokens[0, :, -n_new:].reshape(z.shape[-1], -1)[:, :horizon].T
        return (future * std[0] + mean[0]).double().numpy()

    # ------------------------------------------------------------------------------------------ save/load

    def save(self, path: str | Path) -> Path:
        """Writes the fitted model to one torch file (format in `_learned`); returns the path."""
        check_fitted(self, "net_")
        return save_torch(self, path, self.net_, {"dt": self.dt_, "dims": self.dims_})

    @classmethod
    def load(cls, path: str | Path) -> PatchTransformer:
        """A fitted PatchTransformer read from a file written by `save`."""
        import torch

        model, fitted, state = load_torch(cls, path)
        net = _network(model.patch_len, model.max_patches, model.d_model, model.n_heads, model.n_layers,
                       model.dropout, torch.Generator())
        net.load_state_dict(state)
        model.net_ = net.eval()
        model.dt_, model.dims_ = float(fitted["dt"]), list(fitted["dims"])
        return model


# Training budgets of the global model on a pretraining corpus (`-p preset=cpu`); any argument given with a
# preset overrides it. Without a preset the class defaults hold (2,000 updates: the 16-system reference run).
PRESETS: dict[str, dict[str, Any]] = {
    # About an hour on one core of the reference machine (0.13-0.2 s per update of batch 32).
    "cpu": {"n_steps": 24_000, "warmup_steps": 500},
    # A wider, deeper model and larger batches for a GPU (all threads; `device` picks cuda when there is one).
    "gpu": {"d_model": 256, "n_heads": 8, "n_layers": 4, "batch_size": 256, "n_steps": 50_000,
            "warmup_steps": 2_000, "lr": 5e-4, "n_threads": None},
}


class GlobalPatchTransformer(PatchTransformer):
    """The patch transformer as a global model: fitted once across systems, scored zero-shot."""

    name = "transformer-global"

    def __init__(self, preset: str | None = None, global_model: bool = True, **params: Any):
        if preset is not None and preset not in PRESETS:
            raise ForecasterError(f"GlobalPatchTransformer: unknown preset {preset!r}; choose one of "
                                  f"{', '.join(PRESETS)}, or none for the class defaults")
        super().__init__(global_model=global_model, **{**PRESETS.get(preset or "", {}), **params})
        self.preset = preset

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments, with the preset they started from (the budget itself is spelled out)."""
        return {"preset": self.preset, **super().get_params()}


def _sample_windows(series: list[np.ndarray], starts: Any, dims: Any, batch_size: int, window: int,
                    gen: Any) -> Any:
    """(batch, window, C) windows from series of one dimension C, drawn in proportion to their lengths."""
    import torch

    first = int(torch.multinomial(starts, 1, generator=gen))
    weights = torch.where(dims == dims[first], starts, torch.zeros_like(starts))
    which = torch.multinomial(weights, batch_size, replacement=True, generator=gen)
    offsets = (torch.rand(batch_size, generator=gen, dtype=torch.float64) * starts[which]).long()
    return torch.stack([torch.from_numpy(series[i][o:o + window])
                        for i, o in zip(which.tolist(), offsets.tolist(), strict=True)])


def _normalize(x: Any, reference: Any) -> tuple[Any, Any, Any]:
    """x scaled by the per-window, per-channel mean and std of `reference` (B, T, C); also those stats."""
    import torch

    mean = reference.mean(dim=1, keepdim=True)
    std = reference.std(dim=1, keepdim=True, unbiased=False)
    std = torch.where(std > _MIN_STD, std, torch.ones_like(std))
    return (x - mean) / std, mean, std


def _patches(x: Any, patch_len: int) -> Any:
    """(B, T, C) series as (B, C, T // patch_len, patch_len) patches."""
    b, t, c = x.shape
    return x.transpose(1, 2).reshape(b, c, t // patch_len, patch_len)
