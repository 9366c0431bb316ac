"""The add-a-router guide's example (docs/baselines.md) runs as written."""

import re
import sys
from pathlib import Path

from topic_zoo import MODELS, topic_outcomes

from modelsat.baselines.registry import BASELINES

GUIDE = Path(__file__).parents[2] / "docs" / "baselines.md"


def test_guide_example_registers_and_evaluates(tmp_path, monkeypatch, capsys) -> None:
    module, usage = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.S)
    (tmp_path / "my_routers.py").write_text(module)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(BASELINES, "_targets", dict(BASELINES._targets))  # keep the registration local
    outcomes = topic_outcomes(400, seed=0, prefix="doc")
    namespace = {"outcomes": outcomes, "models": MODELS}
    exec(compile(usage, str(GUIDE), "exec"), namespace)
    report = namespace["report"]
    assert "length" in report["methods"]
    assert report["methods"]["length"]["accuracy"] <= report["methods"]["oracle"]["accuracy"]
    assert "| **length** |" in capsys.readouterr().out
    sys.modules.pop("my_routers", None)
