"""`modelsat route`: rank the candidate models for instructions with a trained router.

Example:
    $ modelsat route --router routers/default "Prove that sqrt(2) is irrational"
    $ modelsat route --router routers/default --cards cards.json --file queries.jsonl --json
    # queries.jsonl: {"prompt": "..."} or {"messages": [{"role": "system", "content": "..."}, ...]} per line
    $ modelsat route --router DIR --prices configs/prices/mixed.yaml --lambda 200 --max-cost 0.0005 "..."
    $ modelsat route --router routers/routerbench --prices PRICES --target quality=0.95 "..."   # λ from targets.json
    $ modelsat route --router routers/default --mode full "..."    # the capability LLM reads every card too
"""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from modelsat.cli.options import DeviceOption, JsonOption, ModelsOption, ModeOption, RouterOption
from modelsat.errors import ConfigError, DataError
from modelsat.router.routing.routing_text import Turn, content_text

if TYPE_CHECKING:
    import numpy as np

    from modelsat.cost.targets import TargetChoice
    from modelsat.router.routing.routing_text import RoutingTextReader

out = Console()


def read_requests(file: Path) -> list[str | list[Turn]]:
    """Requests from a JSONL file: plain strings, objects with `prompt` or `instruction`, or objects with OpenAI
    chat `messages` (read as chat turns)."""
    requests: list[str | list[Turn]] = []
    for number, line in enumerate(file.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{file}:{number}: not valid JSON ({exc.msg})") from exc
        if isinstance(item, dict) and "messages" in item:
            requests.append(_turns(item["messages"], f"{file}:{number}"))
            continue
        text = item if isinstance(item, str) else (item.get("prompt") or item.get("instruction"))
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{file}:{number}: expected a string or an object with a 'prompt' or 'messages' field")
        requests.append(text)
    if not requests:
        raise DataError(f"{file}: no instructions")
    return requests


def _turns(messages: object, where: str) -> list[Turn]:
    """OpenAI chat messages as turns, checked."""
    if not isinstance(messages, list) or not all(
        isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str | list | None)
        for m in messages
    ):
        raise DataError(f"{where}: 'messages' must be a list of {{'role': str, 'content': str or parts}} objects")
    return [Turn(m["role"], content_text(m.get("content"))) for m in messages]


def routing_texts(requests: list[str | list[Turn]], reader: "RoutingTextReader", where: str) -> list[str]:
    """What the router reads of each request; a chat without user text is an error."""
    texts = [r if isinstance(r, str) else reader.read(r).text for r in requests]
    empty = [i for i, text in enumerate(texts) if not text]
    if empty:
        raise DataError(f"{where}: request {empty[0] + 1} has no user message with text to route")
    return texts


def route(
    instruction: Annotated[str | None, typer.Argument(help="The instruction to route.")] = None,
    router: RouterOption = Path("routers/default"),
    cards: Annotated[Path | None, typer.Option("--cards", help="Cards JSON (default: the router's own).")] = None,
    models: ModelsOption = None,
    file: Annotated[Path | None, typer.Option("--file", help="JSONL file of instructions, batched.")] = None,
    as_json: JsonOption = False,
    device: DeviceOption = "cpu",
    prices: Annotated[
        Path | None, typer.Option("--prices", help="Prices YAML (USD per 1M tokens per model): route on cost too.")
    ] = None,
    lam: Annotated[
        float, typer.Option("--lambda", min=0, help="Cost weight: maximise P(Yes) - λ·cost (USD). Needs --prices.")
    ] = 0.0,
    max_cost: Annotated[
        float | None, typer.Option("--max-cost", min=0, help="Only models estimated to cost ≤ this (USD per query).")
    ] = None,
    mode: ModeOption = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            help="quality=0.95, budget=0.3 or strong_share=0.5: the λ calibrated for it (`calibrate --targets`). "
            "Needs --prices.",
        ),
    ] = None,
) -> None:
    """Rank models for an instruction (or every line of --file), best first, with P(Yes) (and cost with --prices)."""
    import numpy as np

    from modelsat.cost.prices import load_prices
    from modelsat.data.zoos import check_models, parse_models
    from modelsat.router.routing.service import load_router

    if (instruction is None) == (file is None):
        raise typer.BadParameter("give an instruction or --file, not both")
    if prices is None and (lam or max_cost is not None or target is not None):
        raise ConfigError("--lambda, --max-cost and --target need --prices FILE (USD per 1M tokens per model)")
    if target is not None and lam:
        raise ConfigError("give --lambda or --target, not both (the target sets λ)")
    requests = read_requests(file) if file else [instruction]
    table = load_prices(prices) if prices else None
    service = load_router(router, cards, device=device, mode=mode)
    choice = target_choice(router, service.mode, target) if target is not None else None
    texts = routing_texts(requests, service.reader, str(file))
    chosen = check_models(parse_models(models), service.models) if models else service.models
    if table is not None:
        table.check(chosen, str(prices))
    scores = service.score_instructions(texts, chosen)
    probs = 1 / (1 + np.exp(-scores))
    inputs = [r if isinstance(r, str) else "\n".join(turn.text for turn in r) for r in requests]  # what a model reads
    costs = table.estimate(inputs, chosen) if table is not None else np.zeros_like(probs)
    lams = [lam if choice is None else choice.lam_for(text) for text in inputs]  # a target's λ drawn per request
    results = [
        _result(text, chosen, row, prob, cost, lam_i, max_cost, table is not None)
        for text, row, prob, cost, lam_i in zip(texts, scores, probs, costs, lams, strict=True)
    ]
    if as_json:
        print(json.dumps(results[0] if instruction is not None else results))
        return
    for item in results:
        _print(item, table is not None)


def target_choice(router: Path, mode: str, target: str) -> "TargetChoice":
    """The λ (or mix of two) calibrated for `target` on `router` in routing mode `mode` (stderr says what it
    expects)."""
    from modelsat.cost.targets import Target, TargetCurve, targets_file

    choice = TargetCurve.load(router / targets_file(mode)).resolve(Target.parse(target))
    mix = f", {choice.share_alt:.0%} of requests at λ = {choice.lam_alt:.4g}" if choice.share_alt > 0 else ""
    Console(stderr=True).print(
        f"{choice.target}: λ = {choice.lam:.4g}{mix} ({choice.promise}; on validation: accuracy "
        f"{choice.expected_accuracy:.1%}, {choice.expected_cost:.4g} USD per query)"
    )
    return choice


def _result(
    text: str,
    models: list[str],
    log_odds: "np.ndarray",
    probs: "np.ndarray",
    costs: "np.ndarray",
    lam: float,
    max_cost: float | None,
    priced: bool,
) -> dict:
    """One instruction's decision: models best first under the trade-off (by P(Yes) alone without prices)."""
    from modelsat.cost.policy import ranking

    order = ranking(probs if priced else log_odds, costs, lam, max_cost)  # log-odds: no ties from saturation
    entries = []
    for i in order:
        entry = {"model": models[i], "p_yes": float(probs[i]), "log_odds": float(log_odds[i])}
        if priced:
            entry |= {"cost_usd": float(costs[i]), "net_utility": float(probs[i] - lam * costs[i])}
        entries.append(entry)
    item = {"instruction": text, "model": entries[0]["model"], "ranking": entries}
    if priced and max_cost is not None:
        item["over_budget"] = bool(costs[order[0]] > max_cost)
    return item


def _print(item: dict, priced: bool) -> None:
    """One instruction's ranking as a table."""
    columns = ["rank", "model", "P(Yes)", "log-odds"] + (["cost (USD)", "P - λ·cost"] if priced else [])
    title = item["instruction"][:80] + (
        " (no model fits --max-cost: cheapest chosen)" if item.get("over_budget") else ""
    )
    table = Table(*columns, title=title)
    for rank, entry in enumerate(item["ranking"], start=1):
        cells = [str(rank), entry["model"], f"{entry['p_yes']:.3f}", f"{entry['log_odds']:+.3f}"]
        if priced:
            cells += [f"{entry['cost_usd']:.6f}", f"{entry['net_utility']:+.3f}"]
        table.add_row(*cells)
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add `route` to `app`."""
    app.command("route")(route)
