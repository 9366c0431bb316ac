"""Full routing (`--mode full`): the capability LLM reads every candidate's capability tokens after the request
(Model-SAT §3.3), plus the readout and prior terms of the router's score.

Example:
    scorer = LlmScorer.load(RouterFolder.read(Path("routers/default")), bf16="auto")
    prepared = scorer.prepare([card_a, card_b])  # the cards' connector outputs, once per candidate set
    scores = scorer.scores(["Integrate x^2 from 0 to 1"], prepared)  # (1, 2) numpy log-odds
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from modelsat.aptitude.cards import Card
from modelsat.router.routing.folder import RouterFolder
from modelsat.router.routing.llm.inference import card_clause_tokens, score_in_batches, use_bf16
from modelsat.router.routing.llm.loading import load_router_net
from modelsat.router.routing.llm.model import RouterNet


@dataclass(frozen=True)
class LlmCards:
    """A candidate set as the LLM scorer reads it: the cards and their connector outputs per clause order."""

    cards: list[Card]
    clause_tokens: list[torch.Tensor]


class LlmScorer:
    """Scores with the whole router network: capability LLM log-odds + readout + prior head."""

    def __init__(self, net: RouterNet, bf16: bool, batch_size: int = 32) -> None:
        self.net = net
        self.bf16 = bf16
        self.batch_size = batch_size

    @classmethod
    def load(cls, folder: RouterFolder, device: str = "cpu", bf16: str = "auto") -> "LlmScorer":
        """The router network of a router read once, base weights from their packages; `bf16`: auto, on or off."""
        return cls(load_router_net(folder, device=device), use_bf16(bf16, torch.device(device)))

    def prepare(self, cards: Sequence[Card]) -> LlmCards:
        """The cards with their connector outputs, one per clause order (the weights never change while routing)."""
        return LlmCards(list(cards), card_clause_tokens(self.net, cards, self.bf16))

    def scores(self, texts: Sequence[str], side: LlmCards) -> np.ndarray:
        """(len(texts), N) log-odds of 'Yes'."""
        return score_in_batches(
            self.net, texts, side.cards, self.batch_size, self.bf16, clause_tokens=side.clause_tokens
        )

    @torch.no_grad()
    def scores_and_embeddings(self, texts: Sequence[str], side: LlmCards) -> tuple[np.ndarray, torch.Tensor]:
        """`scores` and the (len(texts), D_enc) encoder embeddings of the texts (a pass of the small encoder)."""
        chunks = [self.embed_texts(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        return self.scores(texts, side), torch.cat(chunks) if chunks else torch.zeros(0)

    @torch.no_grad()
    def embed_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """(len(texts), D_enc) the capability module's encoder embeddings."""
        return self.net.capability.embed_texts(texts).float().cpu()
