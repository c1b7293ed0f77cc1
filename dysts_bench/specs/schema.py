"""The schema of a system spec (one YAML file per system version), validated with pydantic."""

from __future__ import annotations

import keyword
import math
import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from ..compile.expr import CONSTANTS, FUNCTIONS, TIME

SCHEMA_VERSION = 1
# ASCII only: Python folds identifiers by NFKC, so a long s "ſin" would run as sin and "ｘ" as x.
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*", re.ASCII)
MAX_NAME_CHARS = 64
RESERVED = {TIME, *CONSTANTS, *FUNCTIONS}
# Links the site renders come from pull requests: only web addresses, and none of the characters
# that could end an HTML attribute or that browsers drop before reading the scheme (spaces, controls).
_WEB_URL = re.compile(r"https?://[^\x00-\x20\x7f\s\"'<>\\`]+", re.IGNORECASE)
# A DOI's suffix may hold almost anything (10.1175/...<0130:DNF>2.0.CO;2); the site percent-encodes it.
_DOI = re.compile(r"10\.\d{4,9}/[^\x00-\x20\x7f\s\"'\\`]+")


def _check_identifier(name: str, what: str) -> str:
    if len(name) > MAX_NAME_CHARS:
        raise ValueError(f"{what} {name[:20]!r}... is {len(name)} characters long, more than the limit of "
                         f"{MAX_NAME_CHARS}: shorten it")
    # fullmatch: with match and "$", a name ending in a newline would pass.
    if not _IDENTIFIER.fullmatch(name) or "__" in name:
        raise ValueError(f"{what} {name!r} is not a valid name: use ASCII letters, digits and single "
                         "underscores, starting with a letter")
    if keyword.iskeyword(name) or name in RESERVED:
        raise ValueError(f"{what} {name!r} is reserved (a keyword, t, pi or a function name): rename it")
    return name


def is_web_url(url: object) -> bool:
    """Whether `url` is an http(s) address with a host and no whitespace, quotes or angle brackets."""
    if not isinstance(url, str) or not _WEB_URL.fullmatch(url):
        return False
    try:
        return bool(urlsplit(url).hostname)
    except ValueError:   # a malformed host, e.g. an unclosed IPv6 bracket
        return False


def is_doi(doi: object) -> bool:
    """Whether `doi` is a bare DOI, 10.NNNN/suffix, without whitespace or quotes."""
    return isinstance(doi, str) and _DOI.fullmatch(doi) is not None


def _finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value}; give a finite value "
                         "(YAML reads .inf and .nan as infinity and not-a-number)")
    return value


class Reference(BaseModel):
    """A published source for the system."""

    model_config = ConfigDict(extra="forbid")
    citation: str = Field(min_length=1)
    doi: str | None = None
    url: str | None = None

    @field_validator("doi")
    @classmethod
    def _doi(cls, doi: str | None) -> str | None:
        if doi is not None and not is_doi(doi):
            raise ValueError(f"{doi!r} is not a DOI: give it bare, as 10.NNNN/suffix without spaces or quotes "
                             "(not https://doi.org/...; the site makes the link), or put a web address under url")
        return doi

    @field_validator("url")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        if url is not None and not is_web_url(url):
            raise ValueError(f"{url!r} is not a web address: give an https:// (or http://) URL with a host, "
                             "percent-encoding any spaces, quotes or angle brackets, or give a DOI under doi")
        return url


class Delay(BaseModel):
    """The lags of a delay differential equation and its history before t = 0."""

    model_config = ConfigDict(extra="forbid")
    lags: list[str] = Field(min_length=1)
    history: Literal["constant"] = "constant"


class SystemSpec(BaseModel):
    """One version of one system: equations, parameters, initial condition and metadata."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Z][A-Za-z0-9_]*$", max_length=64)
    version: int = Field(ge=1)
    description: str = Field(min_length=1)
    state: list[str] = Field(min_length=1, max_length=1000)
    parameters: dict[str, float] = Field(default_factory=dict)
    auxiliary: dict[str, str] = Field(default_factory=dict)
    equations: dict[str, str]
    initial_condition: list[float]
    dt: float = Field(gt=0)
    period: float | None = Field(default=None, gt=0)
    references: list[Reference] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    non_autonomous: bool = False
    hamiltonian: bool = False
    delay: Delay | None = None
    # Generated systems (`dysts-bench systems generate`): parents, perturbation or coupling, seed, generator version.
    provenance: dict[str, str | int | float | list[str]] | None = None

    @field_validator("state")
    @classmethod
    def _states(cls, names: list[str]) -> list[str]:
        for n in names:
            _check_identifier(n, "state name")
        if len(set(names)) != len(names):
            raise ValueError("state names must be distinct")
        return names

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, params: dict[str, float]) -> dict[str, float]:
        for n, v in params.items():
            _check_identifier(n, "parameter")
            _finite(v, f"parameter {n!r}")
        return params

    @field_validator("auxiliary", "equations", mode="before")
    @classmethod
    def _numbers_as_text(cls, mapping: object) -> object:
        # YAML reads `z: 1` as a number; an equation is text.
        if isinstance(mapping, dict):
            return {k: str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
                    for k, v in mapping.items()}
        return mapping

    @field_validator("auxiliary")
    @classmethod
    def _auxiliary(cls, aux: dict[str, str]) -> dict[str, str]:
        for n in aux:
            _check_identifier(n, "auxiliary name")
        return aux

    @field_validator("dt", "period")
    @classmethod
    def _finite_times(cls, value: float | None, info: ValidationInfo) -> float | None:
        return value if value is None else _finite(value, info.field_name)

    @field_validator("initial_condition")
    @classmethod
    def _initial_condition(cls, values: list[float]) -> list[float]:
        for i, v in enumerate(values):
            _finite(v, f"initial_condition[{i}]")
        return values

    @model_validator(mode="after")
    def _consistent(self) -> SystemSpec:
        if list(self.equations) != self.state:
            missing = [s for s in self.state if s not in self.equations]
            extra = [e for e in self.equations if e not in self.state]
            if missing or extra:
                raise ValueError(
                    f"equations must give one right-hand side per state name; missing {missing}, "
                    f"not a state {extra}"
                )
            raise ValueError(f"equations must be in the order of the state names {self.state}")
        if len(self.initial_condition) != len(self.state):
            raise ValueError(
                f"initial_condition has {len(self.initial_condition)} values but there are "
                f"{len(self.state)} state names {self.state}: give one value per state"
            )
        seen: dict[str, str] = {}
        for kind, names in (("state", self.state), ("parameter", self.parameters),
                            ("auxiliary", self.auxiliary)):
            for n in names:
                if n in seen:
                    raise ValueError(f"the name {n!r} is both a {seen[n]} and a {kind}: rename one")
                seen[n] = kind
        if self.delay is not None:
            for lag in self.delay.lags:
                if lag not in self.parameters:
                    raise ValueError(f"delay lag {lag!r} is not a parameter: add it under parameters")
                if self.parameters[lag] <= 0:
                    raise ValueError(f"delay lag {lag!r} must be positive")
        return self
