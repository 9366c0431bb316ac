"""The readout a router routes with, chosen on its own validation split and stored with it (`readout.safetensors`).

The accuracy readout weighs a card's accuracies by where the request sits among the core tasks. Which way of
placing it routes best differs per zoo, so it is measured, not fixed in code:

    prototypes   a softmax over the request's cosine similarity to each core task's prototype, at a temperature
                 (the temperature trained with the router, or a sharper one)
    classifier   a logistic regression fitted on the aptitude questions' encoder embeddings, each labelled with its
                 group: its core task (`task`), or its dataset (`dataset`: `gsm8k/01` → `gsm8k`); a request's
                 posterior over the groups, each group's weight shared by the card's tasks in it. Or its kind of
                 request (`kind`: knowledge, math, code, ... on a test that names them, as the unified one does):
                 the posterior over kinds, each kind's weight spread over its tasks by the prototype softmax, so
                 the classifier tells a narrative MMLU-Pro question from a GSM8K word problem, which the encoder's
                 similarity confuses, and the prototypes place the request among the tasks of its kind

`choose_readout` scores every candidate in fast mode on the validation queries of the router's training zoo (the
aptitude questions excluded; task-averaged where the data declares its domains, as RouterDC reports). A router of
several zoos serves a team whose traffic mixes their kinds of request, so its validation routes each query among
every training model's card, the zoos' models together, as one mixed zoo: a query sent to a model that has no
outcome on it (a model of another zoo) counts as a wrong answer, which makes the figure a lower bound, and a readout
that places requests on the wrong zoo's tasks pays for it. Each zoo's queries are also routed among its own models
alone (`validation_by_zoo`), as its dedicated router routes them: of the readouts significantly better on mixed
traffic, the one whose worst zoo gains most there is kept, since one router must lose no zoo. A few hundred
validation queries and a handful of cards seldom tell readouts apart, and a readout picked on noise routes new
models worse (a sharper one trusts one cluster's accuracy, which a new model's card measures on 100 questions or
fewer), so the trained readout is kept unless another routes the validation queries better by a margin the paired
differences make significant once corrected for the number of candidates tried (one-sided 5 %, Bonferroni: with
six alternatives, a gain above 2.39 standard errors). Of those, the most accurate is chosen. Both routing modes read
the stored choice (`install`, `keys`). A classifier depends on the aptitude questions only, never on a model's
answers, so a new model's card needs nothing else.

Example:
    choice = choose_readout(Path("routers/specialists"), outcomes)
    choice.save(Path("routers/specialists") / READOUT_FILE)
"""

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch
from safetensors.torch import save_file

from modelsat.aptitude.cards import Card
from modelsat.errors import RouterError
from modelsat.io import atomic_write_bytes
from modelsat.router.routing.capability import AccuracyReadout, GroupPosterior
from modelsat.router.routing.prototypes import card_prototype_keys

if TYPE_CHECKING:
    import pandas as pd

READOUT_FILE = "readout.safetensors"
Grouping = Literal["task", "dataset", "kind"]
CLASSIFIER_C = (10.0, 100.0)  # inverse regularisation strengths tried
SHARPER = (2.0, 4.0)  # prototype temperatures tried, as multiples of the trained one
FALSE_CHOICE_RATE = 0.05  # chance, over all candidates, of leaving the trained readout on noise alone


@dataclass(frozen=True)
class ReadoutChoice:
    """One way of reading a card for a request, with what every candidate routed on validation (candidate label →
    %, `validation`) and the standard error of its paired gain over the trained readout (`standard_error`)."""

    kind: Literal["prototypes", "classifier"]
    temperature: float | None = None  # prototypes: softmax temperature (None: as trained)
    grouping: Grouping | None = None  # classifier: what a class is
    inverse_regularisation: float | None = None
    classes: tuple[str, ...] = ()
    coef: torch.Tensor | None = None  # (G, D_enc)
    intercept: torch.Tensor | None = None  # (G,)
    validation: dict[str, float] = field(default_factory=dict)
    standard_error: dict[str, float] = field(default_factory=dict)
    validation_by_zoo: dict[str, dict[str, float]] = field(default_factory=dict)  # several zoos: label → zoo → %

    @property
    def label(self) -> str:
        """A short name, as in the validation table."""
        if self.kind == "prototypes":
            return (
                "prototypes (as trained)"
                if self.temperature is None
                else f"prototypes, temperature {self.temperature:g}"
            )
        within = " (prototypes within)" if self.grouping == "kind" else ""
        return f"classifier by {self.grouping}{within}, C {self.inverse_regularisation:g}"

    def install(self, readout: AccuracyReadout) -> None:
        """Make `readout` read cards this way (its trained weight α is kept)."""
        if self.temperature is not None:
            readout.log_temperature.data.fill_(math.log(self.temperature))
        if self.kind == "classifier":
            assert self.coef is not None and self.intercept is not None
            readout.groups = GroupPosterior(self.coef, self.intercept).to(readout.weight.device)
            readout.within_groups = self.grouping == "kind"

    def keys(
        self, cards: Sequence[Card], n_clauses: int, prototypes: Mapping[str, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """A classifier's readout keys: (N, n_clauses, G) each task clause's share of its group's weight (1 / the
        card's tasks in that group), zero rows for the facts; by kind, (N, n_clauses, D_enc + G) each clause's
        prototype (`prototypes`) and its one-hot kind.

        Raises:
            RouterError: a card task of a group the classifier does not know, or kinds without prototypes.
        """
        index = {name: g for g, name in enumerate(self.classes)}
        keys = torch.zeros(len(cards), n_clauses, len(self.classes))
        for n, card in enumerate(cards):
            groups = [
                str(s.kind) if self.grouping == "kind" else group_of(s.task, self.grouping or "task")
                for s in card.scores
            ]
            unknown = [g for g in groups if g not in index]
            if unknown:
                raise RouterError(f"card task group {unknown[0]!r} is unknown to this router's readout classifier")
            counts = {g: groups.count(g) for g in set(groups)}
            for c, g in enumerate(groups):
                keys[n, c, index[g]] = 1.0 if self.grouping == "kind" else 1.0 / counts[g]
        if self.grouping != "kind":
            return keys
        if prototypes is None:
            raise RouterError("a readout by kind of request reads task prototypes, but none are loaded")
        return torch.cat([card_prototype_keys(prototypes, cards, n_clauses), keys], dim=-1)

    def save(self, path: Path) -> None:
        """Write atomically: the classifier's tensors, and the rest as safetensors metadata."""
        meta = {
            "kind": self.kind,
            "temperature": self.temperature,
            "grouping": self.grouping,
            "inverse_regularisation": self.inverse_regularisation,
            "classes": list(self.classes),
            "validation": self.validation,
            "standard_error": self.standard_error,
            "validation_by_zoo": self.validation_by_zoo,
        }
        tensors = {"coef": self.coef, "intercept": self.intercept} if self.kind == "classifier" else {}
        tensors = {name: t.contiguous() for name, t in tensors.items() if t is not None} or {"none": torch.zeros(0)}
        tmp = path.with_name(f".{path.name}.tmp")
        save_file(tensors, str(tmp), metadata={"choice": json.dumps(meta)})
        atomic_write_bytes(path, tmp.read_bytes())
        tmp.unlink()

    @classmethod
    def load(cls, path: Path) -> "ReadoutChoice":
        """Read a choice written by `save`.

        Raises:
            RouterError: naming the file when it is not a readout choice.
        """
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="pt") as handle:  # one read: metadata and tensors
                meta = json.loads((handle.metadata() or {})["choice"])
                names = handle.keys()  # a safetensors handle is not iterable
                tensors = {name: handle.get_tensor(name) for name in names}
        except (OSError, KeyError, ValueError, SafetensorError) as exc:
            raise RouterError(f"{path}: not a readout choice ({exc}); run `modelsat readout choose` again") from exc
        return cls(
            kind=meta["kind"],
            temperature=meta["temperature"],
            grouping=meta["grouping"],
            inverse_regularisation=meta["inverse_regularisation"],
            classes=tuple(meta["classes"]),
            coef=tensors.get("coef"),
            intercept=tensors.get("intercept"),
            validation=meta["validation"],
            standard_error=meta.get("standard_error", {}),
            validation_by_zoo=meta.get("validation_by_zoo", {}),
        )


def store_choice(choice: ReadoutChoice, router_dir: Path) -> list[str]:
    """Save `choice` in `router_dir`; a readout other than the trained one changes the scores, so the calibrations
    fitted to them are removed. Returns the names of the files removed."""
    from modelsat.router.routing.calibration import CALIBRATION_FILE, FAST_CALIBRATION_FILE

    choice.save(Path(router_dir) / READOUT_FILE)
    if choice.kind == "prototypes" and choice.temperature is None:
        return []
    stale = [name for name in (CALIBRATION_FILE, FAST_CALIBRATION_FILE) if (Path(router_dir) / name).is_file()]
    for name in stale:
        (Path(router_dir) / name).unlink()
    return stale


def group_of(task: str, grouping: Grouping) -> str:
    """The class a core task belongs to: itself, or its dataset (the name before the last `/` of `gsm8k/01`)."""
    if grouping == "task":
        return task
    head, _, tail = task.rpartition("/")
    return head if head and tail.isdigit() else task


def load_readout_choice(router_dir: Path) -> ReadoutChoice | None:
    """The router's stored readout choice, or None (it routes with the readout as trained)."""
    path = Path(router_dir) / READOUT_FILE
    return ReadoutChoice.load(path) if path.is_file() else None


def fit_classifier(
    embedded: np.ndarray,
    tasks: Sequence[str],
    grouping: Grouping,
    inverse_regularisation: float,
    kinds: Sequence[str | None] | None = None,
) -> ReadoutChoice | None:
    """A classifier readout fitted on the aptitude questions' (Q, D) embeddings and core tasks (and, by kind, their
    tasks' `kinds`); None for one group."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import normalize
    from threadpoolctl import threadpool_limits

    if grouping == "kind" and kinds is None:
        raise RouterError("a classifier by kind of request needs each aptitude question's kind")
    labels = (
        [str(k) for k in kinds] if grouping == "kind" and kinds is not None else [group_of(t, grouping) for t in tasks]
    )
    if len(set(labels)) < 2:
        return None
    # kinds weigh alike whatever their number of questions (31 knowledge tasks, 2 of code), as in the readout's prior
    balance = "balanced" if grouping == "kind" else None
    model = LogisticRegression(C=inverse_regularisation, max_iter=5000, class_weight=balance)
    with threadpool_limits(1):  # one BLAS thread: the same fit, and so the same choice, on any number of cores
        model.fit(normalize(embedded), labels)
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # two classes: sigmoid(z) = softmax([0, z])[1]
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
    return ReadoutChoice(
        kind="classifier",
        grouping=grouping,
        inverse_regularisation=inverse_regularisation,
        classes=tuple(str(c) for c in model.classes_),
        coef=torch.as_tensor(coef, dtype=torch.float32),
        intercept=torch.as_tensor(intercept, dtype=torch.float32),
    )


def candidates(
    trained_temperature: float,
    aptitude_embedded: np.ndarray,
    aptitude_tasks: Sequence[str],
    aptitude_kinds: Sequence[str | None] | None = None,
    prototypes: bool = False,
) -> list[ReadoutChoice]:
    """Every readout `choose_readout` tries, the trained one first: by kind of request only for a router whose
    readout reads `prototypes` and a test whose questions name two kinds or more (`aptitude_kinds`)."""
    found = [ReadoutChoice(kind="prototypes")]
    found += [ReadoutChoice(kind="prototypes", temperature=trained_temperature * s) for s in SHARPER]
    groupings: list[Grouping] = ["task"]
    if {group_of(t, "dataset") for t in aptitude_tasks} != set(aptitude_tasks):  # numbered clusters of a dataset
        groupings.append("dataset")
    if prototypes and aptitude_kinds is not None and len({k for k in aptitude_kinds if k is not None}) > 1:
        groupings.append("kind")
    for grouping in groupings:
        for value in CLASSIFIER_C:
            fitted = fit_classifier(aptitude_embedded, aptitude_tasks, grouping, value, aptitude_kinds)
            if fitted is not None:
                found.append(fitted)
    return found


def routed(scores: np.ndarray, outcomes: np.ndarray, mixed: bool = False) -> np.ndarray:
    """(Q,) each query's outcome on its top-scored model among those with an outcome (NaN: a model of another zoo),
    or, `mixed`, among every model, a model without an outcome counting as a wrong answer."""
    if mixed:
        return np.nan_to_num(outcomes[np.arange(len(scores)), scores.argmax(axis=1)], nan=0.0)
    scores = np.where(np.isnan(outcomes), -np.inf, scores)
    return outcomes[np.arange(len(scores)), scores.argmax(axis=1)]


def routed_accuracy(scores: np.ndarray, outcomes: np.ndarray, weights: np.ndarray) -> float:
    """Accuracy (%) of routing each query to its top-scored model, weighted per query."""
    return 100.0 * float(routed(scores, outcomes) @ weights)


def paired_standard_error(difference: np.ndarray, weights: np.ndarray) -> float:
    """Standard error (points) of the weighted mean of per-query differences in outcome."""
    terms = difference * weights * len(weights)  # their mean is the weighted mean
    return 100.0 * float(terms.std(ddof=1) / np.sqrt(len(terms)))


def choose_readout(router_dir: Path, outcomes: "pd.DataFrame", progress: bool = True) -> ReadoutChoice:
    """Score every candidate readout in fast mode on the router's validation queries; the one the rule of this
    module's docstring keeps, with every candidate's figures.

    Raises:
        RouterError: the router has no accuracy readout.
        DataError: no validation query answered by every model of the router's training zoo.
    """
    from modelsat.router.routing.readout_validation import ValidationSet

    data = ValidationSet.build(Path(router_dir), outcomes, progress=progress)
    found = candidates(
        data.trained_temperature,
        data.aptitude_embedded,
        data.aptitude_tasks,
        data.aptitude_kinds,
        data.scorer.prototypes is not None,
    )
    mixed = bool(np.isnan(data.y).any())  # several zoos: some models have no outcome on some queries
    scores = {c.label: data.scores(c) for c in found}
    picks = {label: routed(s, data.y, mixed) for label, s in scores.items()}
    trained = picks[found[0].label]
    accuracy = {label: round(100.0 * float(p @ data.weights), 2) for label, p in picks.items()}
    error = {label: round(paired_standard_error(p - trained, data.weights), 2) for label, p in picks.items()}
    by_zoo: dict[str, dict[str, float]] = {}  # several zoos: each routed among its own models alone
    for label, s in scores.items() if mixed else ():
        own = routed(s, data.y)
        by_zoo[label] = {}
        for zoo in dict.fromkeys(data.zoos):
            rows = data.zoos == zoo
            by_zoo[label][zoo] = round(100.0 * float(own[rows] @ data.weights[rows] / data.weights[rows].sum()), 2)
    return replace(
        pick(found, accuracy, error, by_zoo), validation=accuracy, standard_error=error, validation_by_zoo=by_zoo
    )


def pick(
    found: Sequence[ReadoutChoice],
    accuracy: dict[str, float],
    error: dict[str, float],
    by_zoo: dict[str, dict[str, float]] | None = None,
) -> ReadoutChoice:
    """The trained readout `found[0]`, or of those whose gain over it is significant (`accuracy` and the `error` of
    each paired gain keyed by label) the most accurate; with `by_zoo` (several zoos: label → zoo → accuracy among the
    zoo's own models), the one whose worst zoo gains most over the trained readout, then the most accurate."""
    threshold = significance_threshold(len(found) - 1)
    trained = found[0].label
    significant = [c for c in found[1:] if accuracy[c.label] - accuracy[trained] > threshold * error[c.label]]
    if not by_zoo:
        return max(significant, key=lambda c: accuracy[c.label], default=found[0])

    def worst_gain(label: str) -> float:
        return min(figure - by_zoo[trained][zoo] for zoo, figure in by_zoo[label].items())

    return max(significant, key=lambda c: (worst_gain(c.label), accuracy[c.label]), default=found[0])


def significance_threshold(alternatives: int) -> float:
    """Standard errors a paired gain must exceed: one-sided, Bonferroni-corrected for `alternatives` tries."""
    from scipy.stats import norm

    return float(norm.ppf(1.0 - FALSE_CHOICE_RATE / max(alternatives, 1)))
