"""Live profiling of the bundled SmolLM2-135M-Instruct: a real run on a few aptitude questions, and resume."""

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import pytest

from modelsat.aptitude.aptitude_set import AptitudeSet, CoreTask
from modelsat.aptitude.live.answer_log import AnswerLog
from modelsat.aptitude.live.local import LocalScorer
from modelsat.aptitude.live.plan import GraderSet, plan_test
from modelsat.aptitude.live.questions import LETTERS, Asked, Question, circle
from modelsat.aptitude.live.runner import Answerer, open_answerer, profile_live

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scorer() -> LocalScorer:
    """SmolLM2 through the CLI's spec parser, 4 prompts per forward pass."""
    answerer = open_answerer("hf:smollm2", batch_size=4)
    assert isinstance(answerer, LocalScorer)
    return answerer


@pytest.fixture(scope="module")
def shortest(aptitude: AptitudeSet, mmlu_outcomes: pd.DataFrame) -> list[Question]:
    """The 4 aptitude questions with the shortest prompts (keeps CPU forward passes quick)."""
    return sorted(
        plan_test(mmlu_outcomes, aptitude, GraderSet(), 1).questions, key=lambda q: len(circle(q, 1)[0].prompt)
    )[:4]


@pytest.fixture(scope="module")
def few(aptitude: AptitudeSet, shortest: list[Question]) -> AptitudeSet:
    """A one-task aptitude set of those 4 questions: 8 prompts with the circle test."""
    task = CoreTask(shortest[0].task, "Short questions", tuple(q.query_id for q in shortest))
    return AptitudeSet((task,), aptitude.zoo, aptitude.seed)


class Counting:
    """Wraps an answerer: counts the prompts it is given and can stop the run after `stop_after` answers."""

    def __init__(self, inner: Answerer, stop_after: int | None = None) -> None:
        self.inner, self.stop_after, self.asked, self.answered = inner, stop_after, 0, 0

    def answer(self, asked: Sequence[Asked], on_answer: Callable[[Asked, str | None, float], None]) -> None:
        self.asked += len(asked)

        def forward(item: Asked, letter: str | None, seconds: float) -> None:
            on_answer(item, letter, seconds)
            self.answered += 1
            if self.answered == self.stop_after:
                raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-run

        self.inner.answer(asked, forward)


def test_batched_scores_match_one_prompt_at_a_time(scorer: LocalScorer, shortest: list[Question]) -> None:
    fp32 = LocalScorer(scorer.model, scorer.tokenizer, bf16=False)
    prompts = [circle(q, 2)[1].prompt for q in shortest[:2]] + ["Question: 2 + 2 = ?\nA. 4\nB. 5\nAnswer:"]
    batched = fp32.letter_logprobs(prompts)  # left-padded to the longest
    alone = [fp32.letter_logprobs([p])[0] for p in prompts]
    assert batched.shape == (3, len(LETTERS)) and (batched < 0).all()
    for row, single in zip(batched, alone, strict=True):
        assert row.allclose(single, atol=1e-3)


def test_smollm2_takes_the_test_and_resumes_after_an_interrupt(
    scorer: LocalScorer, few: AptitudeSet, shortest: list[Question], mmlu_outcomes: pd.DataFrame, tmp_path: Path
) -> None:
    log_path = tmp_path / "answers.jsonl"
    interrupted = Counting(scorer, stop_after=4)
    with pytest.raises(KeyboardInterrupt):
        profile_live(interrupted, mmlu_outcomes, few, AnswerLog(log_path, "smollm2"), "smollm2", progress=False)
    assert interrupted.asked == 8 and len(AnswerLog(log_path, "smollm2").done) == 4

    resumed = Counting(scorer)
    result = profile_live(resumed, mmlu_outcomes, few, AnswerLog(log_path, "smollm2"), "smollm2", progress=False)
    assert resumed.asked == resumed.answered == 4  # only the unanswered half is asked again
    log = AnswerLog(log_path, "smollm2")
    assert len(log.done) == 8 and not any(a.malformed for a in log.answers.values())
    assert all(a.reply in LETTERS and a.parsed == a.reply for a in log.answers.values())
    assert 0 <= result.accuracy_circle <= result.accuracy_plain <= 1
    assert list(result.outcomes["query_id"]) == [q.query_id for q in shortest]
    assert set(result.outcomes["score"]) <= {0.0, 1.0} and set(result.outcomes["model"]) == {"smollm2"}
    assert result.card.scores[0].accuracy == result.outcomes["score"].mean()
    assert result.card.aptitude_fingerprint == few.fingerprint


def test_smollm2_answers_free_form_prompts_by_generation(scorer: LocalScorer, shortest: list[Question]) -> None:
    fp32 = LocalScorer(scorer.model, scorer.tokenizer, batch_size=2, bf16=False)
    prompts = ["What is 2 + 2?", "Name a primary colour."]
    batched = fp32.generate(prompts, max_tokens=12)  # left-padded together
    assert batched == [fp32.generate([p], max_tokens=12)[0] for p in prompts]
    assert all(reply.strip() for reply in batched) and fp32.complete(prompts[0], 12) == batched[0]
    math = Question("gsm8k/1", "gsm8k/00", "What is 2 + 2?", kind="math", reference="4")
    items = [circle(shortest[0], 1)[0], Asked(math, 0, math.text, "", max_tokens=12, generate=True)]
    got: dict[str, str | None] = {}
    fp32.answer(items, lambda item, reply, seconds: got.__setitem__(item.question.kind, reply))
    assert got["multiple-choice"] in LETTERS and got["math"] == batched[0]
