#!/usr/bin/env python3
"""Check that ``requirements.lock`` is the resolution of ``pyproject.toml``'s dependencies.

    python tools/check_lock.py      # exit 1 and say what to run when they disagree

Starting from the requirements ``pyproject.toml`` declares (the dependencies and the ``dev``
and ``eval`` extras), it walks the dependency graph: each edge's target must be pinned in the
lock at a version the edge's specifier accepts, and the dependencies of a locked package are
read from its installed metadata, which must be the locked version. The lock must hold
exactly the packages that walk reaches, so a dependency added to, removed from or
re-ranged in ``pyproject.toml`` without ``make lock`` is reported. ``make setup`` runs it
after installing, and so does the test suite.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LOCK_PATH = PROJECT_ROOT / "requirements.lock"
PYPROJECT_PATH = PROJECT_ROOT / "pyproject.toml"
LOCKED_EXTRAS = ("dev", "eval")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", re.MULTILINE)

#: Given a locked package's name and version, the requirement strings its metadata declares.
RequiresOf = Callable[[str, str], Iterable[str]]


@dataclass(frozen=True)
class Edge:
    """One declared requirement, and who declared it (for the error message)."""

    requirement: Requirement
    declared_by: str


def read_lock(text: str) -> dict[str, str]:
    """Map each locked package's canonical name to its pinned version."""
    return {canonicalize_name(name): version for name, version in _PIN.findall(text)}


def project_requirements(pyproject: dict, extras: Iterable[str] = LOCKED_EXTRAS) -> list[str]:
    """The requirement strings of the project's dependencies plus the named extras."""
    project = pyproject["project"]
    wanted = list(project.get("dependencies", []))
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        wanted.extend(optional.get(extra, []))
    return wanted


def installed_requires(name: str, version: str) -> list[str]:
    """Read ``name``'s requirements from its installed metadata, which must be ``version``."""
    try:
        installed = metadata.version(name)
    except metadata.PackageNotFoundError as missing:
        raise LookupError(f"{name} is locked but not installed: run `make setup`") from missing
    if Version(installed) != Version(version):
        raise LookupError(
            f"{name} {installed} is installed but the lock pins {version}: run `make setup`"
        )
    return metadata.requires(name) or []


def _applies(requirement: Requirement, extras: frozenset[str]) -> bool:
    if requirement.marker is None:
        return True
    environment = default_environment()
    return any(
        requirement.marker.evaluate({**environment, "extra": extra})
        for extra in (extras or {""})
    )


def find_problems(
    declared: Iterable[str], lock: dict[str, str], requires_of: RequiresOf
) -> list[str]:
    """Every disagreement between the declared requirements and the lock, as sentences."""
    problems: list[str] = []
    reached: set[str] = set()
    pending = [Edge(Requirement(text), "pyproject.toml") for text in declared]
    extras_wanted: dict[str, frozenset[str]] = {}
    while pending:
        edge = pending.pop()
        requirement = edge.requirement
        name = canonicalize_name(requirement.name)
        pinned = lock.get(name)
        if pinned is None:
            problems.append(f"{edge.declared_by} needs {requirement} but the lock has no {name}")
            continue
        if not requirement.specifier.contains(pinned, prereleases=True):
            problems.append(
                f"{edge.declared_by} needs {requirement} but the lock pins {name}=={pinned}"
            )
        extras = frozenset(requirement.extras)
        seen_extras = extras_wanted.get(name)
        if seen_extras is not None and extras <= seen_extras:
            continue
        extras_wanted[name] = (seen_extras or frozenset()) | extras
        reached.add(name)
        try:
            dependencies = list(requires_of(name, pinned))
        except LookupError as error:
            problems.append(str(error))
            continue
        for text in dependencies:
            dependency = Requirement(text)
            if _applies(dependency, extras_wanted[name]):
                pending.append(Edge(dependency, f"{name} {pinned}"))
    for unused in sorted(set(lock) - reached):
        problems.append(f"the lock pins {unused}, which nothing in pyproject.toml needs")
    return problems


def main() -> int:
    """Report disagreements between ``pyproject.toml`` and the lock; 1 if there are any."""
    pyproject = tomllib.loads(PYPROJECT_PATH.read_text())
    lock = read_lock(LOCK_PATH.read_text())
    problems = find_problems(project_requirements(pyproject), lock, installed_requires)
    if problems:
        print("requirements.lock disagrees with pyproject.toml:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        print("run `make lock` (docs/dependencies.md), then `make setup`", file=sys.stderr)
        return 1
    print(f"requirements.lock matches pyproject.toml ({len(lock)} packages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
