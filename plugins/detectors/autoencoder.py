"""``detectors.autoencoder``: an MLP autoencoder; score = squared reconstruction error per star.

The encoder widths are ``layers`` (the last is the latent size) and the decoder
mirrors them, so the lesson's 9-20-6-2-6-20-9 is ``layers: [20, 6, 2]`` and its
9-100-20-4-20-100-9 is ``layers: [100, 20, 4]``. Every hidden layer, the latent
one included, is followed by ReLU (as in the lesson); the output is linear.

Training: Adam on the mean per-row squared error of standardised features.
Default is minibatch with a random validation split and early stopping;
``full_batch: true`` with ``learning_rate: 0.01``, ``epochs: 10001``,
``validation_fraction: 0`` and ``patience: null`` is the lesson's scheme (one
Adam step per epoch on the whole training half; the lesson's summed loss
differs from this mean only by a constant factor, which Adam is invariant to).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from toolkit.core import Field

from .base import DetectorConfig, EstimatorDetector
from .estimator import Estimator
from .training import arrays_to_state_dict, state_dict_to_arrays, torch_session, train_network

SCORE_BATCH = 65_536
#: the training options: TorchEstimator's keyword arguments, TorchTrainingConfig's fields, saved model params
TRAINING_KEYS = ("epochs", "batch_size", "learning_rate", "validation_fraction", "patience", "full_batch", "threads")


def build_mlp_autoencoder(n_features: int, layers: list[int]):
    import torch.nn as nn

    widths = [n_features, *layers]
    mods: list = []
    for a, b in zip(widths[:-1], widths[1:]):          # encoder, down to the latent layer
        mods += [nn.Linear(a, b), nn.ReLU()]
    back = widths[::-1]
    for a, b in zip(back[:-2], back[1:-1]):             # decoder hidden layers
        mods += [nn.Linear(a, b), nn.ReLU()]
    mods.append(nn.Linear(back[-2], back[-1]))          # linear output
    return nn.Sequential(*mods)


def _row_sse(net, xb):
    return ((net(xb) - xb) ** 2).sum(dim=1)


class TorchEstimator(Estimator):
    """Shared fit/score/state for the torch estimators (subclasses build the net and the losses)."""

    def __init__(self, *, epochs: int, batch_size: int, learning_rate: float, validation_fraction: float,
                 patience: int | None, full_batch: bool, threads: int | None) -> None:
        self.epochs, self.batch_size, self.learning_rate = epochs, batch_size, learning_rate
        self.validation_fraction, self.patience, self.full_batch = validation_fraction, patience, full_batch
        self.threads = threads
        self.net = None
        self._net64 = None   # float64 copy of the trained net, for scoring
        self.n_features_ = None
        self.history = None

    @property
    def min_rows(self) -> int:
        return 10

    def build(self, n_features: int):
        raise NotImplementedError

    def train_loss(self, net, xb):
        """Per-row training loss."""
        raise NotImplementedError

    def score_rows(self, net, xb):
        """Per-row anomaly score (deterministic)."""
        raise NotImplementedError

    def training_params(self) -> dict:
        return {k: getattr(self, k) for k in TRAINING_KEYS}

    def fit(self, X: np.ndarray, *, seed: int, advance: Callable = lambda n=1: None) -> "TorchEstimator":
        self.n_features_ = X.shape[1]
        with torch_session(seed, self.threads):
            self.net = self.build(self.n_features_)
            self.history = train_network(
                self.net, self.train_loss, X, epochs=self.epochs, batch_size=self.batch_size,
                learning_rate=self.learning_rate, validation_fraction=self.validation_fraction,
                patience=self.patience, full_batch=self.full_batch, seed=seed, advance=advance)
        self._net64 = None
        return self

    def reconstruct_rows(self, net, xb):
        """Per-row reconstruction in standardised units (deterministic)."""
        raise NotImplementedError

    def _per_batch(self, rows_fn, X: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Apply ``rows_fn(net, batch)`` to ``X`` in batches of SCORE_BATCH rows, writing into ``out``."""
        if self.net is None:
            raise RuntimeError("fit the estimator (or load a saved one) before scoring or reconstructing")
        import torch

        # Scoring must not depend on which rows share a batch (a streamed run batches rows differently
        # from an in-memory one). float32 matrix products change in the last bits with the batch size, so
        # the trained weights score in float64 and the result is rounded to float32: batch-size effects
        # (~1e-16) then vanish below the float32 step (~1e-7) that the trained network resolves anyway.
        if self._net64 is None:
            import copy

            self._net64 = copy.deepcopy(self.net).double()
            self._net64.train(False)
        with torch_session(0, self.threads), torch.no_grad():
            for start in range(0, len(X), SCORE_BATCH):
                xb = torch.from_numpy(np.ascontiguousarray(X[start:start + SCORE_BATCH], dtype=np.float64))
                out[start:start + len(xb)] = rows_fn(self._net64, xb).numpy().astype(np.float32)
        return out

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        return self._per_batch(self.score_rows, X, np.empty(len(X)))

    def reconstruct(self, X: np.ndarray) -> np.ndarray:
        """The network's output for standardised rows ``X``, in the same standardised units."""
        return self._per_batch(self.reconstruct_rows, X, np.empty(np.shape(X)))

    def versions(self) -> dict[str, str]:
        import torch

        return {"torch": torch.__version__}

    def _state(self, params: dict) -> dict:
        return {"params": {**params, **self.training_params(), "n_features": self.n_features_},
                "arrays": state_dict_to_arrays(self.net)}

    def _load_weights(self, state: dict) -> None:
        self.n_features_ = int(state["params"]["n_features"])
        with torch_session(0, self.threads):
            self.net = self.build(self.n_features_)
            self.net.load_state_dict(arrays_to_state_dict(state["arrays"]))
            self.net.train(False)
        self._net64 = None

    @staticmethod
    def _training_kwargs(params: dict) -> dict:
        return {k: params[k] for k in TRAINING_KEYS}


class AutoencoderEstimator(TorchEstimator):
    kind = "autoencoder"

    def __init__(self, layers=(20, 6, 2), *, epochs: int = 50, batch_size: int = 256, learning_rate: float = 1e-3,
                 validation_fraction: float = 0.1, patience: int | None = 5, full_batch: bool = False,
                 threads: int | None = 1) -> None:
        super().__init__(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                         validation_fraction=validation_fraction, patience=patience, full_batch=full_batch,
                         threads=threads)
        self.layers = [int(w) for w in layers]

    def build(self, n_features: int):
        return build_mlp_autoencoder(n_features, self.layers)

    def train_loss(self, net, xb):
        return _row_sse(net, xb)

    def score_rows(self, net, xb):
        return _row_sse(net, xb)

    def reconstruct_rows(self, net, xb):
        return net(xb)

    def get_state(self) -> dict:
        return self._state({"layers": self.layers})

    @classmethod
    def from_state(cls, state: dict) -> "AutoencoderEstimator":
        p = state["params"]
        est = cls(p["layers"], **cls._training_kwargs(p))
        est._load_weights(state)
        return est


class TorchTrainingConfig(DetectorConfig):
    """Training options shared by the torch detectors."""

    epochs: int = Field(50, ge=1, description="maximum training epochs (the lesson: 10001 full-batch epochs)")
    batch_size: int = Field(256, ge=1, description="minibatch size (ignored with full_batch)")
    learning_rate: float = Field(1e-3, gt=0, description="Adam learning rate (the lesson: 0.01)")
    validation_fraction: float = Field(0.1, ge=0, lt=1, description="share of each training set held out for "
                                       "the validation loss and early stopping (0: none)")
    patience: int | None = Field(5, ge=1, description="stop after this many epochs without a better validation "
                                 "loss and keep the best weights (null: run all epochs)")
    full_batch: bool = Field(False, description="one Adam step per epoch on the whole training set (the lesson)")
    threads: int | None = Field(1, ge=1, description="torch CPU threads (null: every core this process may use). "
                                "These small networks do not gain from intra-op threads, and on a busy machine "
                                "2 threads measured 20x slower than 1")

    def training_kwargs(self) -> dict:
        return {k: getattr(self, k) for k in TRAINING_KEYS}


class AutoencoderDetector(EstimatorDetector):
    name = "detectors.autoencoder"
    aliases = ("detect.autoencoder",)   # the former name, until the next release
    estimator_class = AutoencoderEstimator
    summary = "MLP autoencoder (torch); score = summed squared reconstruction error of standardised features."

    class Config(TorchTrainingConfig):
        layers: list[int] = Field([20, 6, 2], min_length=1, description="encoder widths, the last is the latent "
                                  "size; the decoder mirrors them ([20, 6, 2] = the lesson's 9-20-6-2-6-20-9)")

    def make_estimator(self) -> AutoencoderEstimator:
        if any(w < 1 for w in self.config.layers):
            from toolkit.core import RecipeError
            raise RecipeError(f"{self.name}: layer widths must be >= 1 (got {self.config.layers})")
        return AutoencoderEstimator(self.config.layers, **self.config.training_kwargs())

    def score_meaning(self, n_features: int) -> str:
        arch = "-".join(map(str, [n_features, *self.config.layers, *self.config.layers[-2::-1], n_features]))
        return (f"sum over the {n_features} features of the squared reconstruction error of a {arch} MLP "
                "autoencoder, in units of each feature's standard deviation over the training rows")
