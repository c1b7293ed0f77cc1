"""`System`: one version of one chaotic system, with its compiled vector field and Jacobian."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from .compile.program import Program, build_program
from .errors import DystsBenchError
from .specs.invariants import Invariants
from .specs.loader import load_spec, spec_hash
from .specs.registry import check_lock, parse_id, spec_path, versions
from .specs.schema import SystemSpec


class System:
    """A system of the registry: metadata from its spec, compiled `rhs` and `jacobian`."""

    def __init__(self, spec: SystemSpec, *, path: Path | None = None, program: Program | None = None,
                 params: dict[str, float] | None = None):
        self.spec = spec
        self.path = path
        self.program = program or build_program(spec, str(path or f"<{spec.name}>"))
        values = dict(spec.parameters if params is None else params)
        # Read-only: the compiled parameter array and the delay lags are derived from these, so that they can
        # never disagree; `with_params` makes a system with other values.
        self._params: Mapping[str, float] = MappingProxyType(values)
        self._param_array = np.array([values[p] for p in self.program.params], dtype=float)

    @classmethod
    def from_file(cls, path: str | Path) -> System:
        """Load, validate and check a spec file (not necessarily in the registry)."""
        path = Path(path)
        return cls(load_spec(path), path=path)

    @property
    def params(self) -> Mapping[str, float]:
        """The parameter values (read-only)."""
        return self._params

    @property
    def param_array(self) -> np.ndarray:
        """The parameter values in the compiled code's order (a copy: changing it changes no system)."""
        return self._param_array.copy()

    @property
    def timescale(self) -> float:
        """The time scale integrations and estimators are set by: the spec's period, else 1000·dt."""
        return float(self.period or 1000 * self.dt)

    name = property(lambda self: self.spec.name, doc="The system's name.")
    version = property(lambda self: self.spec.version, doc="The spec version.")
    description = property(lambda self: self.spec.description, doc="What the system models.")
    dt = property(lambda self: self.spec.dt, doc="Recommended integration/output step.")
    period = property(lambda self: self.spec.period, doc="Dominant period hint, or None.")

    @property
    def dim(self) -> int:
        """The number of state variables."""
        return self.program.dim

    @property
    def state_names(self) -> tuple[str, ...]:
        """The state variables' names, in order."""
        return self.program.states

    @property
    def initial_condition(self) -> np.ndarray:
        """The default initial condition (a fresh copy)."""
        return np.array(self.spec.initial_condition, dtype=float)

    @property
    def delay_lags(self) -> dict[str, float]:
        """Lag name -> value for delay equations; empty for ODEs."""
        return {lag: self.params[lag] for lag in self.program.lags}

    @property
    def non_smooth(self) -> bool:
        """Whether the vector field uses non-smooth functions (no Jacobian-based invariants)."""
        return self.program.non_smooth

    @property
    def non_autonomous(self) -> bool:
        """Whether the vector field depends on time (explicitly or through a forcing phase)."""
        return self.spec.non_autonomous or self.program.uses_time

    @property
    def hamiltonian(self) -> bool:
        """Whether the system is Hamiltonian (conservative)."""
        return self.spec.hamiltonian

    @cached_property
    def spec_hash(self) -> str:
        """SHA-256 of the spec file (empty for specs built in memory)."""
        return spec_hash(self.path) if self.path else ""

    @property
    def rhs_function(self) -> Any:
        """The jitted `rhs_ptr(x, t, p, out)` over pointers that the integration kernels call."""
        return self.program.rhs_module.rhs_ptr

    @property
    def array_rhs_function(self) -> Any:
        """The same jitted right-hand side over arrays, `rhs(x, t, p, out)`, callable from Python."""
        return self.program.rhs_module.rhs

    @property
    def jacobian_function(self) -> Any:
        """The jitted `jac(x, t, p, out)` (out of shape (dim, dim))."""
        return self.program.jacobian_module.jac

    def rhs(self, x: np.ndarray, t: float = 0.0) -> np.ndarray:
        """The vector field at state x and time t, shape (dim,).

        For delay equations x may also hold, after the current state, the delayed state for each lag
        (in the order of `delay.lags`); given only the current state, the delayed states equal it.
        """
        x = np.ascontiguousarray(x, dtype=float)
        n_inputs = self.dim * (1 + len(self.program.lags))
        if x.shape == (self.dim,) and n_inputs > self.dim:
            x = np.tile(x, 1 + len(self.program.lags))
        if x.shape != (n_inputs,):
            raise DystsBenchError(f"{self.name}: rhs takes a state of shape ({n_inputs},), got {x.shape}")
        out = np.empty(self.dim)
        self.array_rhs_function(x, float(t), self._param_array, out)
        return out

    def jacobian(self, x: np.ndarray, t: float = 0.0) -> np.ndarray:
        """d rhs / d x at state x and time t, shape (dim, dim) (almost everywhere for non-smooth systems)."""
        x = np.ascontiguousarray(x, dtype=float)
        if x.shape != (self.dim,):
            raise DystsBenchError(f"{self.name}: jacobian takes a state of shape ({self.dim},), got {x.shape}")
        out = np.empty((self.dim, self.dim))
        self.jacobian_function(x, float(t), self._param_array, out)
        return out

    def with_params(self, **params: float) -> System:
        """A copy with some parameters changed (the compiled code is shared)."""
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise DystsBenchError(
                f"{self.name}: unknown parameter(s) {unknown}; its parameters are {sorted(self.params)}"
            )
        return System(self.spec, path=self.path, program=self.program,
                      params={**self.params, **{k: float(v) for k, v in params.items()}})

    @property
    def sidecar_path(self) -> Path | None:
        """Where the generated invariants of this version live."""
        return self.path.with_name(f"{self.version}.invariants.json") if self.path else None

    @cached_property
    def invariants(self) -> Invariants:
        """The invariants sidecar's record (read once); see `read_invariants`."""
        return self.read_invariants()

    def read_invariants(self) -> Invariants:
        """The invariants sidecar read afresh, validated; none if not computed yet (or for parameters other
        than the spec's, which it was not computed for). A sidecar of another version of the spec, or one
        that is not a sidecar, is an error naming the file and the command that regenerates it."""
        path = self.sidecar_path
        if path is None or not path.exists() or dict(self.params) != dict(self.spec.parameters):
            return Invariants()
        regenerate = f"dysts-bench invariants {self.name}@{self.version} --write"
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError, RecursionError) as exc:  # unreadable, not UTF-8 or JSON, nested too deep
            raise DystsBenchError(f"{path}: not a readable invariants sidecar ({exc}); regenerate it with "
                                  f"`{regenerate}`") from None
        record = Invariants.parse(data, str(path), regenerate)
        if record.spec_hash is not None and record.spec_hash != self.spec_hash:   # hand-written: none
            raise DystsBenchError(f"{path}: computed for another version of the spec (its spec_hash differs); "
                                  f"regenerate it with `{regenerate}`")
        return record

    def __repr__(self) -> str:
        return f"<System {self.name}@{self.version} dim={self.dim}>"


def list_systems() -> list[str]:
    """The names of all systems in the registry, sorted."""
    return sorted(versions())


def get_system(name: str, version: int | None = None) -> System:
    """A system of the registry by name, its latest version unless `version` is given.

    `name` may also be written "Name@version". Unknown names raise UnknownSystemError with close matches.
    """
    name, given = parse_id(name)
    path = spec_path(name, version if version is not None else given)
    check_lock(path)
    return System.from_file(path)
