"""A loaded router ready to route: cards checked against its aptitude set, the cards' connector outputs
computed once per candidate set, log-odds calibrated when the router directory has a
calibration.json (`modelsat calibrate`).

`RoutingService` is both an `InstructionScorer` (raw instruction texts, used by `route` and `serve`)
and a `Router` (query tables, used by `evaluate`). Either way an instruction is scored on its routing text
(`router/routing/routing_text.py`), the rule `serve` also applies to chats.

Example:
    service = load_router(Path("routers/default"), Path("cards.json"))
    ranking = service.rank("Integrate x^2 from 0 to 1")  # [(model, P(Yes)), ...] best first
"""

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from modelsat.aptitude.cards import Card, load_cards
from modelsat.errors import RouterError
from modelsat.router.routing.calibration import CALIBRATION_FILE, Calibration
from modelsat.router.routing.llm.inference import card_clause_tokens, score_in_batches, use_bf16
from modelsat.router.routing.llm.loading import load_router_dir
from modelsat.router.routing.llm.model import RouterNet
from modelsat.router.routing.routing_text import RoutingTextReader

MAX_CACHED_CANDIDATE_SETS = 16  # distinct candidate lists whose connector outputs are kept


class RoutingService:
    """Scores instructions against a fixed set of cards with a trained router."""

    name = "model-sat"

    def __init__(
        self,
        net: RouterNet,
        cards: dict[str, Card],
        bf16: bool,
        batch_size: int = 32,
        calibration: Calibration | None = None,
    ) -> None:
        self.net = net
        self.cards = cards
        self.models = list(cards)
        self.bf16 = bf16
        self.batch_size = batch_size
        self.calibration = calibration
        self.reader = RoutingTextReader.for_router(net.llm_tokenizer, net.cfg)
        self.last_ms_per_query: float | None = None
        self._clause_tokens: dict[tuple[str, ...], list[torch.Tensor]] = {}

    def _candidates(self, models: Sequence[str] | None) -> tuple[list[Card], list[torch.Tensor]]:
        """The chosen models' cards and their connector outputs, computed once per candidate list (the
        weights never change here)."""
        key = tuple(models) if models is not None else tuple(self.models)
        cards = self._cards(key)
        if key not in self._clause_tokens:
            if len(self._clause_tokens) >= MAX_CACHED_CANDIDATE_SETS:
                self._clause_tokens.pop(next(iter(self._clause_tokens)))
            self._clause_tokens[key] = card_clause_tokens(self.net, cards, self.bf16)
        return cards, self._clause_tokens[key]

    def _cards(self, models: Sequence[str]) -> list[Card]:
        unknown = [m for m in models if m not in self.cards]
        if unknown:
            raise RouterError(f"no card for model(s) {', '.join(unknown)}; cards exist for: {', '.join(self.models)}")
        return [self.cards[m] for m in models]

    def score_instructions(self, instructions: Sequence[str], models: Sequence[str] | None = None) -> np.ndarray:
        """(len(instructions), len(models)) log-odds of 'Yes' (calibrated when the router has a calibration) for
        each instruction's routing text; higher = more likely to answer well."""
        started = time.perf_counter()
        cards, clause_tokens = self._candidates(models)
        texts = self.reader.texts(instructions)
        scores = score_in_batches(self.net, texts, cards, self.batch_size, self.bf16, clause_tokens=clause_tokens)
        self.last_ms_per_query = 1000 * (time.perf_counter() - started) / max(1, len(instructions))
        return scores if self.calibration is None else self.calibration.apply(scores).astype(np.float32)

    def score(self, queries: pd.DataFrame, models: Sequence[str]) -> np.ndarray:
        """`Router` interface: scores for the `prompt` column of `queries`."""
        return self.score_instructions(queries["prompt"].astype(str).tolist(), models)

    def rank(self, instruction: str, models: Sequence[str] | None = None) -> list[tuple[str, float]]:
        """Models best-first with P(Yes) = sigmoid(log-odds)."""
        chosen = list(models) if models is not None else self.models
        log_odds = self.score_instructions([instruction], chosen)[0]
        probs = 1 / (1 + np.exp(-log_odds))
        order = np.argsort(-log_odds, kind="stable")
        return [(chosen[i], float(probs[i])) for i in order]


def load_router(
    router_dir: Path,
    cards_path: Path | None = None,
    device: str = "cpu",
    bf16: str = "auto",
    calibrated: bool = True,
) -> RoutingService:
    """Load a router directory and the cards to route between (default: the router's own cards.json).

    With `calibrated`, the directory's calibration.json (when there is one) maps the log-odds.

    Raises:
        RouterError: missing router files, cards made against another aptitude set, a bad calibration file.
    """
    net, cfg, aptitude = load_router_dir(Path(router_dir), device=device)
    path = Path(cards_path) if cards_path is not None else Path(router_dir) / "cards.json"
    cards = load_cards(path)
    foreign = [m for m, c in cards.items() if c.aptitude_fingerprint != aptitude.fingerprint]
    if foreign:
        raise RouterError(
            f"{path}: card(s) of {', '.join(foreign)} were made against another aptitude set "
            f"(router {router_dir} uses {aptitude.fingerprint}); re-run `modelsat profile --router {router_dir}`"
        )
    calibration_path = Path(router_dir) / CALIBRATION_FILE
    calibration = Calibration.load(calibration_path) if calibrated and calibration_path.is_file() else None
    return RoutingService(net, cards, use_bf16(bf16, torch.device(device)), calibration=calibration)
