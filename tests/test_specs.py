"""System specs: schema errors name the file, the field and the fix; the registry finds versions."""

from __future__ import annotations

import json

import numpy as np
import pytest

import dysts_bench as db
from dysts_bench.cli import main
from dysts_bench.specs import registry
from dysts_bench.specs.loader import MAX_SPEC_BYTES, load_spec
from dysts_bench.system import System

from .conftest import LORENZ_SPEC
from .hostile_specs import REFUSED_ON_LOAD


def test_valid_spec_loads(lorenz_spec):
    s = System.from_file(lorenz_spec)
    assert (s.name, s.version, s.dim, s.state_names) == ("Toy", 1, 3, ("x", "y", "z"))
    np.testing.assert_allclose(s.rhs([1.0, 2.0, 3.0]), [10.0, 1 * 25 - 2, 2 - 8.0])


def _broken(replace: str, by: str) -> str:
    text = LORENZ_SPEC.format(name="Toy")
    assert replace in text
    return text.replace(replace, by)


BROKEN = {
    "yaml syntax": (_broken("state: [x, y, z]", "state: [x, y, z"), "YAML syntax error at line"),
    "not a mapping": ("- just\n- a list\n", "must hold a mapping"),
    "missing field": (_broken("dt: 0.01\n", ""), "field 'dt': required field is missing"),
    "extra field": (_broken("dt: 0.01", "dt: 0.01\ncolour: blue"), "field 'colour': unknown field"),
    "wrong dimension": (_broken("[-9.79, -15.04, 20.53]", "[1.0, 2.0]"), "initial_condition has 2 values"),
    "equation missing": (_broken("  z: x * y - beta * z\n", ""), "missing ['z']"),
    "undefined name": (_broken("sigma * (y - x)", "sigma * (y - w)"), "undefined name 'w'"),
    "non-finite number": (_broken("rho: 28.0", "rho: .nan"), "must be a finite number"),
    "infinite ic": (_broken("[-9.79, -15.04, 20.53]", "[-9.79, .inf, 20.53]"), "initial_condition[1]"),
    "text parameter": (_broken("rho: 28.0", "rho: 28/3"), "field 'parameters.rho'"),
    "reserved name": (_broken("rho: 28.0", "sin: 28.0"), "reserved"),
    "duplicate state": (_broken("state: [x, y, z]", "state: [x, x, z]"), "distinct"),
    "negative dt": (_broken("dt: 0.01", "dt: -1"), "field 'dt'"),
    "import": (_broken("sigma * (y - x)", "__import__('os').getcwd()"), "only calls of named functions"),
    "attribute": (_broken("sigma * (y - x)", "x.real"), "attribute access"),
    "lambda": (_broken("sigma * (y - x)", "'(lambda: 0)()'"), "only calls of named functions"),
    "huge exponent": (_broken("sigma * (y - x)", "x ** 100000"), "exponent"),
    "wrong version": (_broken("version: 1", "version: 2"), "name the file 2.yaml"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_specs_raise_spec_error_naming_the_file(write_spec, case):
    text, expected = BROKEN[case]
    path = write_spec(text)
    with pytest.raises(db.SpecError) as info:
        System.from_file(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


@pytest.mark.parametrize("case", list(REFUSED_ON_LOAD))
def test_hostile_specs_are_refused_on_load_naming_file_and_field(write_spec, case):
    text, expected = REFUSED_ON_LOAD[case]
    path = write_spec(text)
    with pytest.raises(db.SpecError) as info:
        System.from_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and expected in message
    assert "\n" not in message and len(message) < 600  # one readable line, never the whole hostile text


def test_deepest_allowed_expression_parses_from_a_deep_stack(write_spec):
    # The bounds must hold wherever the parser runs: 400 operators inside 60 brackets, 500 frames down.
    from dysts_bench.compile.expr import MAX_DEPTH, MAX_OPERATORS, Scope, parse_expression

    text = "sin(" * (MAX_DEPTH - 1) + "-" * (MAX_OPERATORS - 1) + "x" + ")" * (MAX_DEPTH - 1)

    def down(k: int) -> None:
        if k:
            return down(k - 1)
        with pytest.raises(db.UnsafeExpressionError, match="nested deeper than 60"):
            parse_expression(text, Scope(frozenset({"x"})))

    down(500)


def test_equation_errors_name_the_equation(write_spec):
    path = write_spec(_broken("x * y - beta * z", "x * y - beta * q"))
    with pytest.raises(db.UnsafeExpressionError, match=r"equations\.z: undefined name 'q'"):
        System.from_file(path)


def test_oversized_file_is_refused_before_parsing(write_spec):
    path = write_spec("# " + "x" * MAX_SPEC_BYTES + "\n")
    with pytest.raises(db.SpecError, match="more than the limit"):
        load_spec(path)


def test_folder_must_carry_the_name(write_spec):
    path = write_spec(LORENZ_SPEC.format(name="Other"), name="Toy")
    with pytest.raises(db.SpecError, match="the folder must carry"):
        load_spec(path)


def test_hostile_corpus_never_executes(tmp_path, write_spec):
    marker = tmp_path / "pwned"
    for i, payload in enumerate([f"__import__('pathlib').Path('{marker}').touch()",
                                 f"open('{marker}', 'w')", "exec('1')", "eval('1')",
                                 "globals()", "x.__class__.__bases__"]):
        path = write_spec(_broken("sigma * (y - x)", payload), name=f"Hostile{i}")
        with pytest.raises(db.SpecError):
            System.from_file(path)
    assert not marker.exists()


def _with_reference(field: str, value: str) -> str:
    # JSON text is a YAML double-quoted scalar: leading spaces, quotes and brackets arrive as written.
    return _broken("  - citation: Lorenz (1963)\n", f"  - citation: Lorenz (1963)\n    {field}: {json.dumps(value)}\n")


SCRIPT_URLS = ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "file:///etc/passwd",
               "vbscript:msgbox(1)", "  JavaScript:alert(1)", "JAVASCRIPT:alert(1)", "java\tscript:alert(1)",
               'https://example.org/"><script>alert(1)</script>', "https://example.org/it's",
               "https://example.org/a b", "https://example.org/\n", "https:///no-host", "example.org/no-scheme",
               "ftp://example.org/paper.pdf"]


@pytest.mark.parametrize("url", SCRIPT_URLS)
def test_reference_urls_must_be_web_addresses(write_spec, url):
    path = write_spec(_with_reference("url", url))
    with pytest.raises(db.SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert str(path) in message and "field 'references.0.url'" in message and "https://" in message


def test_systems_check_fails_a_script_url(write_spec, capsys):
    path = write_spec(_with_reference("url", "javascript:alert(1)"))
    assert main(["systems", "check", str(path)]) == 1
    assert f"{path}: [schema]" in capsys.readouterr().out


@pytest.mark.parametrize("doi", ["javascript:alert(1)", "https://doi.org/10.1000/182", '10.1000/1"><script>',
                                 "10.1000/a b", "10.1/too-short-prefix", "doi:10.1000/182"])
def test_reference_dois_must_be_bare_dois(write_spec, doi):
    path = write_spec(_with_reference("doi", doi))
    with pytest.raises(db.SpecError, match=r"field 'references\.0\.doi': .* is not a DOI: give it bare, as 10\.NNNN"):
        load_spec(path)


@pytest.mark.parametrize(("field", "value"), [("url", "https://example.org/paper?id=3#s2"),
                                              ("url", "HTTP://Example.org"),
                                              ("doi", "10.1175/1520-0469(1963)020<0130:DNF>2.0.CO;2")])
def test_web_urls_and_dois_are_accepted(write_spec, field, value):
    spec = load_spec(write_spec(_with_reference(field, value)))
    assert getattr(spec.references[0], field) == value


def test_yaml_tags_cannot_construct_python_objects(write_spec):
    path = write_spec(_broken("rho: 28.0", "rho: !!python/object/apply:os.getcwd []"))
    with pytest.raises(db.SpecError, match="YAML"):
        System.from_file(path)


@pytest.fixture
def registry_dir(tmp_path, monkeypatch, write_spec):
    write_spec(LORENZ_SPEC.format(name="Toy"))
    write_spec(LORENZ_SPEC.format(name="Toy").replace("version: 1", "version: 2").replace("28.0", "99.0"),
               version=2)
    root = tmp_path / "systems"
    monkeypatch.setenv("DYSTS_BENCH_SYSTEMS", str(root))
    registry.refresh()
    yield root
    registry.refresh()


def test_registry_gives_latest_and_given_versions(registry_dir):
    assert db.list_systems() == ["Toy"]
    assert db.get_system("Toy").version == 2
    assert db.get_system("Toy").params["rho"] == 99.0
    assert db.get_system("Toy", version=1).params["rho"] == 28.0
    assert db.get_system("Toy@1").version == 1


def test_unknown_names_suggest_close_matches(registry_dir):
    with pytest.raises(db.UnknownSystemError, match="did you mean Toy") as info:
        db.get_system("toi")
    assert isinstance(info.value, KeyError)
    with pytest.raises(db.UnknownSystemError, match="no version 7"):
        db.get_system("Toy", version=7)


def test_edited_released_version_is_refused(registry_dir):
    lock = registry.write_lock(registry_dir)
    assert set(lock) == {"Toy/1", "Toy/2"}
    path = registry_dir / "Toy" / "1.yaml"
    path.write_text(path.read_text().replace("28.0", "29.0"))
    with pytest.raises(db.RegistryLockError, match="add a new version instead"):
        db.get_system("Toy", version=1)
    assert json.loads((registry_dir / "registry.lock").read_text()) == lock


def test_with_params_shares_code_and_changes_values(lorenz_spec):
    s = System.from_file(lorenz_spec)
    s2 = s.with_params(rho=10.0)
    assert s2.program is s.program and s.params["rho"] == 28.0
    assert s2.rhs([1.0, 1.0, 1.0])[1] == pytest.approx(10 - 1 - 1)
    with pytest.raises(db.DystsBenchError, match="unknown parameter"):
        s.with_params(gamma=1.0)


def test_shipped_registry_is_locked():
    lock = registry.read_lock()
    missing = [f"{n}/{v}" for n, vs in registry.versions().items() for v in vs if f"{n}/{v}" not in lock]
    assert not missing, "run `python -c 'from dysts_bench.specs.registry import write_lock; write_lock()'`"


@pytest.mark.parametrize("folder", ['x"""; __import__("pathlib").Path("pwned").touch(); """',
                                    "x'''\n__import__('pathlib').Path('pwned').touch()\n'''",
                                    'x\\"""+__import__("pathlib").Path("pwned").touch()#'])
def test_hostile_folder_name_never_executes(tmp_path, monkeypatch, folder):
    # The injected code would create ./pwned: run where that is visible.
    monkeypatch.chdir(tmp_path)
    path = tmp_path / folder / "Toy" / "1.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(LORENZ_SPEC.format(name="Toy"))
    module = System.from_file(path).program.rhs_module
    assert not (tmp_path / "pwned").exists()
    assert str(path) == module.ORIGIN
