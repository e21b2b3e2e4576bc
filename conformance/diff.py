"""``deployment-conformance diff OLD_REPORT_DIR NEW_REPORT_DIR``: what changed between runs.

Like the per-API pass/fail diff Elasticsearch's specification CI posts on a pull request,
it lists the rules that started failing and those that stopped, so a change to a server
(or to the suite) is judged by what it broke. Exit code 1 when a rule newly fails, 0
otherwise, 2 when a report folder cannot be read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.rules.base import Outcome

FAILING = frozenset({Outcome.FAIL, Outcome.ERROR})  # outcomes as results.json writes them (their values)


class ReportError(ValueError):
    """A report folder without a readable ``results.json`` (one line, exit code 2)."""


@dataclass(frozen=True)
class Change:
    rule_id: str
    level: str
    old: str | None  # outcome in the old run (None: the rule did not exist)
    new: str | None
    reason: str = ""  # the new failure's first message


@dataclass(frozen=True)
class Diff:
    newly_failing: tuple[Change, ...]
    no_longer_failing: tuple[Change, ...]
    notes: tuple[str, ...]  # the runs differ in what they judged (target, profile, ...)

    @property
    def exit_code(self) -> int:
        return 1 if self.newly_failing else 0


def load(directory: str) -> Mapping[str, Any]:
    path = os.path.join(directory, "results.json")
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise ReportError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError:
        raise ReportError(f"{path} is not JSON") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("rules"), list):
        raise ReportError(f"{path} is not a deployment-conformance results.json")
    return data


def compare(old: Mapping[str, Any], new: Mapping[str, Any]) -> Diff:
    """Rules failing (fail or error) in ``new`` but not in ``old``, and the reverse."""
    before = {r["id"]: r for r in old["rules"]}
    after = {r["id"]: r for r in new["rules"]}
    started: list[Change] = []
    stopped: list[Change] = []
    for rule_id in sorted(before.keys() | after.keys()):
        was, now = before.get(rule_id), after.get(rule_id)
        was_failing = was is not None and was.get("outcome") in FAILING
        is_failing = now is not None and now.get("outcome") in FAILING
        if was_failing == is_failing:
            continue
        change = Change(
            rule_id,
            str((now or was or {}).get("level", "")),
            was and was.get("outcome"),
            now and now.get("outcome"),
            _reason(now) if is_failing else "",
        )
        (started if is_failing else stopped).append(change)
    return Diff(tuple(started), tuple(stopped), _notes(old.get("run") or {}, new.get("run") or {}))


def render(diff: Diff, old_dir: str, new_dir: str) -> str:
    lines = [f"deployment-conformance diff: {old_dir} -> {new_dir}"]
    lines += [f"  note: {note}" for note in diff.notes]
    lines.append(f"newly failing: {len(diff.newly_failing)}")
    lines += [f"  + {c.rule_id} [{c.level}] ({c.old or 'absent'} -> {c.new}): {c.reason}" for c in diff.newly_failing]
    lines.append(f"no longer failing: {len(diff.no_longer_failing)}")
    lines += [f"  - {c.rule_id} [{c.level}] ({c.old} -> {c.new or 'absent'})" for c in diff.no_longer_failing]
    return "\n".join(lines)


def _reason(rule: Mapping[str, Any] | None) -> str:
    messages = ((rule or {}).get("evidence") or {}).get("messages") or []
    return " ".join(str(messages[0]).split())[:200] if messages else str((rule or {}).get("outcome"))


def _notes(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, ...]:
    notes = []
    for key in ("version", "profile", "select"):
        if old.get(key) != new.get(key):
            notes.append(f"{key} differs: {old.get(key)} -> {new.get(key)}")
    return tuple(notes)
