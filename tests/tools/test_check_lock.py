"""tools/check_lock.py: the lock is exactly the resolution of pyproject.toml's dependencies."""

from __future__ import annotations

import tomllib

import pytest

from tools import check_lock

_GRAPH = {
    ("app-core", "2.0"): ["helper>=1.1", "socks-lib ; extra == 'socks'"],
    ("helper", "1.2"): [],
    ("socks-lib", "0.3"): [],
    ("pytest", "9.0"): ["pluggy<2"],
    ("pluggy", "1.7"): [],
}


def _requires(name: str, version: str) -> list[str]:
    try:
        return _GRAPH[(name, version)]
    except KeyError:
        raise LookupError(f"{name} {version} is not installed") from None


def _lock(**pins: str) -> dict[str, str]:
    return {name.replace("_", "-"): version for name, version in pins.items()}


def test_a_lock_that_resolves_the_declared_requirements_passes() -> None:
    lock = _lock(app_core="2.0", helper="1.2", pytest="9.0", pluggy="1.7")
    assert check_lock.find_problems(["app-core>=2", "pytest>=8"], lock, _requires) == []


def test_a_requirement_the_lock_lacks_is_reported() -> None:
    lock = _lock(app_core="2.0", helper="1.2")
    problems = check_lock.find_problems(["app-core>=2", "pytest>=8"], lock, _requires)
    assert problems == ["pyproject.toml needs pytest>=8 but the lock has no pytest"]


def test_a_pin_outside_the_declared_range_is_reported() -> None:
    lock = _lock(app_core="2.0", helper="1.2")
    problems = check_lock.find_problems(["app-core>=3"], lock, _requires)
    assert problems == ["pyproject.toml needs app-core>=3 but the lock pins app-core==2.0"]


def test_a_transitive_range_is_checked_against_its_pin() -> None:
    graph_lock = _lock(app_core="2.0", helper="1.0")
    problems = check_lock.find_problems(["app-core"], graph_lock, _requires)
    assert problems[0] == "app-core 2.0 needs helper>=1.1 but the lock pins helper==1.0"


def test_a_package_nothing_needs_is_reported() -> None:
    lock = _lock(app_core="2.0", helper="1.2", socks_lib="0.3")
    problems = check_lock.find_problems(["app-core"], lock, _requires)
    assert problems == ["the lock pins socks-lib, which nothing in pyproject.toml needs"]


def test_an_extra_brings_in_its_dependencies() -> None:
    lock = _lock(app_core="2.0", helper="1.2", socks_lib="0.3")
    assert check_lock.find_problems(["app-core[socks]"], lock, _requires) == []


def test_an_installed_version_other_than_the_pin_is_reported() -> None:
    lock = _lock(app_core="2.1")
    problems = check_lock.find_problems(["app-core"], lock, _requires)
    assert problems == ["app-core 2.1 is not installed"]


def test_lock_pins_are_read_with_canonical_names() -> None:
    text = (
        "# header\nPyYAML==6.0.4 \\\n    --hash=sha256:aa\n    # via x\n"
        "torch==2.13.0+cpu \\\n    --hash=sha256:bb\n"
    )
    assert check_lock.read_lock(text) == {"pyyaml": "6.0.4", "torch": "2.13.0+cpu"}


def test_the_committed_lock_matches_pyproject_and_this_environment() -> None:
    pyproject = tomllib.loads(check_lock.PYPROJECT_PATH.read_text())
    lock = check_lock.read_lock(check_lock.LOCK_PATH.read_text())
    declared = check_lock.project_requirements(pyproject)
    assert check_lock.find_problems(declared, lock, check_lock.installed_requires) == []


def test_the_committed_lock_has_a_hash_for_every_pin() -> None:
    text = check_lock.LOCK_PATH.read_text()
    blocks = [block for block in text.split("\n") if "==" in block and not block.startswith("#")]
    assert blocks, "the lock pins nothing"
    for line in blocks:
        assert line.rstrip().endswith("\\"), f"no --hash follows {line.strip()}"


@pytest.mark.parametrize("extra", check_lock.LOCKED_EXTRAS)
def test_the_locked_extras_exist_in_pyproject(extra: str) -> None:
    pyproject = tomllib.loads(check_lock.PYPROJECT_PATH.read_text())
    assert extra in pyproject["project"]["optional-dependencies"]
