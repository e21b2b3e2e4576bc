"""No form of any credential reaches any output, even from a target that echoes them.

The echoing target is the reference server behind a tiny ASGI wrapper that quotes every
request header and body in each error reason (JSON-escaped, as a JSON body must), in a
response header, and URL-encoded: what a careless proxy or gateway might do. Credentials
hold characters that every output format escapes differently.
"""

from __future__ import annotations

import base64
import html
import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape as xml_escape

import pytest
from runtime_helpers import PYTHON, cli_env, run_prefixed_objects

from conformance.redaction import REPLACEMENT, Redactor
from conformance.reference import ServerConfig, create_app, running_server

SECRET = "S3cr\"et<&>'\\ key+/=%41"
USER = "elastic"


class EchoingTarget:
    """The reference server, but every answer of 400 or more quotes the request back."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        echo = json.dumps({"headers": headers, "body": body.decode("utf-8", "replace")})
        started: dict[str, Any] = {}

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def rewrite(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
                return
            status = started["status"]
            answer = message.get("body", b"")
            if status >= 400:
                answer = json.dumps(
                    {
                        "error": {
                            "root_cause": [],
                            "type": "echo_exception",
                            "reason": f"you sent {echo} ({quote(echo)})",
                        },
                        "status": status,
                    }
                ).encode()
            kept = [(k, v) for k, v in started.get("headers", []) if k.lower() != b"content-length"]
            kept += [(b"content-length", str(len(answer)).encode()), (b"x-echo", quote(echo).encode())]
            await send({**started, "headers": kept})
            await send({"type": "http.response.body", "body": answer})

        await self.app(scope, replay, rewrite)


def _forms(credential: str) -> set[str]:
    """Every escaped form a report could carry, computed here independently of the redactor."""
    once = {
        credential,
        json.dumps(credential)[1:-1],
        quote(credential, safe=""),
        quote_plus(credential),
        repr(credential)[1:-1],
    }
    twice = once | {json.dumps(form)[1:-1] for form in once}
    return (
        twice
        | {html.escape(f) for f in twice}
        | {html.escape(f, quote=False) for f in twice}
        | {xml_escape(f, {'"': "&quot;"}) for f in twice}
    )


AUTH = {
    "api-key": ({}, [SECRET, f"ApiKey {SECRET}"]),  # from --api-key-file
    "basic": (
        {"DC_USER": USER, "DC_PASSWORD": SECRET},
        [SECRET, base64.b64encode(f"{USER}:{SECRET}".encode()).decode(), f"{USER}:{SECRET}"],
    ),
    "bearer": ({"DC_BEARER_TOKEN": SECRET}, [SECRET, f"Bearer {SECRET}"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("method", sorted(AUTH))
def test_no_form_of_any_credential_reaches_any_output(method: str, tmp_path: Path) -> None:
    env, credentials = AUTH[method]
    flags = []
    if method == "api-key":
        (tmp_path / "key").write_text(SECRET + "\n")
        flags = ["--api-key-file", str(tmp_path / "key")]
    reports = tmp_path / "reports"
    config = ServerConfig()
    with running_server(config, app=EchoingTarget(create_app(config))) as url:
        done = subprocess.run(
            [
                PYTHON,
                "-m",
                "conformance",
                "run",
                "--target",
                url,
                *flags,
                "--report-dir",
                str(reports),
                "--seed",
                "3",
                "--max-examples",
                "2",
                "--verbose",
            ],
            capture_output=True,
            text=True,
            env=cli_env(PYTEST_ADDOPTS="-k scenarios", CI="true", **env),
            timeout=240,
        )
        assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
        assert run_prefixed_objects(url) == []
    outputs = {"stdout": done.stdout, "stderr": done.stderr}
    outputs |= {path.name: path.read_text(encoding="utf-8") for path in reports.iterdir()}
    assert {"results.json", "junit.xml", "report.html", "summary.md", "pytest.log"} <= set(outputs)
    assert REPLACEMENT in outputs["results.json"], "the target's echo should have reached the evidence"
    forms = {form for credential in credentials for form in _forms(credential) if len(form) >= 6}
    for name, text in outputs.items():
        leaked = sorted(form for form in forms if form in text)
        assert not leaked, f"{method}: {name} carries {leaked[:3]}"


def test_the_redactor_knows_the_forms_of_an_encoded_api_key() -> None:
    encoded = base64.b64encode(b"key-id:the-real-api-key").decode()
    redact = Redactor.for_credentials(api_key=encoded)
    text = f"id and key: key-id:the-real-api-key, key alone: the-real-api-key, {html.escape(json.dumps(encoded))}"
    assert "the-real-api-key" not in redact(text) and encoded not in redact(text)
    assert Redactor.for_credentials()("nothing to hide") == "nothing to hide"
