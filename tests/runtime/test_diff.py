"""``deployment-conformance diff``: rules that started or stopped failing between two runs."""

from __future__ import annotations

import json

import pytest
from conftest import SavedRun

from conformance.cli import main
from conformance.diff import compare


def _failing(run: SavedRun) -> set[str]:
    return {r["id"] for r in run.results()["rules"] if r["outcome"] in ("fail", "error")}


@pytest.mark.slow
def test_passing_to_failing_lists_exactly_the_newly_failing_rules(
    passing_run: SavedRun, failing_run: SavedRun, capsys: pytest.CaptureFixture[str]
) -> None:
    assert passing_run.returncode == 0 and _failing(passing_run) == set()
    newly = _failing(failing_run)
    assert "errors.invalid-unknown-field" in newly

    assert main(["diff", str(passing_run.report_dir), str(failing_run.report_dir)]) == 1
    out = capsys.readouterr().out
    listed = {line.split()[1] for line in out.splitlines() if line.startswith("  + ")}
    assert listed == newly
    assert "no longer failing: 0" in out

    assert main(["diff", str(failing_run.report_dir), str(passing_run.report_dir)]) == 0
    out = capsys.readouterr().out
    assert {line.split()[1] for line in out.splitlines() if line.startswith("  - ")} == newly
    assert "newly failing: 0" in out


def test_levels_absent_rules_and_differing_runs() -> None:
    def rule(rule_id: str, outcome: str, level: str = "MUST") -> dict:
        return {
            "id": rule_id,
            "level": level,
            "outcome": outcome,
            "evidence": {"messages": [f"{rule_id} broke"]} if outcome == "fail" else None,
        }

    old = {
        "run": {"profile": "9.3"},
        "rules": [rule("a.kept", "fail"), rule("b.fixed", "fail"), rule("c.gone", "pass")],
    }
    new = {
        "run": {"profile": "8.6"},
        "rules": [
            rule("a.kept", "fail"),
            rule("b.fixed", "pass"),
            rule("d.new", "fail", "SHOULD"),
            rule("e.err", "error"),
        ],
    }
    diff = compare(old, new)
    assert [(c.rule_id, c.old, c.new) for c in diff.newly_failing] == [
        ("d.new", None, "fail"),
        ("e.err", None, "error"),
    ]
    assert diff.newly_failing[0].reason == "d.new broke" and diff.newly_failing[0].level == "SHOULD"
    assert [c.rule_id for c in diff.no_longer_failing] == ["b.fixed"]
    assert diff.notes == ("profile differs: 9.3 -> 8.6",) and diff.exit_code == 1


def test_a_folder_without_results_is_exit_2(
    tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    # Not under tmp_path: the deliberately broken results.json must not meet the schema check.
    tmp_path = tmp_path_factory.mktemp("broken-reports")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "results.json").write_text(json.dumps({"no": "rules"}))
    assert main(["diff", str(tmp_path / "missing"), str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read" in err
    assert main(["diff", str(tmp_path / "bad"), str(tmp_path / "bad")]) == 2
    assert "is not a deployment-conformance results.json" in capsys.readouterr().err
