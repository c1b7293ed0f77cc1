"""Reading one spec file: size bound, safe and strict YAML, schema, and file-name consistency."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml
from pydantic import ValidationError

from ..errors import SpecError
from .schema import SystemSpec

MAX_SPEC_BYTES = 256 * 1024
# A spec nests four levels deep (references -> entry -> field); PyYAML composes nodes recursively, so
# deeper documents are refused before they can exhaust the stack.
MAX_YAML_DEPTH = 20
# Longer decimal integers cost quadratic time to convert and pass Python's 4,300-digit limit.
MAX_INTEGER_CHARS = 100


class _Refused(yaml.MarkedYAMLError):
    """YAML that is well formed but not allowed in a spec; `problem` holds the reason and the fix."""


class SpecLoader(yaml.SafeLoader):
    """PyYAML's safe loader, stricter: no duplicate keys, aliases or merge keys, bounded depth and integers."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        """Compose one node, refusing aliases (shared values) and nesting beyond MAX_YAML_DEPTH."""
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(problem=f"the alias *{event.anchor} is not allowed in a spec; write the value out",
                           problem_mark=event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _Refused(problem=f"values nested deeper than {MAX_YAML_DEPTH} levels; a spec needs at "
                               "most four (see systems/README.md)", problem_mark=event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        """A mapping; a repeated key (where YAML keeps the last one silently) is an error."""
        seen: dict[object, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _Refused(problem="the merge key '<<' is not allowed in a spec; write the fields out",
                               problem_mark=key_node.start_mark)
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                continue  # unhashable: SafeConstructor reports it
            if key in seen:
                first = seen[key].start_mark
                raise _Refused(problem=f"the key {repr(key)[:60]} appears twice (first at line {first.line + 1}); YAML "
                               "would keep the last one silently: remove one of them",
                               problem_mark=key_node.start_mark)
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)

    def construct_scalar(self, node: yaml.ScalarNode) -> str:
        """A scalar's text; refuses unpaired surrogates, which an escape like "\\ud800" can produce."""
        value = super().construct_scalar(node)
        bad = next((c for c in value if "\ud800" <= c <= "\udfff"), None)
        if bad is not None:
            raise _Refused(problem=f"the text holds the unpaired surrogate U+{ord(bad):04X}, which is not a "
                           "character; remove the escape", problem_mark=node.start_mark)
        return value

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        """An integer of at most MAX_INTEGER_CHARS characters."""
        text = self.construct_scalar(node)
        if len(text) > MAX_INTEGER_CHARS:
            raise _Refused(problem=f"an integer of {len(text)} characters, more than the limit of "
                           f"{MAX_INTEGER_CHARS}; write it as a float, e.g. 1.5e300", problem_mark=node.start_mark)
        return super().construct_yaml_int(node)


SpecLoader.add_constructor("tag:yaml.org,2002:int", SpecLoader.construct_yaml_int)


def spec_hash(path: Path) -> str:
    """SHA-256 of a spec file's bytes (what the lock file and sidecars record)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_spec(path: str | Path, *, check_location: bool = True) -> SystemSpec:
    """Read and validate one system spec; raise SpecError naming the file, the field and the fix."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: no such spec file; give the path of a systems/<Name>/<version>.yaml file")
    size = path.stat().st_size
    if size > MAX_SPEC_BYTES:
        raise SpecError(f"{path}: the file is {size} bytes, more than the limit of {MAX_SPEC_BYTES}; "
                        "a spec holds equations and parameters only")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SpecLoader)  # a SafeLoader: no code runs
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not UTF-8 text ({exc.reason}); save the file as UTF-8") from None
    except _Refused as exc:
        mark = exc.problem_mark
        raise SpecError(f"{path}: line {mark.line + 1}, column {mark.column + 1}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"{path}: YAML syntax error{where}: {problem}; fix the YAML "
                        "(check indentation and quote expressions that contain ':' or '#')") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: the file must hold a mapping of fields (name, version, state, ...), "
                        f"not {type(data).__name__}; see systems/README.md")
    try:
        spec = SystemSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"{path}: {_explain(exc)}") from None
    if check_location:
        if path.stem != str(spec.version):
            raise SpecError(f"{path}: field 'version' is {spec.version} but the file is named {path.name}; "
                            f"name the file {spec.version}.yaml or fix the version")
        if path.parent.name != spec.name:
            raise SpecError(f"{path}: field 'name' is {spec.name!r} but the folder is {path.parent.name!r}; "
                            "the folder must carry the system's name")
    return spec


def _explain(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field; remove it or check its spelling (see systems/README.md)"
        elif err["type"] == "missing":
            msg = "required field is missing; add it (see systems/README.md)"
        problems.append(f"field '{field}': {msg}")
    return "; ".join(problems)
