"""The schemas load from an installed, non-editable package (DESIGN: 'Installed
non-editable, the package must still find schemas/')."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conformance.schemas import SHIPPED_FILES

pytestmark = pytest.mark.slow  # builds a wheel

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
        timeout=240,
    )
    (built,) = out.glob("deployment_conformance-*.whl")
    return built


def test_wheel_ships_every_schema_file_inside_the_package(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in SHIPPED_FILES if f"conformance/_schemas/{name}" not in names]
    assert not missing, missing
    assert "conformance/schemas.py" in names


def test_installed_package_loads_schemas_from_inside_itself(wheel: Path, tmp_path: Path) -> None:
    zipfile.ZipFile(wheel).extractall(tmp_path)
    probe = (
        "import conformance.schemas as s; "
        "p = s.profile_named('8.6'); "
        "print(s.schema_dir()); "
        "print(len(p.validate_assignment_response({}))); "
        "print(len(p.openapi()['paths']))"
    )
    # -I isolates from the editable install's path hooks and the current directory.
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r}); {probe}"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    location, problems, paths = result.stdout.split()
    assert Path(location) == tmp_path / "conformance" / "_schemas"
    assert int(problems) > 0  # an empty document is judged, so the schemas really loaded
    assert int(paths) == 7


def test_wheel_ships_the_contract_and_cites_no_section_it_lacks(wheel: Path) -> None:
    """Every text file in the wheel (modules, schemas, the contract itself) cites only sections
    of the contract the wheel carries, and the installed module reads that copy."""
    from conformance import contract

    archive = zipfile.ZipFile(wheel)
    names = set(archive.namelist())
    assert {"conformance/_docs/contract.md", "conformance/contract.py", "conformance/py.typed"} <= names
    shipped = contract.parse(archive.read("conformance/_docs/contract.md").decode("utf-8"))
    texts = [n for n in names if n.endswith((".py", ".md", ".json", ".txt")) and ".dist-info/" not in n]
    missing = {
        f"{name}: §{key}"
        for name in texts
        for key in contract.citations(archive.read(name).decode("utf-8"))
        if key not in shipped
    }
    assert len(texts) > 50
    assert missing == set()


def test_installed_package_reads_the_contract_from_inside_itself(wheel: Path, tmp_path: Path) -> None:
    zipfile.ZipFile(wheel).extractall(tmp_path)
    probe = "import conformance.contract as c; print(c.document_path()); print(c.link('§1.6 C.8'))"
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r}); {probe}"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    location, link = result.stdout.split()
    assert Path(location) == tmp_path / "conformance" / "_docs" / "contract.md"
    assert link == f"{Path(location).as_uri()}#s1-6-c-8"
