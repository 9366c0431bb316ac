"""The shipped domain routers on their own zoos' requests: `routers/specialists` sends a word problem, a Python
function and a Chinese exam question each to the model whose card is strongest on that kind of question, and
`routers/chat` reads the card of a model it never trained on."""

from pathlib import Path

import numpy as np
import pytest

from modelsat.aptitude.cards import Card
from modelsat.data.zoos import CHAT, SPECIALISTS
from modelsat.router.routing.service import load_router

ROUTERS = Path(__file__).resolve().parents[3] / "routers"
REQUESTS = {
    "gsm8k": "A baker sells 48 muffins in the morning and half as many in the afternoon. Each muffin costs $3. "
    "How much money does the baker make in a day?",
    "humaneval": 'def count_vowels(text: str) -> int:\n    """Return how many vowels (a, e, i, o, u) the string '
    'contains.\n    >>> count_vowels("banana")\n    3\n    """\n',
    "cmmlu": "下列哪一项是中国古代四大发明之一？ A. 地动仪 B. 造纸术 C. 算盘 D. 瓷器 答案：",
}


def strongest_on(cards: dict[str, Card], task: str) -> str:
    """The model whose card is best on the core tasks of `task` (mean over its clusters)."""

    def mean(card: Card) -> float:
        return float(np.mean([s.accuracy for s in card.scores if s.task.split("/")[0] == task]))

    return max(cards, key=lambda name: mean(cards[name]))


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["fast", "full"])
def test_specialists_go_where_their_cards_are_strongest(mode: str) -> None:
    service = load_router(ROUTERS / "specialists", mode=mode)
    assert sorted(service.cards) == sorted(SPECIALISTS)
    for task, text in REQUESTS.items():
        chosen = service.rank(text)[0][0]
        assert chosen == strongest_on(service.cards, task), (task, chosen, service.rank(text))
    chosen = {task: service.rank(text)[0][0] for task, text in REQUESTS.items()}
    assert len(set(chosen.values())) >= 2, "three kinds of request should not all go to one model"


@pytest.mark.slow
def test_chat_router_ranks_a_model_it_never_trained_on_by_its_card() -> None:
    service = load_router(ROUTERS / "chat", mode="fast")
    assert sorted(service.cards) == sorted(CHAT)
    ranking = service.rank("Write a short, friendly email inviting my team to a Friday lunch.")
    best_card = max(service.cards, key=lambda m: service.cards[m].mean_accuracy)
    assert ranking[0][0] == best_card == "FuseChat-Gemma-2-9B-Instruct"  # held out of training: joins by card
