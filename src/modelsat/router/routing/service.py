"""A loaded router ready to route: cards checked against its aptitude set, the cards' side of scoring computed
once per candidate set, scores calibrated when the router directory has a calibration for the mode.

`RoutingService` is both an `InstructionScorer` (raw instruction texts, used by `route` and `serve`)
and a `Router` (query tables, used by `evaluate`). Either way an instruction is scored on its routing text
(`router/routing/routing_text.py`), the rule `serve` also applies to chats. It routes in one of two modes
(`routing/modes.py`): `fast` loads the encoder and the readout only; `full` the capability LLM as well, loaded
the first time a request asks for it when the service started in `fast`.

Example:
    service = load_router(Path("routers/default"), Path("cards.json"))  # fast: the router has a readout
    ranking = service.rank("Integrate x^2 from 0 to 1")  # [(model, P(Yes)), ...] best first
    full = service.with_mode("full")  # the same cards, reader and router folder, the capability LLM loaded now
"""

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.cards import Card, load_cards
from modelsat.errors import RouterError
from modelsat.router.routing.calibration import Calibration
from modelsat.router.routing.folder import RouterFolder
from modelsat.router.routing.modes import RoutingMode, check_mode, default_mode
from modelsat.router.routing.routing_text import RoutingTextReader

if TYPE_CHECKING:
    import torch

MAX_CACHED_CANDIDATE_SETS = 16  # distinct candidate lists whose card side is kept
METHOD_NAMES: dict[str, str] = {"full": "model-sat", "fast": "model-sat-fast"}  # in `evaluate` reports


class CandidateScorer(Protocol):
    """One routing mode's scoring: the card side once per candidate set, then scores per batch of texts."""

    def prepare(self, cards: Sequence[Card]) -> Any:
        """What scoring reads of `cards`, reused for every instruction routed among them."""
        ...

    def scores(self, texts: Sequence[str], side: Any) -> np.ndarray:
        """(len(texts), N) log-odds of 'Yes' for the prepared candidates."""
        ...

    def embed_texts(self, texts: Sequence[str]) -> "torch.Tensor":
        """(len(texts), D_enc) the router's encoder embeddings."""
        ...

    def scores_and_embeddings(self, texts: Sequence[str], side: Any) -> tuple[np.ndarray, "torch.Tensor"]:
        """`scores` and the texts' (len(texts), D_enc) encoder embeddings (which aptitude task each is nearest)."""
        ...


class RoutingService:
    """Scores instructions against a fixed set of cards with a trained router, in one routing mode."""

    def __init__(
        self,
        scorer: CandidateScorer,
        cards: dict[str, Card],
        reader: RoutingTextReader,
        mode: RoutingMode,
        calibration: Calibration | None = None,
        load_mode: Callable[[RoutingMode], "RoutingService"] | None = None,
        aptitude: AptitudeSet | None = None,
        prototypes: Mapping[str, "torch.Tensor"] | None = None,
    ) -> None:
        self.scorer = scorer
        self.cards = cards
        self.models = list(cards)
        self.reader = reader
        self.mode = mode
        self.name = METHOD_NAMES[mode]
        self.calibration = calibration
        self.last_ms_per_query: float | None = None
        self._load_mode = load_mode
        self.aptitude = aptitude  # the aptitude set the cards were made against (None: unknown here)
        self.prototypes = prototypes  # aptitude task → prototype: which task a request is nearest
        self._modes: dict[str, RoutingService] = {mode: self}  # shared by every mode of one loaded router
        self._sides: dict[tuple[str, ...], Any] = {}

    def with_mode(self, mode: str) -> "RoutingService":
        """This router in routing mode `mode`, loaded on first use and kept.

        Raises:
            ConfigError: an unknown mode.
            RouterError: the other mode cannot be loaded (e.g. `fast` for a router without a readout).
        """
        mode = check_mode(mode)
        if mode not in self._modes:
            if self._load_mode is None:
                raise RouterError(f"this router was loaded for {self.mode} routing only")
            other = self._load_mode(mode)
            other._modes = self._modes
            self._modes[mode] = other
        return self._modes[mode]

    def with_cards(self, cards: dict[str, Card]) -> "RoutingService":
        """This router over other cards (checked against its aptitude set by the caller): the scorers of every mode
        loaded so far are reused, so no weights load again (a proxy's live reload)."""
        load = self._load_mode

        def load_other(mode: RoutingMode) -> RoutingService:
            if load is None:
                raise RouterError(f"this router was loaded for {self.mode} routing only")
            fresh = load(mode)
            return RoutingService(
                fresh.scorer,
                cards,
                fresh.reader,
                mode,
                fresh.calibration,
                load_mode=load_other,
                aptitude=fresh.aptitude,
                prototypes=fresh.prototypes,
            )

        shared: dict[str, RoutingService] = {}
        for mode, service in self._modes.items():
            twin = RoutingService(
                service.scorer,
                cards,
                service.reader,
                service.mode,
                service.calibration,
                load_mode=load_other,
                aptitude=service.aptitude,
                prototypes=service.prototypes,
            )
            twin._modes = shared
            shared[mode] = twin
        return shared[self.mode]

    def _candidates(self, models: Sequence[str] | None) -> Any:
        """The chosen models' card side, computed once per candidate list (the weights never change here)."""
        key = tuple(models) if models is not None else tuple(self.models)
        cards = self._cards(key)
        if key not in self._sides:
            if len(self._sides) >= MAX_CACHED_CANDIDATE_SETS:
                self._sides.pop(next(iter(self._sides)))
            self._sides[key] = self.scorer.prepare(cards)
        return self._sides[key]

    def _cards(self, models: Sequence[str]) -> list[Card]:
        unknown = [m for m in models if m not in self.cards]
        if unknown:
            raise RouterError(f"no card for model(s) {', '.join(unknown)}; cards exist for: {', '.join(self.models)}")
        return [self.cards[m] for m in models]

    def score_instructions(
        self, instructions: Sequence[str], models: Sequence[str] | None = None, mode: str | None = None
    ) -> np.ndarray:
        """(len(instructions), len(models)) log-odds of 'Yes' (calibrated when the router has a calibration for the
        mode) for each instruction's routing text; higher = more likely to answer well. `mode` overrides the
        service's routing mode for this call."""
        if mode is not None and mode != self.mode:
            return self.with_mode(mode).score_instructions(instructions, models)
        levelled = self.calibration is not None and bool(self.calibration.task_bias)
        return self._score(instructions, models, with_tasks=levelled)[0]

    def scores_and_tasks(
        self, instructions: Sequence[str], models: Sequence[str] | None = None
    ) -> tuple[np.ndarray, list[str]]:
        """`score_instructions` and the aptitude task each instruction's routing text is nearest (one encoder pass).

        Raises:
            RouterError: the router has no task prototypes.
        """
        scores, tasks = self._score(instructions, models, with_tasks=True)
        assert tasks is not None
        return scores, tasks

    def _score(
        self, instructions: Sequence[str], models: Sequence[str] | None, with_tasks: bool
    ) -> tuple[np.ndarray, list[str] | None]:
        started = time.perf_counter()
        side = self._candidates(models)
        texts = self.reader.texts(instructions)
        tasks = None
        if with_tasks:
            scores, embedded = self.scorer.scores_and_embeddings(texts, side)
            tasks = self.nearest_tasks(embedded)
        else:
            scores = self.scorer.scores(texts, side)
        if self.calibration is not None:
            scores = self.calibration.apply(scores, tasks)
        self.last_ms_per_query = 1000 * (time.perf_counter() - started) / max(1, len(instructions))
        return scores.astype(np.float32), tasks

    def nearest_tasks(self, embedded: "torch.Tensor") -> list[str]:
        """The aptitude task nearest each of (B, D_enc) routing-text embeddings (the task levels of a calibration).

        Raises:
            RouterError: the router has no task prototypes.
        """
        from modelsat.router.routing.prototypes import nearest_tasks

        if self.prototypes is None:
            raise RouterError("this router has no task prototypes (prototypes.safetensors): run `modelsat calibrate`")
        return nearest_tasks(embedded, self.prototypes)

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
    router: "Path | RouterFolder",
    cards_path: Path | None = None,
    device: str = "cpu",
    bf16: str = "auto",
    calibrated: bool = True,
    mode: str | None = None,
) -> RoutingService:
    """Load a router (a directory, read once into a `RouterFolder`, or a folder read already) and the cards to route
    between (default: the router's own cards.json).

    `mode` "fast" loads the encoder and readout only, "full" the capability LLM too (`routing/modes.py`; None: fast
    unless the router has no accuracy readout); the other mode loads on first use (`RoutingService.with_mode`) from
    the same folder, reading no file again. With `calibrated`, the directory's calibration of the mode
    (calibration.json for full, calibration-fast.json for fast), when there is one, maps the log-odds.

    Raises:
        RouterError: missing router files, cards made against another aptitude set, a bad calibration file, or
            fast mode for a router whose score is its capability LLM alone.
    """
    from modelsat.models.loading import load_tokenizer

    folder = router if isinstance(router, RouterFolder) else RouterFolder.read(router, calibrations=calibrated)
    cfg, aptitude, router_dir = folder.config, folder.aptitude, folder.path
    mode = default_mode(cfg.router) if mode is None else check_mode(mode)
    path = Path(cards_path) if cards_path is not None else router_dir / "cards.json"
    cards = load_cards(path)
    foreign = [m for m, c in cards.items() if c.aptitude_fingerprint != aptitude.fingerprint]
    if foreign:
        raise RouterError(
            f"{path}: card(s) of {', '.join(foreign)} were made against another aptitude set "
            f"(router {router_dir} uses {aptitude.fingerprint}); re-run `modelsat profile --router {router_dir}`"
        )
    reader = RoutingTextReader.for_router(load_tokenizer(cfg.router.llm), cfg.router)

    def build(chosen: RoutingMode) -> RoutingService:
        if chosen == "fast":
            from modelsat.router.routing.fast import FastScorer

            scorer: CandidateScorer = FastScorer.load(folder, device)
        else:
            from modelsat.router.routing.llm.scorer import LlmScorer  # the capability LLM loads only here

            scorer = LlmScorer.load(folder, device, bf16)
        calibration = folder.calibrations.get(chosen) if calibrated else None
        return RoutingService(
            scorer,
            cards,
            reader,
            chosen,
            calibration,
            load_mode=build,
            aptitude=aptitude,
            prototypes=folder.prototypes,
        )

    return build(mode)
