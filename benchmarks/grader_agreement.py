"""Do the live graders agree with recorded results? Three checks on the real data, one JSON line of figures.

- letter: the multiple-choice grader's letter, read from MMLU-Pro's recorded answer texts
  (`generated_text`), against the recorded `pred` (all records, or a seeded `--letter-sample`);
- math: the math grader on GSM8K's own worked answers and on MATH-prealgebra's reference solutions
  (RouterDC's answer key; must be right) and on each paired with the next question's reference (must be
  wrong, unless the two final answers coincide);
- code: HumanEval's canonical solutions run in the sandbox against their own tests (must pass) and,
  as the same function, against the next problem's tests (must fail);
- coverage: how many RouterDC questions (every file of the paper's protocol) and AlpacaEval
  instructions find a reference (what makes a live test of those tasks gradable), and how many rows
  the RouterDC answer keys flag (left out).

Exits 1 when a figure misses its threshold (letter ≥ 99 %, math ≥ 99 % / ≤ 2 % for GSM8K and MATH,
code 100 % / 0 %).

    .venv/bin/python benchmarks/grader_agreement.py [--letter-sample 20000 --seed 0] [--workers 2]
"""

import argparse
import glob
import json
import random
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from modelsat.aptitude.live.graders.choice import MultipleChoiceGrader
from modelsat.aptitude.live.graders.code import CodeGrader
from modelsat.aptitude.live.graders.math import MathGrader
from modelsat.aptitude.live.graders.references import FLAGGED, ReferenceBook, humaneval_problems
from modelsat.aptitude.live.graders.sandbox import Limits
from modelsat.aptitude.live.questions import LETTERS, Asked, Question
from modelsat.data.locate import data_dir

THRESHOLDS = {
    "letter_pred_agreement": (">=", 0.99),
    "math_own_right": (">=", 0.99),
    "math_mismatched_right": ("<=", 0.02),
    "math_prealgebra_own_right": (">=", 0.99),
    "math_prealgebra_mismatched_right": ("<=", 0.02),
    "code_canonical_pass": (">=", 1.0),
    "code_neighbour_pass": ("<=", 0.0),
}


def letter_agreement(root: Path, sample: int | None, seed: int) -> dict[str, float | int]:
    """Share of MMLU-Pro records whose letter, read by the grader from `generated_text`, equals `pred`."""
    records = []
    for path in sorted(glob.glob(str(root / "mmlu-pro" / "*.zip"))):
        with zipfile.ZipFile(path) as archive:
            items = json.loads(archive.read(archive.namelist()[0]))
        records += [r for r in items if isinstance(r, dict) and "generated_text" in r and r.get("options")]
    if sample:
        records = random.Random(seed).sample(records, min(sample, len(records)))
    grader = MultipleChoiceGrader()
    same = same_verdict = 0
    for r in records:
        question = Question("q", "t", r["question"], tuple(r["options"]), LETTERS.index(r["answer"]))
        item = Asked(question, 0, "", r["answer"])
        verdict = grader.grade(item, r["generated_text"] or "")
        same += verdict.parsed == r["pred"]
        same_verdict += verdict.score == float(r["pred"] == r["answer"])
    return {
        "letter_records": len(records),
        "letter_pred_agreement": same / len(records),
        "letter_verdict_agreement": same_verdict / len(records),
    }


def math_agreement(root: Path) -> dict[str, float | int]:
    """The math grader on GSM8K's worked answers: own reference (right) and the next question's (wrong)."""
    items = [
        json.loads(line)
        for path in sorted((root / "references" / "gsm8k").glob("*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    grader = MathGrader()

    def right(worked: str, reference_of: dict) -> bool:
        reference = reference_of["answer"].rsplit("####", 1)[-1].strip()
        question = Question("q", "gsm8k", reference_of["question"], kind="math", reference=reference)
        return grader.grade(Asked(question, 0, "", "", generate=True), worked).score == 1.0

    own = sum(right(item["answer"], item) for item in items)
    crossed = sum(right(item["answer"], items[(i + 1) % len(items)]) for i, item in enumerate(items))
    n = len(items)
    path = root / "references" / "routerdc" / "math_prealgebra_key.jsonl"
    keys = [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]

    def solved(solution: str, key: dict) -> bool:
        question = Question("q", "math", key["question"], kind="math", reference=key["answer"], label="math-prealgebra")
        return grader.grade(Asked(question, 0, "", "", generate=True), solution).score == 1.0

    math_own = sum(solved(key["solution"], key) for key in keys)
    math_crossed = sum(solved(key["solution"], keys[(i + 1) % len(keys)]) for i, key in enumerate(keys))
    return {
        "math_answers": n,
        "math_own_right": own / n,
        "math_mismatched_right": crossed / n,
        "math_prealgebra_solutions": len(keys),
        "math_prealgebra_own_right": math_own / len(keys),
        "math_prealgebra_mismatched_right": math_crossed / len(keys),
    }


def code_agreement(workers: int) -> dict[str, float | int]:
    """HumanEval's canonical solutions against their own tests and, unchanged, against the next problem's."""
    problems = humaneval_problems()
    grader = CodeGrader(limits=Limits(seconds=10))

    def passes(i: int, tests_of: int) -> bool:
        p, t = problems[i], problems[tests_of]
        reference = json.dumps({"prompt": p.prompt, "tests": t.test, "entry_point": p.entry_point})
        question = Question(p.task_id, "humaneval", p.prompt, kind="code", reference=reference)
        return grader.grade(Asked(question, 0, "", "", generate=True), p.canonical_solution).score == 1.0

    n = len(problems)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        own = list(pool.map(lambda i: passes(i, i), range(n)))
        neighbour = list(pool.map(lambda i: passes(i, (i + 1) % n), range(n)))
    failing = [problems[i].task_id for i in range(n) if not own[i]]
    return {
        "code_problems": n,
        "code_canonical_pass": sum(own) / n,
        "code_neighbour_pass": sum(neighbour) / n,
        "code_canonical_failing": failing,
    }


def coverage(root: Path) -> dict[str, int]:
    """How many RouterDC and AlpacaEval questions find their reference (tests, final number, reference answer)."""
    book = ReferenceBook(root)
    code, choice, maths = CodeGrader(book), MultipleChoiceGrader(book), MathGrader(book)

    def questions(*names: str) -> list[str]:
        return [item["question"] for name in names for item in json.loads((root / "routerdc" / name).read_text())]

    gsm8k = questions("gsm8k-train.json", "gsm8k-test.json")
    humaneval = questions("humaneval_train.json", "humaneval_test.json")
    mbpp = questions("mbpp.json")
    with zipfile.ZipFile(root / "alpaca-eval" / "results.zip") as archive:
        annotations = next(n for n in archive.namelist() if n.endswith("annotations.json"))
        instructions = [item["instruction"] for item in json.loads(archive.read(annotations))]

    def tests(text: str, task: str) -> bool:
        return not isinstance(code.question({"query_id": "q", "task": task, "prompt": text}, task), str)

    def keyed(grader: MultipleChoiceGrader | MathGrader, task: str, names: dict[str, str]) -> list[str]:
        """Why each record of the files `names` (split -> file) cannot be graded ('' when it can)."""
        why = []
        for split, name in names.items():
            for i, text in enumerate(questions(name)):
                row = {"query_id": f"routerdc/{task}/{split}/{i}", "task": task, "prompt": text}
                question = grader.question(row, task)
                why.append(question if isinstance(question, str) else "")
        return why

    choice_why = [
        *keyed(choice, "mmlu", {"train": "mmlu_train.json", "test": "mmlu_test.json"}),
        *keyed(choice, "cmmlu", {"train": "cmmlu_train.json", "test": "cmmlu_test.json"}),
        *keyed(choice, "arc-challenge", {"train": "arc_challenge_train.json", "test": "arc_challenge_test.json"}),
        *keyed(choice, "ceval", {"test": "ceval.json"}),
    ]
    math_why = keyed(maths, "math-prealgebra", {"test": "MATH_prealgebra.json"})

    return {
        "gsm8k_questions": len(gsm8k),
        "gsm8k_with_reference": sum(book.gsm8k(q) is not None for q in gsm8k),
        "humaneval_questions": len(humaneval),
        "humaneval_with_tests": sum(book.humaneval(q) is not None for q in humaneval),
        "mbpp_questions": len(mbpp),
        "mbpp_with_tests": sum(tests(q, "mbpp") for q in mbpp),
        "routerdc_choice_questions": len(choice_why),
        "routerdc_choice_keyed": choice_why.count(""),
        "math_prealgebra_questions": len(math_why),
        "math_prealgebra_keyed": math_why.count(""),
        "routerdc_flagged": sum(why.startswith(FLAGGED) for why in choice_why + math_why),
        "alpaca_instructions": len(instructions),
        "alpaca_with_reference": sum(book.alpaca(q) is not None for q in instructions),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letter-sample", type=int, default=None, help="MMLU-Pro records to sample (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="sandboxed runs at once")
    args = parser.parse_args()
    root = data_dir()
    figures: dict = {}
    for name, check in [
        ("letter", lambda: letter_agreement(root, args.letter_sample, args.seed)),
        ("math", lambda: math_agreement(root)),
        ("code", lambda: code_agreement(args.workers)),
        ("coverage", lambda: coverage(root)),
    ]:
        began = time.perf_counter()
        figures |= check()
        figures[f"{name}_seconds"] = round(time.perf_counter() - began, 1)
        print(f"{name}: done in {figures[f'{name}_seconds']} s", file=sys.stderr)
    missed = [
        f"{key} {figures[key]:.4f} (needs {op} {limit})"
        for key, (op, limit) in THRESHOLDS.items()
        if not (figures[key] >= limit if op == ">=" else figures[key] <= limit)
    ]
    for line in missed:
        print(f"below threshold: {line}", file=sys.stderr)
    print(json.dumps(figures | {"passed": not missed}))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
