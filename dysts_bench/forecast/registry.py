"""Finding forecasters: by name through the `dysts_bench.forecasters` entry points, or by location.

`load_forecaster` accepts
- a registered name, e.g. "last-value" (any installed package may register more in its pyproject:
  `[project.entry-points."dysts_bench.forecasters"] my-model = "my_package.module:MyForecaster"`);
- "module:Class", e.g. "dysts_bench_forecasters.naive:LastValue";
- "path/to/file.py:Class", a class in a file that need not be installed.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import re
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import yaml

from ..imports import import_from_file
from .protocol import ForecasterError

ENTRY_POINT_GROUP = "dysts_bench.forecasters"
USER_MODULE_PREFIX = "dysts_bench_user_"  # modules loaded from file paths


class UnknownForecasterError(ForecasterError, KeyError):
    """No forecaster is registered under that name."""

    def __str__(self) -> str:
        # KeyError would print the repr of the message with quotes around it.
        return str(self.args[0]) if self.args else ""


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_forecasters() -> dict[str, str]:
    """Registered name -> "module:Class" for every installed forecaster, sorted by name."""
    return {name: ep.value for name, ep in sorted(_entry_points().items())}


def load_forecaster_class(spec: str) -> type:
    """The forecaster class named by a registered name, "module:Class" or "file.py:Class"."""
    location, sep, attr = spec.rpartition(":")
    # "C:\\x.py:Class" has two colons; a bare name has none.
    if not sep:
        cls = _load_entry_point(spec)
    elif location.endswith(".py") or "/" in location or "\\" in location:
        cls = getattr(_import_file(Path(location)), attr, None)
        if cls is None:
            raise ForecasterError(f"{location}: defines no {attr!r}; write {location}:ClassName "
                                  "with a class defined in that file")
    else:
        cls = _import_attr(location, attr, spec)
    _check_is_forecaster(cls, spec)
    return cls


def load_forecaster(spec: str, **params: Any) -> Any:
    """An instance of the forecaster named by `spec`, constructed with `params`."""
    cls = load_forecaster_class(spec)
    try:
        return cls(**params)
    except TypeError as exc:
        raise ForecasterError(f"{spec}: cannot construct {cls.__name__}({_fmt(params)}): {exc}") from None


class _ParamLoader(yaml.SafeLoader):
    """YAML 1.1 with YAML 1.2's floats: `1e-6` is a number (PyYAML alone reads it as a string)."""


_ParamLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def parse_params(items: list[str]) -> dict[str, Any]:
    """Command-line "key=value" pairs as a dict; values are read as YAML (numbers, booleans, lists)."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise ForecasterError(f"bad parameter {item!r}: write NAME=VALUE, e.g. seed=1")
        try:
            params[key] = yaml.load(value, Loader=_ParamLoader) if value else ""  # a SafeLoader: no code runs
        except yaml.YAMLError:
            params[key] = value
    return params


def _load_entry_point(name: str) -> type:
    eps = _entry_points()
    if name not in eps:
        close = difflib.get_close_matches(name, list(eps), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        known = ", ".join(sorted(eps)) or "none (is dysts-bench installed with `pip install -e .`?)"
        raise UnknownForecasterError(
            f"no forecaster registered as {name!r}{hint} Registered: {known}. "
            "Or give module:Class or path/to/file.py:Class"
        )
    try:
        return eps[name].load()
    except (ImportError, AttributeError) as exc:
        raise ForecasterError(f"forecaster {name!r} ({eps[name].value}) failed to load: {exc}") from exc


def _import_attr(module_name: str, attr: str, spec: str) -> type:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name or module_name.startswith(f"{exc.name}."):
            raise ForecasterError(f"{spec}: no module named {module_name!r}; install it or give "
                                  "path/to/file.py:Class") from None
        raise
    cls = getattr(module, attr, None)
    if cls is None:
        raise ForecasterError(f"{spec}: module {module_name!r} has no attribute {attr!r}")
    return cls


def _import_file(path: Path) -> Any:
    """The module in a file; inside a package folder (with __init__.py) it is imported as part of that
    package, so that its relative imports work."""
    if not path.is_file():
        raise ForecasterError(f"{path}: no such file; give path/to/file.py:ClassName")
    resolved = path.resolve()
    folder = resolved.parent
    if (folder / "__init__.py").is_file():
        package = _load_module(_module_name(folder), folder / "__init__.py", folder)
        return importlib.import_module(f"{package.__name__}.{resolved.stem}")
    return _load_module(_module_name(resolved), resolved)


def _module_name(path: Path) -> str:
    # Stable and unique per file: classes pickle by reference once their module is imported.
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    return f"{USER_MODULE_PREFIX}{path.stem}_{digest}"


def _load_module(name: str, file: Path, package_folder: Path | None = None) -> Any:
    try:
        return import_from_file(name, file, package_folder)
    except ImportError as exc:
        if exc.name is not None:  # the file imports something missing: that is the user's error to see
            raise
        raise ForecasterError(str(exc)) from None


def _check_is_forecaster(cls: Any, spec: str) -> None:
    if not isinstance(cls, type):
        raise ForecasterError(f"{spec}: is a {type(cls).__name__}, not a class")
    missing = [m for m in ("fit", "predict") if not callable(getattr(cls, m, None))]
    if missing:
        raise ForecasterError(f"{spec}: {cls.__name__} lacks {' and '.join(missing)}; a forecaster "
                              "defines fit(series, *, dt) -> self and predict(context, horizon)")


def _fmt(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items())
