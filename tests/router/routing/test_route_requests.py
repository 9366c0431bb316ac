"""`modelsat route --file` with OpenAI chat `messages`: read by the routing-text rule, like `serve`."""

import json
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from modelsat.cli.main import app
from modelsat.data.zoos import SMALL_5
from modelsat.errors import DataError

ROUTER = Path(__file__).resolve().parents[3] / "routers" / "default"
QUESTION = "Which enzyme unwinds the DNA double helix during replication?"
SYSTEM = "You are the assistant of a law firm. Quote the statute and the case law for every answer. " * 60


def route_file(tmp_path: Path, lines: list[object]) -> Result:
    path = tmp_path / "requests.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    args = ["route", "--router", str(ROUTER), "--models", ",".join(SMALL_5), "--json", "--file", str(path)]
    return CliRunner().invoke(app, args)


def test_chat_lines_route_by_their_question(tmp_path: Path) -> None:
    chat = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "Hello!"},
        {"role": "assistant", "content": "Hi, how can I help?"},
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                {"type": "text", "text": QUESTION},
            ],
        },
    ]
    result = route_file(tmp_path, [{"prompt": QUESTION}, {"messages": chat}])
    assert result.exit_code == 0, result.output
    plain, wrapped = json.loads(result.stdout)
    assert wrapped["instruction"] == QUESTION
    assert wrapped["ranking"] == plain["ranking"]


def test_a_chat_line_without_user_text_is_a_clear_error(tmp_path: Path) -> None:
    result = route_file(tmp_path, [{"prompt": QUESTION}, {"messages": [{"role": "system", "content": SYSTEM}]}])
    assert isinstance(result.exception, DataError)
    assert str(result.exception).endswith("requests.jsonl: request 2 has no user message with text to route")
    result = route_file(tmp_path, [{"messages": [{"role": "user"}, "not a message"]}])
    assert isinstance(result.exception, DataError)
    assert "requests.jsonl:1: 'messages' must be a list of" in str(result.exception)
