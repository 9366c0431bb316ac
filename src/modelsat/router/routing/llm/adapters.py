"""LoRA adapters (peft) on the capability LLM for stage 2 of capability instruction tuning.

Example:
    add_llm_lora(net, cfg.router.lora)   # net.llm becomes a PeftModel; only adapters are trainable
"""

from peft import LoraConfig, get_peft_model

from modelsat.router.config import LoraSettings
from modelsat.router.routing.llm.model import RouterNet


def add_llm_lora(net: RouterNet, settings: LoraSettings) -> None:
    """Wrap `net.llm` with LoRA adapters on `settings.target_modules` of the chosen layers (idempotent)."""
    if hasattr(net.llm, "peft_config"):
        return
    n_layers = net.llm.config.num_hidden_layers
    layers = None if settings.last_layers is None else list(range(max(0, n_layers - settings.last_layers), n_layers))
    config = LoraConfig(
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=settings.target_modules,
        bias="none",
        layers_to_transform=layers,
    )
    net.llm = get_peft_model(net.llm, config)
