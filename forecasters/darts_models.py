"""The field's deep forecasters as named entries, one darts model each, with the training budget fixed.

Zhang & Gilpin (2025) trained NBEATS, TiDE, LSTM, Transformer and linear models per system with the lookback
chosen on validation data; Gilpin (2023) compared these and more on the dysts catalogue. Each entry below
is a `DartsForecaster` with these defaults (all can be overridden by keyword, darts' own arguments too):

| entry               | darts model                     | model defaults                      |
| ------------------- | ------------------------------- | ----------------------------------- |
| `nbeats`            | `NBEATSModel`                   | darts' (generic architecture)       |
| `nhits`             | `NHiTSModel`                    | darts'                              |
| `tide`              | `TiDEModel`                     | darts'                              |
| `tcn`               | `TCNModel`                      | darts'                              |
| `lstm`              | `BlockRNNModel(model="LSTM")`   | darts' (hidden size 25, one layer)  |
| `darts-transformer` | `TransformerModel`              | darts' (d_model 64, 4 heads)        |
| `nlinear`           | `NLinearModel`                  | darts'                              |
| `dlinear`           | `DLinearModel`                  | darts'                              |

Shared by all (`BUDGET`): the lookback is chosen per system from 5, 25, 50, 75, 100 and 200 points
(`lookback="auto"`) on a held-out fifth of the training series, each candidate trained for at most 30
epochs of at most 256 windows per training series (batches of 32, Adam at darts' 1e-3), stopping once the
held-out loss has not improved for 5 epochs; output chunks of 16 points (fewer when the lookback is
shorter), so that forecasts and the long free runs are autoregressive in chunks. The results file records
the chosen lookback and the epochs trained per system (`fitted_params`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from .darts_adapter import DartsForecaster

# The training budget every entry shares (module docstring).
BUDGET = {"lookback": "auto", "n_epochs": 30, "max_samples_per_ts": 256, "batch_size": 32,
          "output_chunk_length": 16, "patience": 5}
# entry name -> (darts model, the entry's own model defaults)
ENTRIES: dict[str, tuple[str, dict[str, Any]]] = {
    "nbeats": ("NBEATS", {}),
    "nhits": ("NHiTS", {}),
    "tide": ("TiDE", {}),
    "tcn": ("TCN", {}),
    "lstm": ("BlockRNN", {"rnn": "LSTM"}),
    "darts-transformer": ("Transformer", {}),
    "nlinear": ("NLinear", {}),
    "dlinear": ("DLinear", {}),
}


class DartsEntry(DartsForecaster):
    """A named entry: a darts model with the entry's defaults and the shared budget."""

    entry: ClassVar[str]

    def __init__(self, seed: int = 0, **overrides: Any):
        darts_model, defaults = ENTRIES[self.entry]
        super().__init__(model=darts_model, seed=seed, **{**BUDGET, **defaults, **overrides})

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments (the darts model is fixed by the entry)."""
        params = super().get_params()
        del params["model"]
        return params


def _entry(name: str, class_name: str) -> type[DartsEntry]:
    """The class registered as `name` (an entry point of its own, picklable by its module-level name)."""
    darts_model = ENTRIES[name][0]
    return type(class_name, (DartsEntry,), {
        "entry": name, "name": name, "__module__": __name__, "__qualname__": class_name,
        "__doc__": f"darts' {darts_model}Model with the `{name}` defaults and budget (module docstring).",
    })


NBEATS = _entry("nbeats", "NBEATS")
NHiTS = _entry("nhits", "NHiTS")
TiDE = _entry("tide", "TiDE")
TCN = _entry("tcn", "TCN")
LSTM = _entry("lstm", "LSTM")
DartsTransformer = _entry("darts-transformer", "DartsTransformer")
NLinear = _entry("nlinear", "NLinear")
DLinear = _entry("dlinear", "DLinear")
