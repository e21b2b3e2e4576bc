"""The two pictures of ``report.html``, as inline SVG (no library, no external asset).

- :func:`node_svg`: per ML node, the processors and memory the target reports against
  what the routing table of one exchange planned there (§3.2: a normal-priority
  allocation needs ``threads_per_allocation`` processors; a deployment needs about
  240 MB + 2 × ``model_bytes`` of memory on each node that hosts it), with the other
  deployments' use as the state read after the exchange shows it.
- :func:`timeline_svg`: a deployment's requested count, planned targets and current
  allocations over the run, as read after each judged exchange, failures marked.

Every text that came from the target is escaped: the pictures are markup too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

MB = 1024 * 1024
BASE_DEPLOYMENT_MEMORY = 240 * MB  # §3.2 estimateMemoryUsageBytes without per-deployment metadata
BAR_WIDTH, ROW_HEIGHT, LABEL_WIDTH = 360, 22, 150
# Each series is drawn a few pixels off the others (and dashed differently), so that
# equal counts, the usual case, still show as three lines.
SERIES = (
    ("requested", "#555", "number_of_allocations (requested)", -3, ""),
    ("planned", "#1f6feb", "target_allocation_count (planned)", 0, "6 3"),
    ("current", "#2da44e", "allocation_count (current)", 3, "2 2"),
)


def planned_routes(evidence: Mapping[str, Any]) -> tuple[str, dict[str, int], int, int | None]:
    """The addressed deployment, its planned allocations per node, threads and model bytes.

    The routing table of a 200 answer says what was planned; without one, the state read
    after the exchange says what ran.
    """
    intent = evidence.get("intent") or {}
    deployment = (intent.get("deployment") or {}).get("deployment_id", "")
    body = _json((evidence.get("response") or {}).get("body"))
    assignment = body.get("assignment") if isinstance(body, Mapping) else None
    if isinstance(assignment, Mapping) and isinstance(assignment.get("routing_table"), Mapping):
        parameters = assignment.get("task_parameters") or {}
        routes = {
            node: _int(route.get("target_allocations"))
            for node, route in assignment["routing_table"].items()
            if isinstance(route, Mapping)
        }
        return (
            deployment,
            routes,
            _int(parameters.get("threads_per_allocation"), 1),
            _maybe_int(parameters.get("model_bytes")),
        )
    observed = (evidence.get("after") or {}).get(deployment) or {}
    routes = {node: _int(n.get("allocations")) for node, n in (observed.get("nodes") or {}).items()}
    return deployment, routes, _int(observed.get("threads_per_allocation"), 1), None


def node_svg(evidence: Mapping[str, Any], nodes: Sequence[Mapping[str, Any]]) -> str:
    """One row per ML node: processors (capacity line, others' use, this deployment's plan)
    and memory (node memory, this deployment's estimate where it has a route)."""
    if not nodes:
        return "<p class=muted>No ML node was discovered: nothing to draw.</p>"
    deployment, routes, threads, model_bytes = planned_routes(evidence)
    others = _others_use(evidence.get("after") or {}, deployment)
    rows = []
    for index, node in enumerate(nodes):
        node_id = str(node.get("id"))
        capacity = float(node.get("allocated_processors") or 0)
        mine = routes.get(node_id, 0) * threads
        used = others.get(node_id, 0)
        scale = max(capacity, mine + used, 1.0)
        y = index * 2 * ROW_HEIGHT
        over = mine + used > capacity
        rows.append(_label(y, f"{node_id}: {capacity:g} processors"))
        rows.append(_bar(y, 0, used / scale, "#b1b1b1", f"other deployments: {used} processors"))
        rows.append(
            _bar(
                y,
                used / scale,
                mine / scale,
                "#cf222e" if over else "#1f6feb",
                f"{deployment}: {routes.get(node_id, 0)} allocation(s) x {threads} thread(s) = {mine}",
            )
        )
        rows.append(
            f"<line x1='{LABEL_WIDTH + BAR_WIDTH * capacity / scale:.1f}' "
            f"x2='{LABEL_WIDTH + BAR_WIDTH * capacity / scale:.1f}' "
            f"y1='{y}' y2='{y + ROW_HEIGHT - 4}' stroke='#000' stroke-width='2'><title>capacity "
            f"{capacity:g}</title></line>"
        )
        rows.append(
            _text(LABEL_WIDTH + BAR_WIDTH + 8, y + 14, f"{used + mine} of {capacity:g}" + (" (over)" if over else ""))
        )
        memory = node.get("memory_bytes")
        estimate = (BASE_DEPLOYMENT_MEMORY + 2 * model_bytes) if model_bytes is not None and routes.get(node_id) else 0
        y += ROW_HEIGHT
        rows.append(_label(y, f"memory {_mb(memory)}"))
        if memory:
            rows.append(
                _bar(
                    y,
                    0,
                    min(estimate / memory, 1.0),
                    "#8250df",
                    f"{deployment}: about {_mb(estimate)} (240 MB + 2 x model_bytes, §3.2)",
                )
            )
            used_text = f"{_mb(estimate)} of {_mb(memory)}" if estimate else "no route of this deployment"
            rows.append(_text(LABEL_WIDTH + BAR_WIDTH + 8, y + 14, used_text))
    height = len(nodes) * 2 * ROW_HEIGHT
    return (
        f"<svg class=nodes width='{LABEL_WIDTH + BAR_WIDTH + 200}' "
        f"height='{height}' role='img' aria-label='processors and memory per ML node'>" + "".join(rows) + "</svg>"
    )


def timeline_svg(deployment: str, points: Sequence[Mapping[str, Any]], width: int = 900, height: int = 240) -> str:
    """Step lines of the three counts over the run's time; a red mark where a rule failed."""
    if not points:
        return "<p class=muted>No state of this deployment was read after a judged exchange.</p>"
    left, right, top, bottom = 40, 10, 10, 30
    t0, t1 = float(points[0]["t"]), float(points[-1]["t"])
    span = max(t1 - t0, 1e-6)
    peak = max([_int(p.get(series[0])) for p in points for series in SERIES] + [1])

    def x(t: float) -> float:
        return left + (width - left - right) * (t - t0) / span

    def y(value: int) -> float:
        return top + (height - top - bottom) * (1 - value / peak)

    parts = [
        f"<svg class=timeline width='{width}' height='{height}' role='img' "
        f"aria-label='allocations of {escape(deployment)} over the run'>"
    ]
    for tick in sorted({0, peak, peak // 2}):
        parts.append(f"<line x1='{left}' x2='{width - right}' y1='{y(tick):.1f}' y2='{y(tick):.1f}' stroke='#eee'/>")
        parts.append(_text(4, y(tick) + 4, str(tick)))
    for key, colour, name, offset, dashes in SERIES:
        steps: list[str] = []
        previous: float | None = None
        for point in points:
            value = point.get(key)
            if value is None:
                continue
            px, py = x(float(point["t"])), y(_int(value)) + offset
            steps.append(f"{px:.1f},{previous:.1f} {px:.1f},{py:.1f}" if previous is not None else f"{px:.1f},{py:.1f}")
            previous = py
        if steps:
            parts.append(
                f"<polyline class='series {key}' fill='none' stroke='{colour}' stroke-width='2' "
                f"stroke-dasharray='{dashes}' points='{' '.join(steps)}'><title>{escape(name)}</title>"
                "</polyline>"
            )
    for point in points:
        if point.get("failed"):
            rules = ", ".join(point["failed"])
            parts.append(
                f"<circle class=failure cx='{x(float(point['t'])):.1f}' cy='{top + 4}' r='4' fill='#cf222e'>"
                f"<title>{escape(str(point.get('kind')))} (HTTP {escape(str(point.get('status')))}) "
                f"failed {escape(rules)}</title></circle>"
            )
    parts.append(_text(left, height - 8, "0 s"))
    parts.append(_text(width - right - 60, height - 8, f"{span:.1f} s"))
    legend = "".join(f"<tspan fill='{colour}'>&#9632; {escape(name)}  </tspan>" for _, colour, name, _, _ in SERIES)
    parts.append(
        f"<text x='{left + 60}' y='{height - 8}' font-size='11'>{legend}"
        f"<tspan fill='#cf222e'>&#9679; a rule failed</tspan></text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def _others_use(after: Mapping[str, Any], deployment: str) -> dict[str, int]:
    """Processors other normal-priority deployments use per node (low priority has its own pool, §3.2)."""
    used: dict[str, int] = {}
    for deployment_id, observed in after.items():
        if deployment_id == deployment or observed.get("priority") == "low":
            continue
        for node, route in (observed.get("nodes") or {}).items():
            used[node] = used.get(node, 0) + _int(route.get("allocations")) * _int(
                route.get("threads_per_allocation"), 1
            )
    return used


def _bar(y: float, start: float, fraction: float, colour: str, title: str) -> str:
    return (
        f"<rect x='{LABEL_WIDTH + BAR_WIDTH * start:.1f}' y='{y}' width='{BAR_WIDTH * fraction:.1f}' "
        f"height='{ROW_HEIGHT - 4}' fill='{colour}'><title>{escape(title)}</title></rect>"
    )


def _label(y: float, text: str) -> str:
    return (
        f"<rect x='{LABEL_WIDTH}' y='{y}' width='{BAR_WIDTH}' height='{ROW_HEIGHT - 4}' fill='none' "
        f"stroke='#ccc'/>" + _text(0, y + 14, text)
    )


def _text(x: float, y: float, text: str) -> str:
    return f"<text x='{x:.1f}' y='{y:.1f}' font-size='12'>{escape(text)}</text>"


def _mb(value: Any) -> str:
    return f"{int(value) / MB:,.0f} MB" if isinstance(value, (int, float)) and value else "unknown"


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _maybe_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
