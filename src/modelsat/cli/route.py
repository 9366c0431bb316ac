"""`modelsat route`: rank the candidate models for instructions with a trained router.

Example:
    $ modelsat route --router routers/default "Prove that sqrt(2) is irrational"
    $ modelsat route --router routers/default --cards cards.json --file queries.jsonl --json
"""

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from modelsat.cli.options import DeviceOption, JsonOption, ModelsOption, RouterOption
from modelsat.errors import DataError

out = Console()


def read_instructions(file: Path) -> list[str]:
    """Instructions from a JSONL file (objects with `prompt` or `instruction`, or plain strings)."""
    texts = []
    for number, line in enumerate(file.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{file}:{number}: not valid JSON ({exc.msg})") from exc
        text = item if isinstance(item, str) else (item.get("prompt") or item.get("instruction"))
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{file}:{number}: expected a string or an object with a 'prompt' field")
        texts.append(text)
    if not texts:
        raise DataError(f"{file}: no instructions")
    return texts


def route(
    instruction: Annotated[str | None, typer.Argument(help="The instruction to route.")] = None,
    router: RouterOption = Path("routers/default"),
    cards: Annotated[Path | None, typer.Option("--cards", help="Cards JSON (default: the router's own).")] = None,
    models: ModelsOption = None,
    file: Annotated[Path | None, typer.Option("--file", help="JSONL file of instructions, batched.")] = None,
    as_json: JsonOption = False,
    device: DeviceOption = "cpu",
) -> None:
    """Rank models for an instruction (or every line of --file), best first, with P(Yes)."""
    import numpy as np

    from modelsat.data.zoos import check_models, parse_models
    from modelsat.router.service import load_router

    if (instruction is None) == (file is None):
        raise typer.BadParameter("give an instruction or --file, not both")
    texts = read_instructions(file) if file else [instruction]
    service = load_router(router, cards, device=device)
    chosen = check_models(parse_models(models), service.models) if models else service.models
    scores = service.score_instructions(texts, chosen)
    probs = 1 / (1 + np.exp(-scores))
    results = []
    for text, row, prob in zip(texts, scores, probs, strict=True):
        ranking = [
            {"model": chosen[i], "p_yes": float(prob[i]), "log_odds": float(row[i])}
            for i in np.argsort(-row, kind="stable")
        ]
        results.append({"instruction": text, "model": ranking[0]["model"], "ranking": ranking})
    if as_json:
        print(json.dumps(results[0] if instruction is not None else results))
        return
    for item in results:
        table = Table("rank", "model", "P(Yes)", "log-odds", title=item["instruction"][:80])
        for rank, entry in enumerate(item["ranking"], start=1):
            table.add_row(str(rank), entry["model"], f"{entry['p_yes']:.3f}", f"{entry['log_odds']:+.3f}")
        out.print(table)


def register(app: typer.Typer) -> None:
    """Add `route` to `app`."""
    app.command("route")(route)
