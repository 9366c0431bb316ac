"""Routing speed: shared-prefix scoring vs one plain forward and vs naive per-candidate scoring.

Prints, in one run, the median ms per instruction over real MMLU-Pro instructions for
(a) one forward pass over the instruction prompt alone, (b) shared-prefix scoring of 5, 12 and 25
candidates (embedding the instruction, pooling the cards' cached connector outputs for it and the
accuracy readout included), (b2) the same for 25 candidates in two decoder calls (the prefix, then the
suffixes reading its KV cache), (c) naive per-candidate full scoring of the same candidates, then the
ratios (b)/(a), (b2)/(a) and (c)/(b), and the peak resident memory. `--tokens N` puts each instruction
after a pasted document to N tokens and reads all of it (the router's budget raised to N): the cost of
long prefixes without the cut.

    .venv/bin/python benchmarks/route_speed.py [--router routers/default] [--n 50] [--bf16 auto|on|off]
        [--tokens 2048 --naive-n 0]
"""

import argparse
import dataclasses
import json
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from transformers import PreTrainedTokenizerBase

from modelsat.aptitude.cards import build_cards
from modelsat.aptitude.selection import select_aptitude_set
from modelsat.data.importers import mmlu_pro
from modelsat.data.locate import data_dir
from modelsat.data.splits import split_outcomes
from modelsat.data.zoos import SMALL
from modelsat.router.routing.llm.inference import autocast, card_clause_tokens, use_bf16

CANDIDATES = (5, 12, 25)
DOCUMENT = "The quarterly report summarises the regional sales figures, the hiring plan and the facilities budget.\n\n"


def median_ms(fns: dict[str, Callable], items: list, repeats: int = 1) -> dict[str, float]:
    """Median over `items` of each function's best-of-`repeats` wall time in ms. The functions are timed in
    turn on each item, so a change in the machine's speed during the run hits all of them alike and their
    ratios stay fair (one warm-up call of each first)."""
    for fn in fns.values():
        fn(items[0])
    times: dict[str, list[float]] = {name: [] for name in fns}
    for item in items:
        for name, fn in fns.items():
            best = float("inf")
            for _ in range(repeats):
                start = time.perf_counter()
                fn(item)
                best = min(best, time.perf_counter() - start)
            times[name].append(1000 * best)
    return {name: statistics.median(values) for name, values in times.items()}


def padded(tokenizer: PreTrainedTokenizerBase, instruction: str, tokens: int) -> str:
    """`instruction` after a pasted document, `tokens` tokens in all."""
    room = tokens - len(tokenizer.encode(instruction, add_special_tokens=False)) - 2
    document = tokenizer.encode(DOCUMENT * (room // 10 + 1), add_special_tokens=False)[:room]
    return tokenizer.decode(document).strip() + "\n\n" + instruction


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--router", type=Path, default=Path("routers/default"))
    parser.add_argument("--n", type=int, default=50, help="number of real instructions")
    parser.add_argument("--bf16", default="auto", choices=["auto", "on", "off"])
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    parser.add_argument("--tokens", type=int, default=0, help="pad each instruction to N tokens and read it whole")
    parser.add_argument("--naive-n", type=int, default=20, help="instructions timed for (c) (0: skip it)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    outcomes = mmlu_pro.load(data_dir() / "mmlu-pro").outcomes
    if (args.router / "weights.safetensors").is_file():
        from modelsat.router.routing.folder import RouterFolder
        from modelsat.router.routing.llm.loading import load_router_net

        folder = RouterFolder.read(args.router)
        net, aptitude = load_router_net(folder), folder.aptitude
    else:
        from modelsat.router.config import RouterConfig
        from modelsat.router.routing.llm.model import RouterNet

        net = RouterNet.build(RouterConfig()).eval()
        aptitude = select_aptitude_set(outcomes, list(SMALL))
    models = sorted(outcomes["model"].unique())[: max(CANDIDATES)]
    cards = build_cards(outcomes, aptitude, models, partial=True)  # a test of several zoos: its MMLU-Pro part
    test = split_outcomes(outcomes, "test", exclude=aptitude.query_ids).drop_duplicates("query_id")
    prompts = test["prompt"].sample(args.n, random_state=0).tolist()
    if args.tokens:
        net.layout = dataclasses.replace(net.layout, max_instruction_tokens=args.tokens)
        prompts = [padded(net.llm_tokenizer, prompt, args.tokens) for prompt in prompts]
    bf16 = use_bf16(args.bf16, net.device)
    decoder = net.llm.get_decoder()

    def routing_parts(prompt: str, n: int) -> tuple[torch.Tensor, torch.Tensor | float]:
        """As a loaded router: the cards' connector outputs are computed once; per instruction, its encoder
        embedding pools them (instruction pooling, else the tokens are fixed) and feeds the accuracy readout
        (0 when the router has none). Returns the capability tokens and the readout's scores."""
        chosen = [cards[m] for m in models[:n]]
        embedded = net.capability.embed_texts([prompt]).float() if net.reads_instruction_embedding else None
        if net.cfg.instruction_pooling:
            caps = net.capability_tokens(chosen, embedded=embedded, clause_tokens=clause_tokens[:n])
        else:
            caps = static_caps[:n]
        return caps, net.readout_scores(chosen, embedded)

    def routed(score_tokens, item: tuple, n: int) -> torch.Tensor:
        caps, readout = routing_parts(item[0], n)
        return score_tokens(item[1], item[2], caps) + readout

    clause_tokens = card_clause_tokens(net, [cards[m] for m in models], bf16)[0]
    with torch.no_grad(), autocast(net.device, bf16):
        static_caps = None if net.cfg.instruction_pooling else net.capability.pool(clause_tokens)
        items = [(p, *net.prefixes([p])) for p in prompts]
        n_max = max(CANDIDATES)
        timed = {"plain": lambda item: decoder(input_ids=item[1], attention_mask=item[2])}
        for n in CANDIDATES:
            timed[f"shared_{n}"] = lambda item, n=n: routed(net.fast_score_tokens, item, n)
        timed["two_calls"] = lambda item: routed(net.score_tokens, item, n_max)
        ms = median_ms(timed, items, repeats=3)
        plain = ms["plain"]
        results = {"instruction_tokens_median": statistics.median(int(item[2].sum()) for item in items)}
        results["instruction_pooling"] = net.cfg.instruction_pooling
        results["a_plain_forward_ms"] = round(plain, 2)
        for n in CANDIDATES:
            shared = ms[f"shared_{n}"]
            results[f"b_shared_{n}_ms"] = round(shared, 2)
            results[f"ratio_b{n}_over_a"] = round(shared / plain, 3)
            if args.naive_n:
                naive = {
                    "shared": lambda item, n=n: routed(net.fast_score_tokens, item, n),
                    "naive": lambda item, n=n: routed(net.naive_score_tokens, item, n),
                }
                paired = median_ms(naive, items[: args.naive_n])
                results[f"c_naive_{n}_ms"] = round(paired["naive"], 2)
                results[f"ratio_c{n}_over_b{n}"] = round(paired["naive"] / paired["shared"], 2)
        results[f"b2_two_calls_{n_max}_ms"] = round(ms["two_calls"], 2)
        results[f"ratio_b2{n_max}_over_a"] = round(ms["two_calls"] / plain, 3)
    results["bf16"] = bf16
    results["threads"] = torch.get_num_threads()
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
