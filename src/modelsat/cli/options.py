"""Flags shared by several commands, defined once (same spelling everywhere)."""

from pathlib import Path
from typing import Annotated

import typer

ZooOption = Annotated[str | None, typer.Option("--zoo", help="Named zoo: small-5, small, mixed or all.")]
ModelsOption = Annotated[str | None, typer.Option("--models", help="Comma-separated model names.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]
RouterOption = Annotated[Path, typer.Option("--router", help="Router directory (see `modelsat train`).")]
DeviceOption = Annotated[str, typer.Option("--device", help="torch device: cpu, cuda, cuda:1, ...")]
SetOption = Annotated[
    list[str] | None, typer.Option("--set", help="Override a config value, e.g. --set train.stage1_steps=100.")
]
ModeOption = Annotated[
    str | None,
    typer.Option(
        "--mode",
        help="Routing mode: fast (the request's encoder embedding and the accuracy readout; the capability LLM is "
        "not loaded) or full (the capability LLM reads every card too). Default: fast for a router with an accuracy "
        "readout, else full. See docs/router.md.",
    ),
]
