"""The import contracts of pyproject.toml (`[tool.importlinter]`, run by `make lint`) hold, and they
fail when a wrong-way import or a cycle is added: shown on a copy of the project with one import
added."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("kyc", "webhooks", "api", "notifications", "config", "providers")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(cwd: Path, *contracts: str) -> subprocess.CompletedProcess:
    args = [str(LINT_IMPORTS), "--no-cache"] + [a for c in contracts for a in ("--contract", c)]
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_contracts_hold():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory) -> Path:
    """The Python sources of the project and its contracts, to add an import to."""
    copy = tmp_path_factory.mktemp("project")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__", "static")
        )
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


@pytest.mark.parametrize(
    ("module", "added", "contract"),
    [
        # A record importing a service: the wrong way.
        ("kyc/models.py", "from kyc.services import sessions", "layers"),
        # A service reaching up into an operation.
        ("kyc/services/updates.py", "from kyc.operations import reconcile", "layers"),
        # The store importing the domain it must not know.
        ("webhooks/processing.py", "from kyc.services import inbound", "webhooks-store"),
        # A provider importing ours.
        ("providers/base.py", "from kyc import status", "providers-standalone"),
        # Two services importing each other (the same layer): a new cycle.
        ("kyc/services/customers.py", "from kyc.services import transitions", "acyclic"),
    ],
)
def test_a_deliberate_violation_breaks_its_contract(project_copy, module, added, contract):
    path = project_copy / module
    original = path.read_text()
    path.write_text(original + f"\n{added}  # deliberate violation\n")
    try:
        broken = _lint_imports(project_copy, contract)
    finally:
        path.write_text(original)
    assert broken.returncode == 1, broken.stdout
    assert "BROKEN" in broken.stdout
    assert _lint_imports(project_copy, contract).returncode == 0  # the copy without it is fine


# Modules in import cycles: none (the acyclic contract ignores only kyc.tasks -> kyc.services.*,
# which is no module-level cycle; pyproject.toml says why).
KNOWN_IN_CYCLES: set[str] = set()


def _modules_in_cycles(graph) -> set[str]:
    """An import is on a cycle when a chain of imports leads back from what it imports."""
    return {
        importer
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if graph.chain_exists(importer=imported, imported=importer)
    }


def test_no_module_of_the_project_is_in_an_import_cycle():
    # The acyclic contract looks at packages as wholes, and ignores the tasks → services edges of
    # kyc (services queue tasks, tasks run other services): module by module, there is no cycle.
    graph = grimp.build_graph(*PACKAGES)
    assert _modules_in_cycles(graph) == KNOWN_IN_CYCLES
    graph.add_import(importer="kyc.models", imported="kyc.services.sessions")  # a deliberate one
    assert {"kyc.models", "kyc.services.sessions"} <= _modules_in_cycles(graph)
