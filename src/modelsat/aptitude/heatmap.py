"""Models × core tasks heatmap of capability cards (matplotlib, Agg backend; imported only when plotting).

Example:
    plot_cards(load_cards("cards.json"), "cards.png")
"""

from collections.abc import Mapping
from pathlib import Path

from modelsat.aptitude.cards import Card
from modelsat.errors import DataError


def plot_cards(cards: Mapping[str, Card], path: str | Path) -> None:
    """Draw one row per model (best mean accuracy on top), one column per core task, and save to `path`.

    Raises:
        DataError: when the cards come from different aptitude sets (their columns would not match).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    if len({card.aptitude_fingerprint for card in cards.values()}) > 1:
        raise DataError("the cards come from different aptitude sets; plot them from separate files")
    rows = sorted(cards.values(), key=lambda card: (-card.mean_accuracy, card.model))
    tasks = [score.task.removeprefix("mmlu/") for score in rows[0].scores]
    grid = np.array(
        [[np.nan if s.accuracy is None else s.accuracy for s in card.scores] for card in rows]
    )  # (models, tasks)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.22 * len(tasks) + 3), max(3.0, 0.3 * len(rows) + 2)))
    image = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(tasks)), tasks, rotation=90, fontsize=6)
    ax.set_yticks(range(len(rows)), [f"{card.model} ({card.mean_accuracy:.0%})" for card in rows], fontsize=7)
    ax.set_title(f"Aptitude test accuracy ({len(rows)} models × {len(tasks)} core tasks)")
    fig.colorbar(image, ax=ax, label="accuracy")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
