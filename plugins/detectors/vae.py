"""``detectors.vae``: a variational autoencoder (encoder -> latent mean and log-variance -> decoder).

Training loss per row: squared reconstruction error summed over features +
beta * KL(q(z|x) || N(0, 1)). The symbiotic pipeline's model is
``layers: [16], latent: 3, epochs: 100, batch_size: 64, learning_rate: 1e-3``
with ``nan_policy: median``. Scoring is deterministic: the decoder is fed the
latent mean. ``score: reconstruction`` gives that squared error;
``score: elbo`` gives the negative ELBO estimate, error + beta * KL.
"""

from __future__ import annotations

from typing import Literal

from toolkit.core import Field

from .autoencoder import TorchEstimator, TorchTrainingConfig
from .base import EstimatorDetector


def build_vae(n_features: int, layers: list[int], latent: int):
    import torch
    import torch.nn as nn

    class VAE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            enc, width = [], n_features
            for w in layers:
                enc += [nn.Linear(width, w), nn.ReLU()]
                width = w
            self.encoder = nn.Sequential(*enc)
            self.mu = nn.Linear(width, latent)
            self.logvar = nn.Linear(width, latent)
            dec, width = [], latent
            for w in layers[::-1]:
                dec += [nn.Linear(width, w), nn.ReLU()]
                width = w
            dec.append(nn.Linear(width, n_features))
            self.decoder = nn.Sequential(*dec)

        def encode(self, x):
            h = self.encoder(x)
            return self.mu(h), self.logvar(h)

        def forward(self, x, sample: bool = True):
            mu, logvar = self.encode(x)
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if sample else mu
            return self.decoder(z), mu, logvar

    return VAE()


def _kl(mu, logvar):
    return -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(dim=1)


class VAEEstimator(TorchEstimator):
    kind = "vae"

    def __init__(self, layers=(16,), latent: int = 3, beta: float = 1.0, score: str = "reconstruction", *,
                 epochs: int = 100, batch_size: int = 64, learning_rate: float = 1e-3,
                 validation_fraction: float = 0.1, patience: int | None = 10, full_batch: bool = False,
                 threads: int | None = 1) -> None:
        super().__init__(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                         validation_fraction=validation_fraction, patience=patience, full_batch=full_batch,
                         threads=threads)
        self.layers, self.latent, self.beta, self.score = [int(w) for w in layers], int(latent), float(beta), score

    def build(self, n_features: int):
        return build_vae(n_features, self.layers, self.latent)

    def train_loss(self, net, xb):
        recon, mu, logvar = net(xb, sample=True)
        return ((recon - xb) ** 2).sum(dim=1) + self.beta * _kl(mu, logvar)

    def score_rows(self, net, xb):
        recon, mu, logvar = net(xb, sample=False)
        err = ((recon - xb) ** 2).sum(dim=1)
        return err + self.beta * _kl(mu, logvar) if self.score == "elbo" else err

    def reconstruct_rows(self, net, xb):
        return net(xb, sample=False)[0]      # decoder fed the latent mean: deterministic

    def get_state(self) -> dict:
        return self._state({"layers": self.layers, "latent": self.latent, "beta": self.beta, "score": self.score})

    @classmethod
    def from_state(cls, state: dict) -> "VAEEstimator":
        p = state["params"]
        est = cls(p["layers"], p["latent"], p["beta"], p["score"], **cls._training_kwargs(p))
        est._load_weights(state)
        return est


class VAEDetector(EstimatorDetector):
    name = "detectors.vae"
    aliases = ("detect.vae",)   # the former name, until the next release
    estimator_class = VAEEstimator
    summary = "Variational autoencoder (torch, MSE + beta*KL); score = reconstruction error or negative ELBO."

    class Config(TorchTrainingConfig):
        layers: list[int] = Field([16], description="encoder hidden widths (decoder mirrors); [16] = the "
                                  "symbiotic pipeline's 9-16-3")
        latent: int = Field(3, ge=1, description="latent dimensions")
        beta: float = Field(1.0, ge=0, description="weight of the KL term in the loss (and in the elbo score)")
        score: Literal["reconstruction", "elbo"] = Field("reconstruction", description="reconstruction: squared "
                                                         "error of the decoded latent mean; elbo: error + beta*KL")
        epochs: int = Field(100, ge=1, description="maximum training epochs")
        batch_size: int = Field(64, ge=1, description="minibatch size")
        patience: int | None = Field(10, ge=1, description="early-stopping patience in epochs (null: none)")

    def make_estimator(self) -> VAEEstimator:
        c = self.config
        return VAEEstimator(c.layers, c.latent, c.beta, c.score, **c.training_kwargs())

    def score_meaning(self, n_features: int) -> str:
        c = self.config
        arch = "-".join(map(str, [n_features, *c.layers, c.latent, *c.layers[::-1], n_features]))
        err = (f"sum over the {n_features} features of the squared reconstruction error of the {arch} VAE "
               "(decoder fed the latent mean), in units of each feature's training standard deviation")
        return err if c.score == "reconstruction" else f"negative ELBO: {err} + {c.beta:g} x KL(q(z|x) || N(0,1))"
