"""Fast routing (`--mode fast`): the router's score less the capability LLM's log-odds, from the same router folder,
without loading (or importing) the LLM; full routing one flag away."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from router_doubles import TINY_TRAIN, synthetic_outcomes
from safetensors.torch import load_file, save_file

from modelsat.aptitude.cards import load_cards
from modelsat.errors import ConfigError, RouterError
from modelsat.router.config import ModelsatConfig
from modelsat.router.routing.folder import read_router_config
from modelsat.router.routing.modes import default_mode, has_fast_terms
from modelsat.router.routing.service import load_router
from modelsat.router.training.train import train_router

SHIPPED = Path(__file__).resolve().parents[3] / "routers" / "default"
MODELS = ["mathy", "historian"]
TEXTS = ["Compute the integral of x^2.", "Which president signed the treaty?", "Solve 3x + 1 = 7 for x."]
ROUTERS = {  # router settings of each tiny router: the readout's two kinds of keys, a prior head, the LLM alone
    "prototypes": {"accuracy_readout": True, "readout_keys": "prototypes", "instruction_pooling": True},
    "clauses-prior": {"accuracy_readout": True, "prior_head": True},
    "llm-only": {"prior_head": False},
}


@pytest.fixture(scope="module")
def tiny_routers(tiny_specs, tmp_path_factory) -> dict[str, Path]:
    """Tiny routers trained for two steps on synthetic outcomes; the prior head is moved off its zero start so that
    its term counts."""
    folders = {}
    for name, settings in ROUTERS.items():
        folder = tmp_path_factory.mktemp(name)
        router = {"llm": tiny_specs["llm"], "encoder": tiny_specs["encoder"], **settings}
        cfg = ModelsatConfig.model_validate({"router": router, "train": TINY_TRAIN | {"stage1_steps": 2}})
        train_router(synthetic_outcomes(), MODELS, cfg, folder)
        if settings.get("prior_head"):
            state = load_file(str(folder / "weights.safetensors"))
            generator = torch.Generator().manual_seed(0)
            state["capability.prior.weight"] = torch.randn(state["capability.prior.weight"].shape, generator=generator)
            save_file(state, str(folder / "weights.safetensors"))
        folders[name] = folder
    return folders


@pytest.mark.parametrize("name", ["prototypes", "clauses-prior"])
def test_fast_scores_are_the_full_score_without_the_llm_term(tiny_routers, name) -> None:
    full = load_router(tiny_routers[name], bf16="off", calibrated=False, mode="full")
    fast = full.with_mode("fast")
    assert (fast.mode, fast.name, full.name) == ("fast", "model-sat-fast", "model-sat")
    net = full.scorer.net
    cards = [full.cards[m] for m in MODELS]
    texts = full.reader.texts(TEXTS)
    with torch.no_grad():
        embedded = net.capability.embed_texts(texts).float()
        caps = net.capability_tokens(cards, embedded=embedded if net.cfg.instruction_pooling else None)
        prior = torch.as_tensor(net.capability.prior_scores(caps))
        expected = (net.readout_scores(cards, embedded) + prior).expand(len(texts), -1).numpy()
    fast_scores = fast.score_instructions(TEXTS, MODELS)
    np.testing.assert_allclose(fast_scores, expected, atol=1e-5)
    if name == "clauses-prior":
        assert np.abs(prior.numpy()).max() > 1e-3, "the prior head's term must count in this test"
    llm_part = full.score_instructions(TEXTS, MODELS) - fast_scores
    assert np.abs(llm_part).max() > 1e-4, "full adds the LLM's log-odds"
    np.testing.assert_allclose(full.score_instructions(TEXTS, MODELS, mode="fast"), fast_scores, atol=1e-6)
    np.testing.assert_allclose(fast.score_instructions(TEXTS[:1], ["historian"]), fast_scores[:1, [1]], atol=1e-5)


def test_a_router_scored_by_its_llm_alone_has_no_fast_mode(tiny_routers) -> None:
    with pytest.raises(RouterError, match="route it with --mode full"):
        load_router(tiny_routers["llm-only"], mode="fast")
    assert load_router(tiny_routers["llm-only"]).mode == "full", "unless told, such a router routes in full"
    assert load_router(tiny_routers["prototypes"]).mode == "fast"
    routerbench = read_router_config(SHIPPED.parent / "routerbench")[0].router  # a prior head, no readout
    assert has_fast_terms(routerbench) and default_mode(routerbench) == "full"
    full = load_router(tiny_routers["llm-only"], bf16="off", mode="full")
    assert full.score_instructions(TEXTS, MODELS).shape == (3, 2)
    with pytest.raises(RouterError, match="route it with --mode full"):
        full.with_mode("fast")
    with pytest.raises(ConfigError, match="use one of fast, full"):
        full.with_mode("quick")


def test_modes_share_the_loaded_router_and_load_the_other_once(tiny_routers) -> None:
    fast = load_router(tiny_routers["prototypes"], bf16="off", mode="fast")
    full = fast.with_mode("full")
    assert fast.with_mode("full") is full and full.with_mode("fast") is fast
    assert full.cards is fast.cards and full.reader is fast.reader


def test_the_fast_path_imports_neither_the_llm_nor_training() -> None:
    """The shipped router in fast mode, in a fresh interpreter: which modules routing needed."""
    code = (
        "import sys, json\n"
        "from modelsat.router.routing.service import load_router\n"
        f"service = load_router({str(SHIPPED)!r}, mode='fast')\n"
        "scores = service.score_instructions(['Find the eigenvalues of [[2, 1], [1, 2]].'])\n"
        "print(json.dumps({'shape': list(scores.shape), 'modules': sorted(m for m in sys.modules "
        "if m.startswith('modelsat.router'))}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["shape"] == [1, len(load_cards(SHIPPED / "cards.json"))]
    assert "modelsat.router.routing.fast" in report["modules"]
    leaked = [m for m in report["modules"] if m.startswith(("modelsat.router.routing.llm", "modelsat.router.training"))]
    assert leaked == []


def test_route_command_takes_the_mode(tiny_routers, cli) -> None:
    router = tiny_routers["prototypes"]
    rankings = {}
    for mode in ("fast", "full"):
        code, out, err = cli("route", "--router", router, "--mode", mode, "--json", TEXTS[0])
        assert code == 0, err
        rankings[mode] = json.loads(out)["ranking"]
    fast = load_router(router, mode="fast").score_instructions(TEXTS[:1], MODELS)[0]
    assert {r["model"]: r["log_odds"] for r in rankings["fast"]} == pytest.approx(
        dict(zip(MODELS, fast, strict=True)), abs=1e-5
    )
    assert rankings["fast"] != rankings["full"]
    code, _, err = cli("route", "--router", router, "--mode", "quick", TEXTS[0])
    assert code == 2 and "unknown routing mode 'quick'" in err


def test_evaluate_reports_both_modes_on_the_same_queries(tiny_routers, tmp_path, cli) -> None:
    outcomes = tmp_path / "outcomes.parquet"
    synthetic_outcomes().to_parquet(outcomes)
    report_path = tmp_path / "report.json"
    args = ["--outcomes", outcomes, "--models", ",".join(MODELS), "--router", tiny_routers["prototypes"]]
    code, out, err = cli("evaluate", *args, "--baselines", "best-single", "-o", report_path)
    assert code == 0, err
    report = json.loads(report_path.read_text())
    assert {"model-sat", "model-sat-fast"} <= set(report["methods"])
    timing = report["timing"]["by_method"]
    assert timing["model-sat"]["route_ms_p50"] > 0 and timing["model-sat-fast"]["route_ms_p50"] > 0
    assert report["timing"]["method"] == "model-sat"
    assert "model-sat-fast" in report["model_sat_vs"] and "model-sat" in report["model_sat_fast_vs"]
    assert "Model-SAT fast minus each method" in out
    code, _, err = cli("evaluate", *args, "--mode", "fast", "-o", report_path)
    assert code == 0, err
    report = json.loads(report_path.read_text())
    assert "model-sat" not in report["methods"] and report["timing"]["method"] == "model-sat-fast"
    code, _, err = cli("evaluate", *args, "--mode", "quick", "-o", report_path)
    assert code == 2 and "--mode must be fast, full or both" in err
