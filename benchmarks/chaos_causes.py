"""Why each failed request of a chaos soak (`benchmarks/chaos.py`) failed.

A request fails when it is neither answered nor fallen back: a 502 (every candidate failed or was cooling down),
a stream interrupted with its error event, or anything worse. Its cause is the first of:

- `fault`: a fault the soak injected was in force, from its start until the backend answered a client again, on a
  model the request asked for, was routed to, or tried (the proxy's `x-modelsat-fallback` header names them);
- `cooling`: no injected fault, but the proxy had one of those models cooling down or probing since before the
  reload window (the soak polls `/v1/backends`): a backend that failed on its own, e.g. SmolLM2 answering one
  request at a time too slowly for its queue;
- `reload`: in the reload window, with neither of the above: the reload's fault (the soak fails);
- `backend`: outside the reload window, a backend failed with no fault in force (the proxy's reason is kept).

Example:
    spans = health_spans(samples)  # timed /v1/backends entries
    causes = [cause_of(o, involved(...), faults, spans, window, t0) for o in outcomes if o.kind not in OK]
    print_table(grouped(causes), [c.as_dict() for c in causes if c.cause in ("reload", "backend")])
"""

import math
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

OK = ("answered", "fell_back")


@dataclass
class FaultSpan:
    """An injected fault: from its start until its backend answered a client again (inf: it never did)."""

    model: str
    what: str
    start: float
    end: float = math.inf


@dataclass
class HealthSpan:
    """A stretch of time the proxy had `model` out of every pick (cooling or probing), as `/v1/backends` showed."""

    model: str
    start: float
    end: float
    last_error: str | None


@dataclass
class Cause:
    """One failed request and why: the record the soak's report carries."""

    cause: str  # fault, cooling, reload or backend
    kind: str
    status: int | None
    stream: bool
    phase: str  # before, around or after the reload (or no-reload)
    asked: str  # the model name sent: modelsat or modelsat/solo-N (its model in brackets)
    routed: str | None  # the model that answered the stream, when one did
    tried: str  # the proxy's account of the models it tried (x-modelsat-fallback, x-modelsat-skipped)
    fault: str  # the injected fault(s) or the proxy's cool-down in force on those models, or "none"
    start_s: float  # seconds into the soak
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def health_spans(samples: list[tuple[float, dict[str, dict[str, Any]]]]) -> list[HealthSpan]:
    """Out-of-pick stretches per model from timed `/v1/backends` samples (time, model -> its entry)."""
    spans: list[HealthSpan] = []
    open_: dict[str, HealthSpan] = {}
    for t, states in samples:
        for model, entry in states.items():
            out = entry["state"] != "up"
            if out and model not in open_:
                open_[model] = HealthSpan(model, t, math.inf, entry.get("last_error"))
            elif not out and model in open_:
                span = open_.pop(model)
                span.end = t
                spans.append(span)
            elif out:
                open_[model].last_error = entry.get("last_error")
    return spans + list(open_.values())


def involved(asked_model: str | None, routed: str | None, tried: str) -> set[str]:
    """The models a request depended on: the one it asked for, the one it was routed to, the ones tried."""
    models = {m for m in (asked_model, routed) if m}
    models |= {part.split("=")[0].strip() for part in tried.split(",") if "=" in part}
    return models


def phase_of(start: float, end: float, window: tuple[float, float] | None) -> str:
    if window is None:
        return "no-reload"
    lo, hi = window
    return "before" if end < lo else "after" if start > hi else "around"


def cause_of(
    outcome: Any,
    models: set[str],
    faults: list[FaultSpan],
    health: list[HealthSpan],
    window: tuple[float, float] | None,
    t0: float,
) -> Cause:
    """The cause of failed `outcome`, which depended on `models` (see the module docstring)."""
    phase = phase_of(outcome.start, outcome.end, window)
    overlapping = [f for f in faults if f.model in models and f.start <= outcome.end and f.end >= outcome.start]
    cooling = [h for h in health if h.model in models and h.start <= outcome.end and h.end >= outcome.start]
    if window is not None:  # a cool-down that began in the reload window may be the reload's doing
        cooling = [h for h in cooling if h.start < window[0]]
    if overlapping:
        cause, fault = "fault", ", ".join(f"{f.model}:{f.what}" for f in overlapping)
    elif cooling:
        cause = "cooling"
        fault = ", ".join(f"{h.model} out since {h.start - t0:.0f} s ({h.last_error})" for h in cooling)
    else:
        cause, fault = ("reload" if phase == "around" else "backend"), "none"
    return Cause(
        cause=cause,
        kind=outcome.kind,
        status=outcome.status,
        stream=outcome.stream,
        phase=phase,
        asked=outcome.asked,
        routed=outcome.model,
        tried=outcome.tried,
        fault=fault,
        start_s=round(outcome.start - t0, 2),
        detail=outcome.detail[:120],
    )


def grouped(causes: list[Cause]) -> list[dict[str, Any]]:
    """Failures counted by cause, kind, status, phase, streaming, asked model and fault in force."""
    keys = Counter(
        (c.cause, c.kind, c.status, c.phase, c.stream, c.asked, c.fault.split(" out since")[0]) for c in causes
    )
    names = ("cause", "kind", "status", "phase", "stream", "asked", "fault")
    return [dict(zip(names, key, strict=True)) | {"count": n} for key, n in sorted(keys.items(), key=str)]


def print_table(groups: list[dict[str, Any]], blamed: list[dict[str, Any]]) -> None:
    """The failures table on stderr (rich): one row per group of `grouped`, then each failure with no fault in
    force (`blamed`: `Cause.as_dict()` records)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(stderr=True, width=200)
    table = Table(title=f"{sum(g['count'] for g in groups)} failed requests by cause")
    for name in ("cause", "kind", "status", "phase", "stream", "asked", "fault in force", "count"):
        table.add_column(name, justify="right" if name in ("status", "count") else "left")
    for g in groups:
        values = [g["cause"], g["kind"], str(g["status"]), g["phase"], "yes" if g["stream"] else "no", g["asked"]]
        table.add_row(*map(escape, values), escape(g["fault"]), str(g["count"]))
    console.print(table)
    if blamed:
        detail = Table(title="failed requests with no fault in force")
        for name in ("at s", "cause", "kind", "status", "stream", "asked", "routed", "tried", "detail"):
            detail.add_column(name)
        for c in blamed:
            row = [f"{c['start_s']:.1f}", c["cause"], c["kind"], str(c["status"]), str(c["stream"]), c["asked"]]
            detail.add_row(*map(escape, [*row, str(c["routed"]), c["tried"], c["detail"]]))
        console.print(detail)
