"""Router and training configuration: pydantic models, YAML presets, `--set key=value` overrides.

Precedence: defaults < preset (`modelsat/presets/<name>.yaml`) < `--config FILE` < `--set`.

Example:
    cfg = load_config("cpu-small", overrides=["train.stage1_steps=100"])
"""

from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from modelsat.aptitude.cards import CLAUSE_TEMPLATE
from modelsat.errors import ConfigError

PROMPT_FORMAT_VERSION = 1


class Strict(BaseModel):
    """Base: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class LoraSettings(Strict):
    """LoRA adapters (peft) on the capability LLM for stage 2."""

    r: int = Field(8, description="LoRA rank.")
    alpha: int = Field(16, description="LoRA scaling numerator.")
    dropout: float = Field(0.0, description="LoRA dropout.")
    target_modules: list[str] = Field(["q_proj", "v_proj"], description="LLM linear layers that get adapters.")
    last_layers: int | None = Field(
        None,
        ge=1,
        description="Adapt only the top N decoder layers (null: all). Backward then stops N layers into the prefix.",
    )
    scope: Literal["all", "suffix"] = Field(
        "all",
        description="all: the adapters change every token; suffix: only the capability tokens and answer cue, while "
        "the instruction prefix stays the base model's, so the prefix store and shared-prefix scoring still hold.",
    )


class RouterConfig(Strict):
    """What the router is: models, capability tokens and the capability instruction format."""

    llm: str = Field("smollm2", description="Capability LLM: 'smollm2' (bundled) or any HF causal LM id/path.")
    encoder: str = Field("minilm", description="Capability encoder: 'minilm' (bundled) or any HF encoder id/path.")
    capability_tokens: int = Field(
        1, ge=0, description="Capability tokens per card: pooled count, or 0 for one token per card clause."
    )
    instruction_pooling: bool = Field(
        False,
        description="Pool card clauses with queries that also depend on the instruction's encoder embedding, so the "
        "capability token carries the model's record on the tasks that resemble the instruction (pooled layout only).",
    )
    numeric_accuracy: bool = Field(
        True, description="Also feed each clause's accuracy as numbers to the connector, beside its text embedding."
    )
    prior_head: bool = Field(
        True,
        description="Add a learned per-card prior (linear in the capability tokens) to the LLM's log-odds, so overall "
        "model strength need not pass through the frozen LLM.",
    )
    accuracy_readout: bool = Field(
        False,
        description="Add to the LLM's log-odds a readout of the card's accuracy on the subjects nearest the "
        "instruction: α·logit(Σ w·accuracy), w a softmax of the instruction–clause encoder similarity with a learned "
        "temperature. Monotone in the card's numbers, so it extrapolates to cards stronger than any seen in training.",
    )
    readout_keys: Literal["clauses", "prototypes"] = Field(
        "clauses",
        description="What the readout compares the instruction with: each clause's text embedding, or each core "
        "task's prototype (mean embedding of its aptitude questions, router/routing/prototypes.py).",
    )
    untested_margin: float = Field(
        0.05,
        ge=0,
        le=1,
        description="How the readout reads a partial card's untested tasks: as the model's mean over its tested tasks "
        "of the same kind, else the mean accuracy of the candidates tested on the task, less this margin, so a model "
        "tested on the request's kind ranks above an untested one of equal record (router/routing/untested.py; "
        "docs/router.md, 'Partial cards'). Full cards are unaffected.",
    )
    connector_hidden: int = Field(1024, description="Hidden width of the one-layer MLP connector.")
    clause_template: str = Field(CLAUSE_TEMPLATE, description="Text of one card clause.")
    system_prompt: str | None = Field(
        "You predict which language model can handle an instruction.",
        description="System message of the chat template (null: the tokenizer's default).",
    )
    inquiry: str = Field(
        "Based on the model description that follows, predict whether the model can handle the instruction "
        "above by answering 'Yes' or 'No'.",
        description="Inquiry prompt placed after the instruction.",
    )
    description_cue: str = Field("Model description:", description="Text right before the capability tokens.")
    answer_cue: str = Field(
        "", description="Tokens after the capability tokens (empty: the score is read at the last capability token)."
    )
    yes_tokens: list[str] = Field(["Yes", " Yes"], description="Tokens whose probability is 'Yes'.")
    no_tokens: list[str] = Field(["No", " No"], description="Tokens whose probability is 'No'.")
    order: Literal["instruction-first", "card-first"] = Field(
        "instruction-first",
        description="instruction-first shares the instruction's forward pass across candidates; card-first is "
        "the paper's order (card, instruction, inquiry), one full forward per candidate.",
    )
    max_instruction_tokens: int = Field(160, ge=8, description="Instructions longer than this are cut.")
    on_long_instruction: Literal["truncate", "error"] = Field(
        "truncate", description="truncate (with a warning) or error."
    )
    truncation_side: Literal["right", "left"] = Field(
        "right",
        description="Which end of a long instruction is cut: right keeps the head, left keeps the tail (e.g. the "
        "question after shared few-shot examples).",
    )
    truncation_head_tokens: int = Field(
        32,
        ge=0,
        description="The routing text (router/routing/routing_text.py) cuts a text too long for its budget to its "
        "first N tokens, a '…' marker and its end: the question usually comes last. truncation_side then only applies "
        "where a text is read without that rule.",
    )
    context_tokens: int = Field(
        0,
        ge=0,
        description="Tokens of the conversation before the question (the rest of a long last message, earlier turns "
        "newest first, then the system prompt) read with the question, within max_instruction_tokens. 0: the "
        "question alone; docs/serving.md measures the trade-off.",
    )
    perturbations: int = Field(
        1, ge=1, description="Average scores over this many clause orders (only order-sensitive configs differ)."
    )
    lora: LoraSettings | None = Field(None, description="LoRA on the LLM in stage 2; null = LLM stays frozen.")

    @property
    def reads_prototypes(self) -> bool:
        """Whether the router needs task prototypes (`prototypes.safetensors`): a readout keyed by them."""
        return self.accuracy_readout and self.readout_keys == "prototypes"

    @model_validator(mode="after")
    def _suffix_lora_needs_a_shared_prefix(self) -> "RouterConfig":
        if self.lora is not None and self.lora.scope == "suffix" and self.order == "card-first":
            raise ValueError("lora.scope=suffix needs order=instruction-first (card-first has no shared prefix)")
        return self


class TrainConfig(Strict):
    """How the router is trained (capability instruction tuning)."""

    loss: Literal["card", "instruction", "both"] = Field(
        "both",
        description="card: the paper's homogeneous in-batch negatives (one card, 1 right + k-1 wrong instructions); "
        "instruction: listwise over the models sharing one instruction; both: their sum.",
    )
    pointwise_weight: float = Field(
        0.0, ge=0, description="Weight of an added binary cross-entropy on P(Yes) (calibration for cost-aware routing)."
    )
    group_size: int = Field(4, ge=2, description="k: instructions per card group (1 positive + k-1 negatives).")
    batch_instructions: int = Field(16, ge=2, description="Instructions per step (every zoo card scores each).")
    cards_per_step: int | None = Field(
        None,
        ge=2,
        description="Score a random subset of this many zoo cards per step (null: all). A step costs B × cards "
        "suffix tokens, so a subset buys more instructions per minute; the losses compare the cards drawn.",
    )
    card_sampling_power: float = Field(
        0.0,
        ge=0,
        description="How `cards_per_step` draws its subset: with probability ∝ (model's train accuracy)^power; "
        "0 = uniform. Above 0, stronger models are sampled more often (the paper's data refinement), so the "
        "listwise loss compares the strong models that routing chooses between more often.",
    )
    selection_models: int | dict[str, int] = Field(
        0,
        description="Hold this many zoo models out of the loss (spread across the zoo's strength) and keep the "
        "checkpoint that routes the validation queries best with them joining by card only: checkpoints are chosen "
        "for reading cards, not for remembering the trained ones. On a table of several zoos (`import all`) it "
        "counts per zoo, and a mapping gives each zoo its own (`{mmlu-pro: 4, routerdc: 2}`; a zoo not named: 0); "
        "only models of that zoo alone are picked.",
    )
    max_train_queries: int | dict[str, int] | None = Field(
        None,
        description="Train on a fixed random subset of this many informative train queries (null: all); per zoo on a "
        "table of several zoos, or a mapping per zoo (a zoo not named: all of its queries).",
    )
    stage1_steps: int = Field(600, ge=0, description="Steps training the connector only (LLM and encoder frozen).")
    stage2_steps: int = Field(0, ge=0, description="Steps training connector + LoRA (+ encoder when set).")
    prefix_store: bool = Field(
        True,
        description="In stage 1 (LLM and encoder frozen), compute every training prefix's KV cache and encoder "
        "embedding once and keep them on disk under the output's checkpoints/ (router/training/prefix_store.py): "
        "a step then costs only the per-candidate suffixes. Validation then reads its queries' prefixes from "
        "an fp32 store too.",
    )
    prefix_store_dtype: Literal["bf16", "fp32"] = Field(
        "bf16",
        description="Dtype of the training prefix store's KV rows: bf16 halves its disk and page cache (the KV "
        "rounded as bf16 training rounds it; ~14 GB instead of 28 for the small zoo), fp32 keeps it exact.",
    )
    stage2_train_encoder: bool = Field(False, description="Unfreeze the capability encoder in stage 2.")
    lr_connector: float = Field(1e-3, gt=0, description="Learning rate of connector (and encoder in stage 2).")
    lr_llm: float = Field(2e-4, gt=0, description="Learning rate of the LLM adapters in stage 2.")
    lr_readout: float | None = Field(
        None, gt=0, description="Learning rate of the readout's weight and temperature (null: the connector's)."
    )
    weight_decay: float = Field(0.01, ge=0)
    warmup_steps: int = Field(30, ge=0)
    discriminative_weighting: bool = Field(
        True, description="Sample instructions on which the zoo disagrees more often (weight p(1-p))."
    )
    strong_model_weighting: bool = Field(True, description="Weight card groups by the model's train accuracy.")
    shuffle_clauses: bool = Field(True, description="Shuffle card clause order as augmentation.")
    card_dropout: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of a step's cards made partial (router/training/card_dropout.py): some kinds of request "
        "(task by task on a card of one kind) marked not tested, so readout and capability LLM learn partial cards.",
    )
    mixed_models: int = Field(
        0,
        ge=0,
        description="Per step, add this many models that are one zoo model on some task groups and "
        "another elsewhere (router/training/mixing.py): teaches reading the clause that fits the instruction.",
    )
    max_minutes: float | None = Field(
        None,
        gt=0,
        description="Time budget of one `train` run: after timing its first steps, fewer steps are planned (and "
        "re-planned after each validation, up to the configured steps) so that training, validation and calibration "
        "end within it (null: none).",
    )
    ema_decay: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="Validate and keep an exponential moving average of the trainable weights with this decay per "
        "step (router/training/averaging.py; e.g. 0.99), instead of the current weights (null: no average).",
    )
    eval_every: int = Field(100, ge=1, description="Validate every N steps (routed accuracy on validation).")
    select_by: Literal["accuracy", "aiq"] = Field(
        "accuracy",
        description="Which validation figure picks the kept weights: routed accuracy (quality only), or the AIQ of "
        "the P(Yes) − λ·cost sweep over the outcomes' recorded per-query costs (for cost-aware routing).",
    )
    val_queries: int | dict[str, int] = Field(
        600,
        description="Validation queries used for model selection; per zoo on a table of several zoos, or a mapping "
        "per zoo (a zoo not named: all of its validation queries). With several zoos the kept weights route best "
        "averaged over the zoos.",
    )
    checkpoint_every: int = Field(50, ge=1)
    bf16: Literal["auto", "on", "off"] = Field("auto", description="bf16 autocast: auto = when the CPU/GPU has it.")
    seed: int = 0
    aptitude_tasks: int = 50
    aptitude_per_task: int = 20
    aptitude_sampling: Literal["representative", "discriminative"] = Field(
        "representative", description="Aptitude questions per task: a uniform sample, or the paper's p≈½ ones."
    )
    aptitude_method: Literal["auto", "mmlu", "clusters", "tasks"] = Field(
        "auto",
        description="How core tasks are made (aptitude/selection.py): MMLU subjects, clusters of the train queries, "
        "or the outcomes' own tasks clustered within; auto = mmlu when MMLU results exist, else clusters.",
    )
    aptitude_other_tasks: bool = Field(
        False,
        description="Also a core task per non-MMLU task of the outcomes (MMLU-Pro's own problem categories).",
    )

    @model_validator(mode="after")
    def _per_zoo_counts_in_range(self) -> "TrainConfig":
        for name, least in (("selection_models", 0), ("max_train_queries", 2), ("val_queries", 10)):
            value = getattr(self, name)
            counts = value.values() if isinstance(value, dict) else [] if value is None else [value]
            if any(count < least for count in counts):
                raise ValueError(f"train.{name}: every count must be at least {least} (got {value})")
        return self


def per_zoo(value: int | dict[str, int] | None, zoo: str, default: int | None) -> int | None:
    """A per-zoo training setting's value for `zoo`: the int itself, the mapping's entry, or `default`."""
    if isinstance(value, dict):
        return value.get(zoo, default)
    return value


class ModelsatConfig(Strict):
    """Root config: one section per stage."""

    router: RouterConfig = RouterConfig()
    train: TrainConfig = TrainConfig()


def preset_names() -> list[str]:
    """Names of the bundled presets."""
    return sorted(
        p.name.removesuffix(".yaml") for p in resources.files("modelsat.presets").iterdir() if p.name.endswith(".yaml")
    )


def _read_yaml(text: str, origin: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a mapping at the top level")
    return data


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _apply_override(data: dict[str, Any], item: str) -> dict[str, Any]:
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected key=value, e.g. train.stage1_steps=100")
    key, raw = item.split("=", 1)
    node: Any = yaml.safe_load(raw)
    for part in reversed(key.split(".")):
        node = {part: node}
    return _deep_merge(data, node)


def load_config(
    preset: str | None = "cpu-small", file: Path | None = None, overrides: list[str] = ()
) -> ModelsatConfig:
    """Resolve a config from a preset, an optional YAML file and `key=value` overrides."""
    data: dict[str, Any] = {}
    if preset:
        if preset not in preset_names():
            raise ConfigError(f"unknown preset {preset!r}; presets: {', '.join(preset_names())}")
        text = resources.files("modelsat.presets").joinpath(f"{preset}.yaml").read_text()
        data = _read_yaml(text, f"preset {preset}")
    if file:
        if not Path(file).is_file():
            raise ConfigError(f"{file}: no such config file")
        data = _deep_merge(data, _read_yaml(Path(file).read_text(), str(file)))
    for item in overrides:
        data = _apply_override(data, item)
    try:
        return ModelsatConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise ConfigError(f"config field {where}: {first['msg']}") from exc
