"""Bad flags: exit code 2 and exactly one clear line on stderr, never a usage dump."""

from __future__ import annotations

import pytest

from conformance.cli import main


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["run", "--max-examples", "0"], "--max-examples must be a positive integer"),
        (["run", "--max-examples", "many"], "--max-examples must be a positive integer"),
        (["run", "--workers", "0"], "--workers must be a positive integer"),
        (["run", "--seed", "x"], "--seed must be a non-negative integer"),
        (["run", "--request-timeout", "-1"], "--request-timeout must be a positive number"),
        (["run", "--convergence-delay", "-1"], "--convergence-delay must be a non-negative number of seconds"),
        (["run", "--nodes", "ml-0"], "--nodes"),
        (["run", "--api-key", "k", "--user", "u", "--password", "p"], "not allowed with"),
        (["run", "--user", "u"], "--user and --password go together"),
        (["run", "--baseline", "/does/not/exist.json"], "--baseline file unreadable"),
        (["run", "--target", "http://127.0.0.1:1", "--es-version", "8.10.0"], "embedded target"),
        (["run", "--profile", "7.x"], "--profile"),
        (["run", "--select", "no-such-rule-*"], "matches no rule"),
        (["run", "--bogus"], "unrecognized arguments"),
        ([], "choose a command"),
    ],
)
def test_bad_flags_exit_2_with_one_line(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DC_TARGET", raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("deployment-conformance: error: ")
    assert needle in err


def test_baseline_must_be_a_list_of_rule_ids(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text('{"rule": 1}')
    assert main(["run", "--baseline", str(baseline)]) == 2
    assert "JSON list of rule ids" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["selftest", "--jobs", "0"], "--jobs"),
        (["selftest", "--only", "no-such-mutant"], "unknown target(s) no-such-mutant"),
        (["selftest", "--bogus"], "unrecognized arguments"),
    ],
)
def test_selftest_bad_flags_exit_2_with_one_line(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("deployment-conformance selftest: error: ")
    assert needle in err


def test_help_states_the_embedded_servers_real_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.reference.config import ServerConfig

    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    defaults = ServerConfig()
    assert f"(default: {defaults.es_version})" in text
    assert "(default: " + ",".join(f"{n.id}:{n.allocated_processors:g}" for n in defaults.nodes) + ")" in text
    assert f"converge (default: {defaults.convergence_delay:g})" in text
