"""LoRA adapters (peft) on the capability LLM for stage 2 of capability instruction tuning.

Example:
    add_llm_lora(net, cfg.router.lora)   # net.llm becomes a PeftModel; only adapters are trainable
"""

from peft import LoraConfig, get_peft_model

from modelsat.router.config import LoraSettings
from modelsat.router.model import RouterNet


def add_llm_lora(net: RouterNet, settings: LoraSettings) -> None:
    """Wrap `net.llm` with LoRA adapters on `settings.target_modules` (idempotent)."""
    if hasattr(net.llm, "peft_config"):
        return
    config = LoraConfig(
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=settings.target_modules,
        bias="none",
    )
    net.llm = get_peft_model(net.llm, config)
