"""Every bad input of issue 11 gets one line and its documented exit code.

Targets that are not the reference server (a refusing proxy, an OpenSearch node) are
tiny Starlette apps served over real HTTP.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest
from runtime_helpers import PYTHON, cli_env, free_port, run_prefixed_objects
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from conformance import __version__
from conformance.cli import main
from conformance.discovery import discover, newer_than_known
from conformance.reference.config import ServerConfig
from conformance.reference.server import running_server
from conformance.target import SetupError, Target, TargetConfig


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"deployment-conformance {__version__}"


def test_unknown_profile_is_exit_2_naming_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--profile", "99.0"]) == 2
    err = _one_error_line(capsys)
    assert "unknown --profile '99.0'" in err and "8.6, 8.8" in err and "9.3" in err


def test_a_version_inside_the_profiles_range_is_a_valid_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The report-dir check comes after the profile check: reaching it means 8.15.2 passed.
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert main(["run", "--profile", "8.15.2", "--report-dir", str(blocked / "sub")]) == 2
    assert "--report-dir" in _one_error_line(capsys)


def test_unwritable_report_dir_is_exit_2_before_any_traffic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A closed port would be exit 3 ("cannot reach") had the run sent anything.
    blocked = tmp_path / "file"
    blocked.write_text("")
    argv = ["run", "--target", f"http://127.0.0.1:{free_port()}", "--report-dir", str(blocked / "reports")]
    assert main(argv) == 2
    err = _one_error_line(capsys)
    assert "--report-dir" in err and "not writable" in err


def test_unknown_ids_in_a_baseline_are_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(["shape.product-header", "shape.no-such-rule"]))
    assert main(["run", "--baseline", str(baseline)]) == 2
    err = _one_error_line(capsys)
    assert "shape.no-such-rule" in err and "shape.product-header" not in err


def test_ca_cert_that_is_not_pem_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cert = tmp_path / "ca.pem"
    cert.write_text("this is not a certificate\n")
    assert main(["run", "--target", "https://127.0.0.1:1", "--ca-cert", str(cert)]) == 2
    assert "--ca-cert is not a PEM CA certificate" in _one_error_line(capsys)


def test_a_newer_version_is_judged_by_the_newest_profile_with_a_warning() -> None:
    with running_server(ServerConfig(es_version="10.0.0")) as url, Target(TargetConfig(url=url)) as target:
        ctx = discover(target)
    assert ctx.profile == "9.3"
    warning = newer_than_known(ctx.reported_version)
    assert warning is not None and "10.0.0" in warning and "9.3" in warning
    assert newer_than_known(ctx.version.__class__(9, 3, 7)) is None


def _app(root: Response | None = None, status: int = 200, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    async def answer(request: Request) -> Response:
        return root if root is not None else JSONResponse({}, status_code=status, headers=headers)

    return Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST", "PUT", "DELETE"])])


OPENSEARCH_ROOT = {
    "name": "os-node",
    "cluster_name": "c",
    "version": {"distribution": "opensearch", "number": "2.11.0", "lucene_version": "9.7.0"},
    "tagline": "The OpenSearch Project",
}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("app", "needle"),
    [
        (_app(JSONResponse(OPENSEARCH_ROOT)), "the target is OpenSearch 2.11.0"),
        (
            _app(
                JSONResponse(
                    {
                        "error": {
                            "type": "security_exception",
                            "reason": "missing authentication credentials for REST request [/]",
                        },
                        "status": 401,
                    },
                    status_code=401,
                )
            ),
            "HTTP 401: missing authentication credentials for REST request [/] (check --api-key",
        ),
        (
            _app(
                JSONResponse(
                    {
                        "error": {
                            "type": "security_exception",
                            "reason": "action [cluster:monitor/main] is unauthorized for user [u]",
                        },
                        "status": 403,
                    },
                    status_code=403,
                )
            ),
            "HTTP 403: action [cluster:monitor/main] is unauthorized for user [u]",
        ),
        (
            _app(RedirectResponse("https://sso.example/login", status_code=302)),
            "HTTP 302 (a redirect to https://sso.example/login)",
        ),
    ],
    ids=["opensearch", "401", "403", "302"],
)
def test_a_target_that_is_not_a_usable_elasticsearch_is_named_in_one_line(
    app: Starlette, needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_server(app=app) as url:
        with Target(TargetConfig(url=url)) as target, pytest.raises(SetupError) as raised:
            discover(target)
        assert needle in str(raised.value)
        code = main(["run", "--target", url, "--report-dir", str(tmp_path)])
    assert code == 3
    err = _one_error_line(capsys)
    assert needle in err and "Elasticsearch 2.11.0" not in err


@pytest.mark.slow
def test_serve_port_0_picks_a_free_port_and_says_what_it_emulates() -> None:
    process = subprocess.Popen(
        [PYTHON, "-m", "conformance", "serve", "--port", "0", "--es-version", "8.15.2", "--nodes", "ml-0:2"],
        stdout=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        url = line.split(" listening on ", 1)[1].split(",", 1)[0]
        assert "Elasticsearch 8.15.2" in line and "ml-0 (2 processors)" in line
        assert httpx.get(url + "/").json()["version"]["number"] == "8.15.2"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.parametrize("served", [["--es-version", "9.3.0"]], indirect=True)
def test_a_closed_pipe_ends_quietly_and_still_cleans_up(served: str, tmp_path: Path) -> None:
    command = (
        f"{PYTHON} -m conformance run --target {served} --max-examples 2 --seed 1 --report-dir {tmp_path} | head -1"
    )
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        capture_output=True,
        text=True,
        env=cli_env(PYTEST_ADDOPTS="-k scenarios", CI="1"),
        timeout=240,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr[-2000:]
    assert len(done.stdout.splitlines()) == 1
    assert run_prefixed_objects(served) == []


@pytest.mark.slow
def test_selftest_shows_progress_per_target(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            PYTHON,
            "-m",
            "conformance",
            "selftest",
            "--only",
            "missing-product-header",
            "--max-examples",
            "2",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=300,
    )
    assert "selftest [1/1] missing-product-header: caught (exit 1," in done.stderr, done.stderr[-2000:]


def test_an_unreadable_secret_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--api-key-file", str(tmp_path / "missing")]) == 2
    assert "--api-key-file unreadable" in _one_error_line(capsys)
    (tmp_path / "key").write_text("k")
    assert main(["run", "--api-key", "k", "--api-key-file", str(tmp_path / "key")]) == 2
    assert "exclude each other" in _one_error_line(capsys)


@pytest.mark.slow
@pytest.mark.parametrize("served", [["--es-version", "10.0.0"]], indirect=True)
def test_a_newer_version_warns_on_the_console_and_in_the_reports(served: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            PYTHON,
            "-m",
            "conformance",
            "run",
            "--target",
            served,
            "--report-dir",
            str(tmp_path),
            "--max-examples",
            "2",
            "--seed",
            "1",
        ],
        capture_output=True,
        text=True,
        env=cli_env(PYTEST_ADDOPTS="-k scenarios", CI="true"),
        timeout=240,
    )
    warning = (
        "the target reports Elasticsearch 10.0.0, newer than any profile this suite knows: "
        "judged by the newest profile, 9.3"
    )
    assert done.returncode in (0, 1), done.stdout[-2000:]
    assert f"deployment-conformance: warning: {warning}" in done.stdout
    assert f"Warning: {warning}" in (tmp_path / "report.html").read_text()
    assert warning in (tmp_path / "summary.md").read_text()
    assert "judged by profile 9.3" in done.stdout
