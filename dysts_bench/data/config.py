"""Dataset configs: which systems, how they are sampled, and the splits of initial conditions.

A config is a YAML file validated by `DatasetConfig`; the released ones live in `data/configs/`.
Times (transient, attractor length) are counted in the config's unit, the period or the Lyapunov
time of each system, so that every system is sampled alike whatever its own time scale.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import UnknownSystemError
from ..integrate.tableaus import TABLEAUS
from ..specs.registry import refresh, spec_path, versions
from ..system import list_systems
from .errors import DatasetConfigError

CONFIG_DIR = Path(__file__).resolve().parents[1] / "_data" / "configs"
MAX_CONFIG_BYTES = 100_000
_SPLIT_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
# Fields that change no array: left out of the config hash so that editing them keeps an archive valid.
_NOT_HASHED = {"name", "description", "mirror"}


class Sampling(BaseModel):
    """The output step: so many points per period or per Lyapunov time of each system."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    unit: Literal["period", "lyapunov_time"] = Field(
        description="period: from the invariants sidecar, else the spec's hint; lyapunov_time: 1/λ_max "
                    "from the invariants sidecar")
    points_per_unit: float = Field(gt=0, le=1e6)
    period_source: Literal["invariants", "spec"] = Field(
        default="invariants",
        description="for unit period: the sidecar's measured period (the spec's hint where there is no "
                    "sidecar), or always the spec's hint, which never changes with a spec version")
    min_points_per_period: float | None = Field(
        default=None, gt=0, le=1e6,
        description="for unit lyapunov_time: leave out (status undersampled) a system whose sampling gives "
                    "fewer points per period (the sidecar's) than this")


class Integrator(BaseModel):
    """The solver and its tolerances."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    method: str = "dop853"
    rtol: float = Field(default=1e-10, gt=0, lt=1)
    atol: float = Field(default=1e-10, gt=0, lt=1)
    h: float | None = Field(default=None, gt=0, description="a fixed step, for fixed-step methods")
    max_steps: int = Field(default=10_000_000, gt=0)

    @field_validator("method")
    @classmethod
    def _known_method(cls, method: str) -> str:
        if method not in TABLEAUS:
            raise ValueError(f"unknown method {method!r}; choose one of {sorted(TABLEAUS)}")
        return method

    @model_validator(mode="after")
    def _step_given(self) -> Integrator:
        if not TABLEAUS[self.method].adaptive and self.h is None:
            raise ValueError(f"method {self.method!r} has a fixed step: give `h` too")
        return self


class LongTerm(BaseModel):
    """How a split's long-term statistics are measured: long free runs from the first `n_ic` contexts."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    n_ic: int = Field(ge=2, le=1000, description="initial conditions with a long run (at least two: the "
                                                 "truth-vs-truth floor compares pairs of them)")
    length: int = Field(ge=100, le=10_000_000, description="points forecast after the context")
    discard: int = Field(ge=0, description="leading points of the run left out of the statistics")

    @model_validator(mode="after")
    def _something_left(self) -> LongTerm:
        if self.length - self.discard < 100:
            raise ValueError(f"length - discard = {self.length - self.discard} points: keep at least 100 for "
                             "the statistics")
        return self


class Split(BaseModel):
    """One split: its number of initial conditions and the length of each trajectory in points."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    n_ic: int = Field(ge=1, le=100_000)
    length: int = Field(ge=2, le=10_000_000)
    points_per_unit: float | None = Field(
        default=None, gt=0, le=1e6, description="overrides sampling.points_per_unit for this split")
    context: int | None = Field(default=None, ge=1, description="points a forecaster sees")
    horizon: int | None = Field(default=None, ge=1, description="points it forecasts after the context")
    long_term: LongTerm | None = Field(
        default=None, description="long free runs for D_stsp and D_H; the archive holds their true "
                                  "continuations as `<split>_long`")

    @model_validator(mode="after")
    def _window_fits(self) -> Split:
        if (self.context is None) != (self.horizon is None):
            raise ValueError("give both `context` and `horizon`, or neither")
        if self.context is not None and self.context + self.horizon > self.length:
            raise ValueError(f"context + horizon = {self.context + self.horizon} exceeds length = "
                             f"{self.length}: lengthen the split or shorten the window")
        if self.long_term is not None:
            if self.context is None:
                raise ValueError("`long_term` runs start from the split's context: give `context` and `horizon`")
            if self.long_term.n_ic > self.n_ic:
                raise ValueError(f"long_term.n_ic = {self.long_term.n_ic} exceeds the split's n_ic = {self.n_ic}")
        return self


class Generated(BaseModel):
    """New systems made by `dysts-bench systems generate`, given by their recipe: the same recipe makes the same
    systems, so a corpus of thousands is reproducible without committing their specs."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    n: int = Field(ge=1, le=100_000, description="systems accepted by the chaos filter")
    seed: int = Field(ge=0, lt=2**63)
    exclude_parents: list[str] = Field(
        default_factory=list,
        description="registry systems, or @SUBSET for a committed subset, that no generated system derives from: "
                    "the systems a model trained on the corpus is scored on zero-shot")
    scale: float = Field(default=0.1, gt=0, le=1, description="perturbations: each parameter times 1 + scale·N(0, 1)")
    strength: float = Field(default=0.5, gt=0, le=10, description="skew products: the coupling's relative strength")


class DatasetConfig(BaseModel):
    """A dataset: systems, sampling, the attractor initial conditions are drawn from, and the splits."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)
    description: str = ""
    seed: int = Field(ge=0, lt=2**63)
    systems: Literal["all", "generated"] | list[str] = Field(
        description="'all', a list of registry names, or 'generated' (new systems, made as `generated` says)")
    generated: Generated | None = Field(default=None, description="the recipe of the systems, for `systems: "
                                                                   "generated`")
    sampling: Sampling
    transient: float = Field(ge=0, description="units integrated from the default initial condition "
                                                "before initial conditions are drawn")
    attractor_length: float = Field(gt=0, description="units of attractor trajectory, one candidate "
                                                      "initial condition per unit")
    noise: float = Field(default=0.0, ge=0, description="observation noise: Gaussian, its standard "
                                                        "deviation this fraction of each coordinate's")
    splits: dict[str, Split] = Field(min_length=1)
    integrator: Integrator = Integrator()
    mirror: str | None = Field(default=None, description="base URL of published archives")

    @field_validator("systems")
    @classmethod
    def _distinct(cls, systems: str | list[str]) -> str | list[str]:
        if isinstance(systems, list):
            if not systems:
                raise ValueError("list at least one system, or write `all`")
            doubles = sorted({s for s in systems if systems.count(s) > 1})
            if doubles:
                raise ValueError(f"systems listed twice: {doubles}")
        return systems

    @model_validator(mode="after")
    def _recipe_given(self) -> DatasetConfig:
        if (self.systems == "generated") != (self.generated is not None):
            raise ValueError("give `generated: {n: ..., seed: ...}` with `systems: generated`, and only then")
        return self

    @field_validator("splits")
    @classmethod
    def _split_names(cls, splits: dict[str, Split]) -> dict[str, Split]:
        for name in splits:
            if not _SPLIT_NAME.match(name) or name.endswith(("_clean", "_long")):
                raise ValueError(f"split name {name!r}: use lower-case letters, digits and single "
                                 "underscores, not ending in _clean or _long")
        return splits

    @model_validator(mode="after")
    def _enough_candidates(self) -> DatasetConfig:
        n = self.n_initial_conditions
        if self.attractor_length < n:
            raise ValueError(f"attractor_length = {self.attractor_length:g} units offers fewer candidate "
                             f"initial conditions (one per unit) than the {n} the splits need: raise it "
                             f"to at least {n}")
        return self

    @property
    def n_initial_conditions(self) -> int:
        """The number of initial conditions drawn per system, all splits together."""
        return sum(s.n_ic for s in self.splits.values())

    def points_per_unit(self, split: str) -> float:
        """The sampling density of a split (its own, else the config's)."""
        return self.splits[split].points_per_unit or self.sampling.points_per_unit

    def system_names(self, generated: Path | None = None) -> list[str]:
        """The systems to generate, in order: the whole registry for `all`; for `generated`, those in the folder
        they were generated into."""
        if self.systems == "generated":
            if generated is None:
                raise DatasetConfigError(f"config {self.name!r} has generated systems: give their folder")
            refresh()  # the folder may have gained systems since it was last listed
            return sorted(versions(generated))
        return list_systems() if self.systems == "all" else list(self.systems)

    def subset(self, systems: list[str] | None = None, splits: list[str] | None = None) -> DatasetConfig:
        """The same config restricted to some systems and/or splits (another config hash)."""
        update: dict = {}
        if systems is not None:
            if self.systems == "generated":
                raise DatasetConfigError(f"config {self.name!r} has generated systems: choose fewer by its "
                                         "`generated.n`, not by listing systems")
            update["systems"] = list(systems)
        if splits is not None:
            unknown = [s for s in splits if s not in self.splits]
            if unknown:
                raise DatasetConfigError(f"config {self.name!r} has no split {unknown}; its splits are "
                                         f"{list(self.splits)}")
            update["splits"] = {s: self.splits[s] for s in splits}
        return _validated({**self.model_dump(), **update}, f"config {self.name!r}")

    def content(self) -> dict:
        """The fields that determine the arrays, as plain JSON data."""
        # `generated` is left out where it is unset, so that configs of registry systems keep the hashes they
        # had before it existed (the committed manifests and results name them).
        unset = {"generated"} if self.generated is None else set()
        return self.model_dump(mode="json", exclude=_NOT_HASHED | unset)

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical JSON of `content()`."""
        text = json.dumps(self.content(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def released_configs() -> list[str]:
    """The names of the configs shipped in data/configs."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def config_path(name_or_path: str | Path) -> Path:
    """The file of a released config name, or the given path if it is a file."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise DatasetConfigError(f"{path}: no such config file")
        return path
    released = released_configs()
    if str(name_or_path) not in released:
        close = difflib.get_close_matches(str(name_or_path), released, n=2)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise DatasetConfigError(f"unknown dataset config {str(name_or_path)!r}{hint} (released: "
                                 f"{', '.join(released)}; or give the path of a YAML file)")
    return CONFIG_DIR / f"{name_or_path}.yaml"


def load_config(name_or_path: str | Path | DatasetConfig) -> DatasetConfig:
    """A validated config from a released name or a YAML path (a DatasetConfig passes through)."""
    if isinstance(name_or_path, DatasetConfig):
        return name_or_path
    path = config_path(name_or_path)
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise DatasetConfigError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes; is it a config?")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise DatasetConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise DatasetConfigError(f"{path}: a config is a mapping of fields (name, systems, sampling, ...)")
    config = _validated(raw, str(path))
    _check_systems(config, str(path))
    return config


def _validated(raw: dict, origin: str) -> DatasetConfig:
    try:
        return DatasetConfig.model_validate(raw)
    except ValidationError as exc:
        raise DatasetConfigError(f"{origin}: " + "; ".join(_describe(e) for e in exc.errors())) from None


def _describe(error: dict) -> str:
    """One pydantic error as 'field a.b: message (fix)'."""
    # Union members and validators appear in locations as type tags (list[str], function-after[...]).
    loc = ".".join(str(p) for p in error["loc"] if "[" not in str(p))
    if error["type"] == "extra_forbidden":
        model = _model_at(error["loc"][:-1])
        allowed = f" (allowed: {', '.join(model.model_fields)})" if model else ""
        return f"unknown field {loc!r}{allowed}"
    if error["type"] == "missing":
        return f"field {loc!r} is required"
    return f"field {loc!r}: {error['msg'].removeprefix('Value error, ')}"


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The model class whose fields live at this location of a config."""
    model: type[BaseModel] = DatasetConfig
    for part in loc:
        if model is DatasetConfig and part == "splits":
            return None if loc[-1] == "splits" else Split
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _check_systems(config: DatasetConfig, origin: str) -> None:
    if config.generated is not None:
        field, names = "generated.exclude_parents", config.generated.exclude_parents
    else:
        field, names = "systems", [] if config.systems == "all" else config.systems
    for i, name in enumerate(names):
        try:
            if not name.startswith("@"):  # a committed subset's name is checked where it is read
                spec_path(name)
        except UnknownSystemError as exc:
            raise DatasetConfigError(f"{origin}: field '{field}[{i}]': {exc}") from None
