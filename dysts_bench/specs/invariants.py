"""The typed record of a registry system's invariants sidecar, `systems/<Name>/<version>.invariants.json`.

The sidecar is a registry file beside the spec, so its format lives here with the spec's schema;
`invariants/sidecar.py` computes and writes it, `System.invariants` loads it once, validated and checked
against the spec's hash, and every reader (sampling, evaluation, the site, the reports) uses these fields.
Hand-written sidecars (tests, a contributor's first draft) may hold only some quantities: a missing one
is None, as is an invariant whose estimate failed.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import DystsBenchError

Number = float | list[float | None] | None


class Quantity(BaseModel):
    """One estimated invariant: value (a number, or a list for a spectrum), its standard error, provenance."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: Number = None
    stderr: Number = None
    method: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    note: str | None = None
    error: str | None = None  # why the estimate failed (value is then None)

    @property
    def scalar(self) -> float | None:
        """The value if it is a finite number, else None."""
        v = self.value
        return float(v) if isinstance(v, int | float) and math.isfinite(v) else None


class Period(Quantity):
    """The dominant period, beside the spec's hint it was compared with."""

    spec_period: float | None = None


class Spectrum(Quantity):
    """The Lyapunov spectrum, with the checks of its sum against the mean trace of the Jacobian."""

    sum: float | None = None
    jacobian_trace_mean: float | None = None
    jacobian_trace_stderr: float | None = None


class LargestExponent(Quantity):
    """λ_max, with the verdict on chaos drawn from it."""

    zero_tolerance: float | None = None
    chaos: str | None = None
    chaos_reason: str | None = None
    chaotic: bool | None = None
    d0_spread: dict[str, Any] | None = None


class Sampling(Quantity):
    """The ideal sampling interval (PECCARY) and the natural timescales it was drawn from."""

    natural_time: float | None = None
    natural_times: list[float | None] | None = None
    recommended_dt: float | None = None
    pattern_time_ratio: Any = None


class Invariants(BaseModel):
    """A system's invariants as stored in its sidecar; `Invariants()` is a system with none computed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    system: str | None = None
    version: int | None = None
    spec_hash: str | None = None  # of the spec file the invariants were computed for; hand-written: none
    package_version: str | None = None
    date: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    period: Period | None = None
    lyapunov_spectrum: Spectrum | None = None
    lyapunov_max: LargestExponent | None = None
    lyapunov_time: Quantity | None = None
    kaplan_yorke_dimension: Quantity | None = None
    correlation_dimension: Quantity | None = None
    permutation_entropy: Quantity | None = None
    statistical_complexity: Quantity | None = None
    ideal_sampling: Sampling | None = None
    chaotic: bool | None = None
    chaos: str | None = None  # "chaotic", "marginal", "not_chaotic" (invariants/lyapunov.chaos_class)
    errors: dict[str, str] = Field(default_factory=dict)
    compute_seconds: float | None = None

    @classmethod
    def parse(cls, data: Any, where: str, regenerate: str) -> Invariants:
        """The record of a sidecar's JSON data; a DystsBenchError naming `where` and the fix if it is not one."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "(top level)"
            raise DystsBenchError(f"{where}: not an invariants sidecar ({field}: {first['msg']}); regenerate it "
                                  f"with `{regenerate}`") from None

    @property
    def computed(self) -> bool:
        """Whether any invariant is known."""
        return bool(self.quantities())

    def quantities(self) -> dict[str, Quantity]:
        """The estimated invariants present, by sidecar key, in the sidecar's order."""
        return {k: v for k in type(self).model_fields if isinstance(v := getattr(self, k), Quantity)}

    def scalar(self, key: str) -> float | None:
        """A scalar invariant's finite value by sidecar key (e.g. "lyapunov_max"), or None if unknown."""
        entry = getattr(self, key, None)
        return entry.scalar if isinstance(entry, Quantity) else None

    def to_dict(self) -> dict[str, Any]:
        """The sidecar's JSON data (the fields it was read with)."""
        return self.model_dump(exclude_unset=True)

    # Read-only dict access to the sidecar's JSON data, the interface `System.invariants` had before it was
    # typed (`s.invariants["lyapunov_max"]["value"]`, `s.invariants == {}`): code outside the package uses it.
    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def get(self, key: str, default: Any = None) -> Any:
        """The sidecar's entry `key` as JSON data, or default."""
        return self.to_dict().get(key, default)

    def keys(self) -> list[str]:
        """The sidecar's top-level keys."""
        return list(self.to_dict())

    def __contains__(self, key: object) -> bool:
        return key in self.to_dict()

    def __len__(self) -> int:
        return len(self.model_fields_set)

    def __bool__(self) -> bool:
        return bool(self.model_fields_set)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Invariants):
            return self.to_dict() == other.to_dict()
        return self.to_dict() == other if isinstance(other, dict) else NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to a dict, so not hashable
