"""The results file: one JSON per forecaster and dataset, validated by pydantic; the leaderboard reads it.

Layout: what was scored (forecaster, dataset, conventions, environment), one record per
(system, initial condition) with its status and metrics, a summary per system and an overall summary.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import DystsBenchError
from ..files import write_atomic

SCHEMA_VERSION = 1
# The evaluation protocol results are made under (docs/protocol.md); files of different protocols are never
# ranked together. Protocol 2: long-term statistics on long free runs, counted out-of-box mass, censored VPT.
PROTOCOL = 2
Status = Literal["ok", "error", "timeout", "invalid"]
# The long-term statistics measured on long free runs (scoring.py); their records carry a `long_status`.
LONG_TERM = ("d_stsp", "d_h")
MAX_TERMS = 400  # identified equation terms kept in a record (evaluate/recovery.py): a results file stays small
# The metrics the leaderboard's main table shows, in its order.
HEADLINE_METRICS = ("vpt", "vpt_smape30", "d_stsp", "d_h", "smape")


class ResultsError(DystsBenchError):
    """A results file is missing, malformed or inconsistent."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ForecasterInfo(_Model):
    """Which forecaster, with which hyper-parameters."""

    name: str = Field(min_length=1)
    version: str = "0"
    params: dict[str, Any] = Field(default_factory=dict)
    tags: dict[str, Any] = Field(default_factory=dict)
    source: str = ""   # entry point, module:Class or file.py:Class as given on the command line


class DatasetInfo(_Model):
    """Which archive it was scored on."""

    config: str                      # config name, e.g. "lyapunov"
    config_hash: str
    manifest_hash: str               # SHA-256 of the archive's manifest: identifies the exact data
    path: str = ""
    splits: dict[str, str] = Field(default_factory=dict)   # role -> split name, e.g. {"fit": "train"}
    context: int = Field(gt=0)
    horizon: int = Field(gt=0)
    # The test split's long free runs (n_ic, length, discard in points); None: no long-term statistics.
    long_term: dict[str, int] | None = None


class TrainData(_Model):
    """The archive a zero-shot forecaster was fitted on, where it is not the scored one (a pretraining corpus)."""

    config: str
    config_hash: str
    manifest_hash: str
    path: str = ""
    split: str = "train"
    systems: int = Field(ge=1)                               # how many of its systems it was fitted on
    parents: list[str] = Field(default_factory=list)         # the registry systems those derive from


class Conventions(_Model):
    """The thresholds and scales behind the numbers (printed beside them on the leaderboard)."""

    vpt_epsilon: float = 0.5
    vpt_unit: str = "Lyapunov times"
    smape_scale: str = "0-200"
    vpt_smape_threshold: float = 30.0
    d_stsp: str = ("KL divergence of occupation histograms (Hess et al. 2023), out-of-box mass counted, on long "
                   "free runs")
    d_h: str = "mean Hellinger distance of smoothed power spectra (Hess et al. 2023), on long free runs"


class Environment(_Model):
    """Where it ran."""

    package_version: str
    python: str
    platform: str
    cpu: str = ""      # the processor's model (absent in files made before it was kept): see machine.py
    packages: dict[str, str] = Field(default_factory=dict)
    date: str
    command: str = ""


class Term(_Model):
    """One identified term: `coefficient` times the monomial Π x_k^exponents[k] in equation `equation`."""

    equation: int = Field(ge=0)
    exponents: list[int] = Field(max_length=64)
    coefficient: float

    @field_validator("exponents")
    @classmethod
    def _small_powers(cls, exponents: list[int]) -> list[int]:
        if any(not 0 <= e <= 16 for e in exponents):
            raise ValueError("exponents must lie between 0 and 16")
        return exponents


class Recovery(_Model):
    """Equation recovery of the identified terms against the system's true equations (evaluate/recovery.py)."""

    status: Literal["ok", "not_polynomial", "mismatch", "too_many_terms"]
    message: str = ""
    n_true: int | None = None
    n_identified: int | None = None
    n_correct: int | None = None
    precision: float | None = None
    recall: float | None = None
    coefficient_error: float | None = None
    max_term_error: float | None = None


class Record(_Model):
    """One forecast: a system and one test initial condition."""

    system: str
    ic: int = Field(ge=0)
    status: Status
    message: str = ""
    metrics: dict[str, float | None] = Field(default_factory=dict)
    # Metrics whose threshold was never crossed within the horizon: their value is the horizon, a lower bound.
    censored: list[str] = Field(default_factory=list)
    fit_seconds: float | None = None
    # What fit chose on held-out data (the forecaster's `fitted_params_`: a ridge, a lookback), per system.
    fitted_params: dict[str, bool | int | float | str | None] = Field(default_factory=dict)
    predict_seconds: float | None = None
    # Equation learners: the identified polynomial (at most MAX_TERMS terms) and its recovery score.
    equations: list[Term] | None = Field(default=None, max_length=MAX_TERMS)
    recovery: Recovery | None = None
    # The long free run of this initial condition (protocol 2), if the test split has them: its own status,
    # so that a forecaster too slow for it keeps its short-term scores; d_stsp and d_h come from it.
    long_status: Status | None = None
    long_message: str = ""
    long_seconds: float | None = None

    @field_validator("metrics")
    @classmethod
    def _finite_or_null(cls, metrics: dict[str, float | None]) -> dict[str, float | None]:
        # JSON has no NaN: an undefined metric is null.
        return {k: (None if v is None or not math.isfinite(v) else float(v)) for k, v in metrics.items()}


MAX_TRACE_POINTS = 100_000   # values of one packed array: bounds what a check decodes


class Packed(_Model):
    """A float array kept compactly: little-endian `dtype` values in base64; value = stored · scale + offset,
    with one scale and offset per coordinate (last axis) where given."""

    dtype: Literal["float16", "float32"]
    shape: list[int] = Field(min_length=1, max_length=2)
    data: str
    offset: list[float] | None = None
    scale: list[float] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Packed:
        if any(n < 1 for n in self.shape) or math.prod(self.shape) > MAX_TRACE_POINTS:
            raise ValueError(f"shape {self.shape}: each size must be positive and the array at most "
                             f"{MAX_TRACE_POINTS} values")
        try:
            raw = base64.b64decode(self.data, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("data is not base64") from None
        if len(raw) != math.prod(self.shape) * np.dtype(self.dtype).itemsize:
            raise ValueError(f"data holds {len(raw)} bytes, not the {math.prod(self.shape)} {self.dtype} values "
                             f"of shape {self.shape}")
        for name in ("offset", "scale"):
            given = getattr(self, name)
            if given is not None and (len(given) != self.shape[-1] or not all(map(math.isfinite, given))):
                raise ValueError(f"{name} must hold {self.shape[-1]} finite numbers, one per coordinate")
        if not np.all(np.isfinite(self.array())):
            raise ValueError("the array holds NaN or infinite values")
        return self

    def array(self) -> np.ndarray:
        """The values as float64, of `shape`."""
        stored = np.frombuffer(base64.b64decode(self.data), dtype=np.dtype(self.dtype).newbyteorder("<"))
        values = stored.astype(np.float64).reshape(self.shape)
        if self.scale is not None:
            values = values * np.asarray(self.scale)
        if self.offset is not None:
            values = values + np.asarray(self.offset)
        return values

    @classmethod
    def of(cls, values: np.ndarray, dtype: Literal["float16", "float32"], *, centre: bool = False) -> Packed:
        """Pack an array; `centre` first removes each coordinate's mean and divides by its spread, so that
        float16 keeps three digits of an attractor's size whatever its units."""
        values = np.asarray(values, dtype=np.float64)
        offset = scale = None
        if centre:
            mean, spread = values.mean(axis=0), values.std(axis=0)
            spread = np.where(spread > 0, spread, 1.0)
            values = (values - mean) / spread
            offset, scale = mean.tolist(), spread.tolist()
        stored = values.astype(np.dtype(dtype).newbyteorder("<"))
        return cls(dtype=dtype, shape=list(values.shape), data=base64.b64encode(stored.tobytes()).decode("ascii"),
                   offset=offset, scale=scale)


class Trace(_Model):
    """What a system's page draws for one forecaster (evaluate/traces.py): error growth, one forecast, one
    long free run. Each part is absent when no forecast (or long run) of the system succeeded."""

    error_stride: int = Field(default=1, ge=1)
    error: Packed | None = None        # (3, n): 25th, 50th, 75th percentile of e(t) every error_stride steps
    ic: int | None = Field(default=None, ge=0)   # the test initial condition whose forecast is kept
    forecast: Packed | None = None     # (horizon, dim), every step
    long_ic: int | None = Field(default=None, ge=0)
    long_stride: int = Field(default=1, ge=1)
    long_run: Packed | None = None     # (m, dim): every long_stride-th point after the discarded lead-in


class SystemSummary(_Model):
    """Per system: counts, its Lyapunov time, the median of each metric, and the truth-vs-truth floors."""

    system: str
    version: int | None = None
    lyapunov_time: float | None = None
    n_ok: int = 0
    n_failed: int = 0
    metrics: dict[str, float | None] = Field(default_factory=dict)     # median over ICs
    censored: list[str] = Field(default_factory=list)   # metrics whose median is a lower bound (see summary.py)
    floors: dict[str, float | None] = Field(default_factory=dict)      # truth vs truth (d_stsp, d_h)
    trace: Trace | None = None     # what the system page draws; absent in files made before it was kept


class Summary(_Model):
    """Over all systems: the leaderboard's headline numbers."""

    n_systems: int = 0
    failed_systems: int = 0               # systems with no successful forecast
    median: dict[str, float | None] = Field(default_factory=dict)   # median over systems of the per-system medians
    mean: dict[str, float | None] = Field(default_factory=dict)


class Results(_Model):
    """A complete results file."""

    schema_version: Literal[1] = SCHEMA_VERSION
    protocol: int = 1                     # absent in files made before protocol 2
    mode: Literal["per-system", "zero-shot", "predictions"]   # predictions: forecasts made elsewhere, replayed
    forecaster: ForecasterInfo
    dataset: DatasetInfo
    conventions: Conventions = Field(default_factory=Conventions)
    environment: Environment
    records: list[Record]
    systems: dict[str, SystemSummary]
    summary: Summary
    train_systems: list[str] = Field(default_factory=list)   # zero-shot: what it was fitted on
    train_data: TrainData | None = None   # zero-shot on another archive: which (train_systems are its systems)
    fit_seconds: float | None = None      # zero-shot: the one fit's wall time (per-system fits are in the records)

    @property
    def label(self) -> str:
        """The forecaster as tables name it: with the corpus it was pretrained on, if any (one model, several
        corpora, several rows)."""
        return f"{self.forecaster.name} ({self.train_data.config})" if self.train_data else self.forecaster.name


MAX_RESULTS_BYTES = 512 * 2**20   # far above a full board's file (a few MB); bounds what a check reads


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (json.loads would keep the last one silently)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice in one object")
        out[key] = value
    return out


def load_results(path: str | Path) -> Results:
    """Read and validate a results file; ResultsError names the file and the field."""
    path = Path(path)
    fix = "regenerate it with `dysts-bench evaluate`"
    try:
        if path.stat().st_size > MAX_RESULTS_BYTES:
            raise ResultsError(f"{path}: {path.stat().st_size} bytes, more than any results file "
                               f"({MAX_RESULTS_BYTES} at most); {fix}")
        text = path.read_bytes().decode("utf-8")
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such results file") from None
    except IsADirectoryError:
        raise ResultsError(f"{path}: a folder, not a results file; give the JSON files in it") from None
    except OSError as exc:
        raise ResultsError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ResultsError(f"{path}: not UTF-8 text (byte {exc.start}); results files are UTF-8 JSON: {fix}") from None
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg}); {fix}") from None
    except RecursionError:
        raise ResultsError(f"{path}: JSON nested too deeply for a results file; {fix}") from None
    except ValueError as exc:  # a duplicate key, or an integer of more digits than Python converts
        raise ResultsError(f"{path}: not a valid results file ({exc}); {fix}") from None
    try:
        return Results.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"field '{'.'.join(map(str, e['loc']))}': {e['msg']}" for e in exc.errors()[:10])
        raise ResultsError(f"{path}: does not follow the results schema: {problems}") from None
    except RecursionError:
        raise ResultsError(f"{path}: nested too deeply for the results schema; {fix}") from None


def save_results(results: Results, path: str | Path) -> Path:
    """Write a results file atomically (a killed run never leaves half a file)."""
    return write_atomic(path, results.model_dump_json(indent=1) + "\n")
