"""The routing text: what the router reads of a request, within its token budget.

A chat is read question first: the last user turn with text (a long one only its last paragraph, cut to its
head and tail if need be), then, up to `context_tokens`, the conversation before it in priority order: the rest of
that message, earlier turns newest first, the system prompt. The pieces are joined in chat order, so the
question comes last. A piece too long for its share keeps its first tokens, a "…" marker and its end (the
question usually comes last). A plain instruction is read as a one-turn chat, so `route`, `evaluate`, `train`
and `serve` apply one rule, and reading a routing text again gives it back unchanged.

Example:
    reader = RoutingTextReader.for_router(tokenizer, cfg)
    read = reader.read([Turn("system", long_prompt), Turn("user", "What is 2+2?")])
    read.text, read.tokens  # ("What is 2+2?", 7): the question alone when context_tokens is 0
    reader.texts(["a plain instruction", ...])  # the same rule for plain prompts
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # serve reads chats with this module before it loads any model
    from transformers import PreTrainedTokenizerBase

    from modelsat.router.config import RouterConfig

MARKER = " … "
SEPARATOR = "\n\n"
SYSTEM_ROLES = ("system", "developer")
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
MIN_CONTEXT_TOKENS = 4  # a context piece shorter than this says nothing


class Turn(NamedTuple):
    """One chat turn as text."""

    role: str
    text: str


@dataclass(frozen=True)
class RoutingText:
    """What the router reads: the text, its token count, and whether any of the request was left out."""

    text: str
    tokens: int
    cut: bool


def content_text(content: str | Sequence[Any] | None) -> str:
    """The text of an OpenAI message content: the string, or its text parts joined (images and other parts skipped)."""
    if isinstance(content, str):
        return content
    parts = content or []
    return "\n".join(
        p["text"] for p in parts if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
    )


class RoutingTextReader:
    """Turns a chat (or a plain instruction) into the routing text under a token budget."""

    def __init__(
        self, tokenizer: "PreTrainedTokenizerBase", budget: int, head_tokens: int = 32, context_tokens: int = 0
    ) -> None:
        self.tokenizer = tokenizer
        self.budget = budget
        self.head_tokens = head_tokens
        self.context_tokens = context_tokens
        self._separator = len(self._ids(SEPARATOR))
        self._marker = len(self._ids(MARKER))
        self._token_chars = max(map(len, tokenizer.get_vocab()))  # no token covers more characters

    @classmethod
    def for_router(cls, tokenizer: "PreTrainedTokenizerBase", cfg: "RouterConfig") -> "RoutingTextReader":
        """The reader of a router config: `max_instruction_tokens`, `truncation_head_tokens`, `context_tokens`."""
        return cls(tokenizer, cfg.max_instruction_tokens, cfg.truncation_head_tokens, cfg.context_tokens)

    def texts(self, instructions: Sequence[str]) -> list[str]:
        """The routing text of each plain instruction."""
        return [self.read_text(text).text for text in instructions]

    def read_text(self, instruction: str) -> RoutingText:
        """A plain instruction, read as a one-turn chat."""
        return self.read([Turn("user", instruction)])

    def read(self, turns: Sequence[Turn]) -> RoutingText:
        """The routing text of a chat; empty when no user turn has text."""
        asked = [i for i, turn in enumerate(turns) if turn.role == "user" and turn.text.strip()]
        if not asked:
            return RoutingText("", 0, cut=any(turn.text.strip() for turn in turns))
        at = asked[-1]
        question, before = self._question(turns[at].text.strip())
        context = self._context(turns, at, before)
        question_tokens = len(self._ids(question))
        share = min(self.context_tokens, self.budget - question_tokens)
        limit = question_tokens + share
        room = share
        while True:  # pieces tokenised apart may take a token more or less joined: shrink until it fits
            text = self._assemble(at, question, context, room)
            tokens = question_tokens if text == question else len(self._ids(text))
            if tokens <= limit or room <= 0:
                break
            room -= tokens - limit
        everything = SEPARATOR.join(turn.text.strip() for turn in turns if turn.text.strip())
        return RoutingText(text, tokens, cut=text != everything)

    def _assemble(self, at: int, question: str, context: list[tuple[float, str]], room: int) -> str:
        """The question after as much `context`, most wanted first, as `room` tokens hold, in chat order."""
        pieces = {float(at): question}
        for position, text in context:
            if room - self._separator < MIN_CONTEXT_TOKENS:
                break
            piece = self._fit(text, room - self._separator)
            pieces[position] = piece
            room -= len(self._ids(piece)) + self._separator
        return SEPARATOR.join(pieces[p] for p in sorted(pieces))

    def _question(self, message: str) -> tuple[str, str]:
        """The question of the last user message, and the text before it: the whole message when it fits, else its
        last paragraph (cut to the budget when it alone is too long), after a pasted document for instance."""
        if not self._over(message, self.budget):
            return message, ""
        breaks = list(PARAGRAPH_BREAK.finditer(message))
        last = breaks[-1].end() if breaks else 0
        return self._fit(message[last:], self.budget), message[:last].strip()

    @staticmethod
    def _context(turns: Sequence[Turn], at: int, before: str) -> list[tuple[float, str]]:
        """(chat position, text) of the context, most wanted first: the question's own earlier text, other turns
        newest first, then the system prompt."""
        others = [(float(i), t.text.strip()) for i, t in enumerate(turns) if i != at and t.role not in SYSTEM_ROLES]
        system = [(float(i), t.text.strip()) for i, t in enumerate(turns) if t.role in SYSTEM_ROLES]
        ranked = ([(at - 0.5, before)] if before else []) + others[::-1] + system
        return [(position, text) for position, text in ranked if text]

    def _fit(self, text: str, limit: int) -> str:
        """`text` when it has at most `limit` tokens, else its head, the marker and its tail in `limit` tokens.
        Only windows of `limit` tokens at either end are tokenised, so a long text costs no more than a short one."""
        if not self._over(text, limit):
            return text
        head = min(self.head_tokens, limit // 2)
        tail = limit - head - self._marker
        window = self._token_chars * (limit + 2)  # holds more than `limit` whole tokens
        start = self._decode(self._ids(text[:window])[:head]).rstrip()
        end_ids = self._ids(text[-window:])
        while True:
            cut = start + MARKER + self._decode(end_ids[len(end_ids) - tail :]).lstrip() if tail > 0 else start + MARKER
            over = len(self._ids(cut)) - limit
            if over <= 0 or tail <= 0:
                return cut.strip()
            tail -= over

    def _over(self, text: str, limit: int) -> bool:
        """Whether `text` has more than `limit` tokens; a text too long to fit is not tokenised."""
        return len(text) > self._token_chars * limit or len(self._ids(text)) > limit

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False) if text else []

    def _decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
