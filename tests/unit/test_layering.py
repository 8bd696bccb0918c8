"""Imports point inward: domain/ is pure, application/ knows no adapters or interfaces."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOP_LEVEL = {"domain", "application", "adapters", "interfaces", "projections", "tests"}


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def offending_imports(folder: str, allowed_top: set[str], allowed_external: set[str]) -> list[str]:
    problems = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for name in imported_modules(path):
            top = name.split(".")[0]
            if (top in TOP_LEVEL and top not in allowed_top) or (
                top not in TOP_LEVEL and allowed_external and not _allowed(name, allowed_external)
            ):
                problems.append(f"{path.relative_to(ROOT)} imports {name}")
    return problems


def _allowed(name: str, allowed: set[str]) -> bool:
    import sys

    top = name.split(".")[0]
    return top in sys.stdlib_module_names or any(
        name == prefix or name.startswith(prefix + ".") for prefix in allowed
    )


def test_domain_imports_only_the_standard_library_eventsourcing_domain_and_numpy() -> None:
    assert offending_imports("domain", {"domain"}, {"eventsourcing.domain", "numpy"}) == []


def test_application_imports_no_adapters_interfaces_or_projections() -> None:
    assert offending_imports("application", {"application", "domain"}, set()) == []


def test_the_check_notices_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from adapters.persistence.store import locate_store\nimport sqlalchemy\n")
    assert imported_modules(module) == ["adapters.persistence.store", "sqlalchemy"]
    assert not _allowed("sqlalchemy", {"eventsourcing.domain", "numpy"})
    assert _allowed("numpy.typing", {"numpy"})
