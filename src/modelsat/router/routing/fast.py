"""Fast routing (`--mode fast`): a router's score without the capability LLM's forward pass.

A trained router's score is the capability LLM's log-odds plus the terms computed beside it: the accuracy
readout (`router.accuracy_readout`: α·logit of the card's accuracy on the tasks whose aptitude questions look
like the request) and the prior head (`router.prior_head`). On every leave-models-out fold the readout alone
routes within 0.3 points of the whole router (docs/generalisation.md), so this scorer keeps those terms and
drops the LLM: one encoder pass over the request (all-MiniLM, 22M parameters) and a few small matrix
products per candidate set. It takes the router as read once (`RouterFolder`); the LLM is not loaded, and nothing
of `routing/llm/` or `training/` is imported.

Example:
    scorer = FastScorer.load(RouterFolder.read(Path("routers/default")))
    cards_side = scorer.prepare([card_a, card_b])  # once per candidate set
    scores = scorer.scores(["Integrate x^2 from 0 to 1"], cards_side)  # (1, 2) numpy log-odds
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from modelsat.aptitude.cards import Card
from modelsat.errors import RouterError
from modelsat.router.config import RouterConfig
from modelsat.router.routing.capability import (
    CapabilityModule,
    card_slots,
    clause_mask,
    per_card,
    readout_inputs,
)
from modelsat.router.routing.folder import WEIGHTS_FILE, RouterFolder
from modelsat.router.routing.modes import has_fast_terms
from modelsat.router.routing.prototypes import card_prototype_keys
from modelsat.router.routing.readout_choice import ReadoutChoice

NO_FAST_TERMS = "scores with its capability LLM alone (no accuracy readout, no prior head): route it with --mode full"
CONNECTOR_OUT = "connector.2.weight"  # (D_llm, hidden): the LLM width the capability tokens live in


@dataclass(frozen=True)
class CardSide:
    """What the fast scorer reads of a candidate set, computed once: readout keys and numbers, and the connector
    outputs of the card clauses when the router has a prior head."""

    keys: torch.Tensor | None  # (N, C, D_enc) readout keys
    accuracy: torch.Tensor | None  # (N, C) clause accuracies
    prior: torch.Tensor | None  # (N, C) the slots' log prior weights in the readout (−inf: none, as for facts)
    clause_tokens: torch.Tensor | None  # (N, C, D_llm) connector outputs, for the prior head
    present: torch.Tensor | None = None  # (N, C) real clause rows of cards padded to one length (partial cards)


class FastScorer:
    """Scores (instruction, card) pairs with the encoder, the accuracy readout and the prior head; no LLM."""

    def __init__(
        self,
        capability: CapabilityModule,
        cfg: RouterConfig,
        prototypes: Mapping[str, torch.Tensor] | None,
        choice: ReadoutChoice | None = None,
        batch_size: int = 32,
    ) -> None:
        if capability.readout is None and capability.prior is None:
            raise RouterError(f"this router {NO_FAST_TERMS}")
        if choice is not None and capability.readout is not None:
            choice.install(capability.readout)
        self.capability = capability.eval()
        self.cfg = cfg
        self.prototypes = prototypes
        self.choice = choice
        self.batch_size = batch_size

    @classmethod
    def load(cls, folder: RouterFolder, device: str = "cpu") -> "FastScorer":
        """The capability module of a router read once (`RouterFolder`), with its encoder; the capability LLM is not
        loaded. The readout reads cards as the folder's readout choice says (`readout_choice.py`; none: as trained).

        Raises:
            RouterError: weights that do not fit, or a router without a readout or prior.
        """
        from modelsat.models.loading import load_encoder

        router = folder.config.router
        if not has_fast_terms(router):
            raise RouterError(f"{folder.path}: this router {NO_FAST_TERMS}")
        cap_state = folder.part("capability")
        if CONNECTOR_OUT not in cap_state:
            raise RouterError(f"{folder.path / WEIGHTS_FILE}: no capability connector ({CONNECTOR_OUT})")
        encoder, tokenizer = load_encoder(router.encoder)
        # The LLM's embedding scale is a trained parameter (`scale`) stored in the weights, so 1.0 is a placeholder.
        capability = CapabilityModule(encoder, tokenizer, cap_state[CONNECTOR_OUT].shape[0], router, 1.0)
        unexpected = capability.load_state_dict(cap_state, strict=False).unexpected_keys
        if unexpected:
            raise RouterError(f"{folder.path}: router weights do not fit this model (unexpected: {unexpected[:3]})")
        return cls(capability.to(device), router, folder.prototypes, folder.readout_choice)

    @property
    def device(self) -> torch.device:
        """Device of the encoder weights."""
        return next(self.capability.encoder.parameters()).device

    @torch.no_grad()
    def prepare(self, cards: Sequence[Card]) -> CardSide:
        """The card side of scoring for `cards` (reused for every instruction routed among them)."""
        n_slots = card_slots(cards)
        present = clause_mask(cards, self.cfg.clause_template)
        embeddings = None
        if self.capability.prior is not None or self.cfg.readout_keys == "clauses":
            embeddings = self.clause_embeddings(cards)
        keys = accuracy = prior = None
        if self.capability.readout is not None:
            if self.choice is not None and self.choice.kind == "classifier":
                keys = self.choice.keys(cards, n_slots, self.prototypes).to(self.device)
            elif self.cfg.readout_keys == "clauses":
                if present is not None or any(card.is_partial for card in cards):
                    raise RouterError("a readout keyed by clause texts cannot read partial cards: use prototype keys")
                keys = embeddings
            elif self.prototypes is None:
                raise RouterError("this router's readout reads task prototypes, but none are loaded")
            else:
                keys = card_prototype_keys(self.prototypes, cards, n_slots).to(self.device)
            accuracy, prior = readout_inputs(cards, n_slots, self.device, self.cfg.untested_margin)
        clause_tokens = None
        if self.capability.prior is not None:
            assert embeddings is not None
            clause_tokens = self.capability.connector(self.capability.clause_inputs(cards, embeddings))
        return CardSide(keys, accuracy, prior, clause_tokens, present)

    def clause_embeddings(self, cards: Sequence[Card]) -> torch.Tensor:
        """(N, C, D_enc) the cards' clause embeddings, zero rows after a shorter card's own (`per_card`)."""
        flat = [text for card in cards for text in card.clauses(self.cfg.clause_template)]
        vectors = torch.cat([self.capability.embed_texts(flat[i : i + 256]).float() for i in range(0, len(flat), 256)])
        return per_card(vectors, cards, self.cfg.clause_template)

    def scores(self, texts: Sequence[str], side: CardSide) -> np.ndarray:
        """(len(texts), N) log-odds: readout + prior head, the router's score less the LLM's log-odds."""
        return self.scores_and_embeddings(texts, side)[0]

    @torch.no_grad()
    def scores_and_embeddings(self, texts: Sequence[str], side: CardSide) -> tuple[np.ndarray, torch.Tensor]:
        """`scores` and the (len(texts), D_enc) encoder embeddings they were read from (one encoder pass)."""
        n_cards = next(t for t in (side.accuracy, side.clause_tokens) if t is not None).shape[0]
        out = np.zeros((len(texts), n_cards), dtype=np.float32)
        vectors = torch.zeros(len(texts), self.capability.encoder.config.hidden_size)
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths share a batch: less padding
        for start in range(0, len(texts), self.batch_size):
            idx = order[start : start + self.batch_size]
            embedded = self.capability.embed_texts([texts[i] for i in idx]).float()  # (B, D_enc)
            out[idx] = self.scores_embedded(embedded, side, n_cards)
            vectors[torch.as_tensor(idx)] = embedded.cpu()
        return out, vectors

    @torch.no_grad()
    def embed_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """(len(texts), D_enc) encoder embeddings, as `scores` reads them."""
        return self.capability.embed_texts(texts)

    @torch.no_grad()
    def scores_embedded(self, embedded: torch.Tensor, side: CardSide, n_cards: int) -> np.ndarray:
        """(B, N) log-odds of requests already embedded by the encoder ((B, D_enc), as `embed_texts` gives)."""
        total = torch.zeros(len(embedded), n_cards, device=self.device)
        if self.capability.readout is not None:
            total += self.capability.readout(embedded, side.keys, side.accuracy, side.prior)
        if side.clause_tokens is not None:
            pooled = self.capability.pool(
                side.clause_tokens, embedded if self.cfg.instruction_pooling else None, side.present
            )
            total += self.capability.prior_scores(pooled)
        return total.cpu().numpy()
