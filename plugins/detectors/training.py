"""Training loop shared by the torch estimators (autoencoder, VAE).

Minibatch Adam with a random validation split and early stopping on the
validation loss (the best weights are restored), or the lesson's full-batch
scheme (one Adam step per epoch on the whole training set). Runs inside
``torch_session``: seeded, deterministic algorithms, a fixed thread count, and
the caller's torch RNG/threads/determinism settings restored afterwards.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Callable

import numpy as np


def default_threads() -> int:
    """CPU cores this process may use (torch's own default can oversubscribe)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def torch_session(seed: int, threads: int | None):
    """Seed torch, switch on deterministic algorithms and set threads; restore all after."""
    import torch

    prev_threads = torch.get_num_threads()
    prev_det = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads or default_threads())
    torch.use_deterministic_algorithms(True)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            yield torch
    finally:
        torch.set_num_threads(prev_threads)
        torch.use_deterministic_algorithms(prev_det)


def train_network(net, row_loss: Callable, X: np.ndarray, *, epochs: int, batch_size: int, learning_rate: float,
                  validation_fraction: float, patience: int | None, full_batch: bool, seed: int,
                  advance: Callable = lambda n=1: None) -> dict:
    """Fit ``net`` to minimise ``row_loss(net, batch)`` (a per-row loss tensor, averaged here).

    Returns the history: per-epoch mean training and validation loss per row,
    the best epoch (by validation loss when there is a validation split) and
    whether training stopped early. Must be called inside ``torch_session``.
    """
    import torch

    rng = np.random.default_rng(seed)
    n = len(X)
    n_val = int(round(n * validation_fraction)) if validation_fraction > 0 else 0
    if n_val and n - n_val < 2:
        n_val = 0
    order = rng.permutation(n)
    x_val = torch.from_numpy(np.ascontiguousarray(X[np.sort(order[:n_val])], dtype=np.float32)) if n_val else None
    x_train = torch.from_numpy(np.ascontiguousarray(X[np.sort(order[n_val:])], dtype=np.float32))
    gen = torch.Generator().manual_seed(int(seed))
    try:  # the fused CPU kernel cuts Adam's per-step Python overhead, which dominates for these small nets
        opt = torch.optim.Adam(net.parameters(), lr=learning_rate, fused=True)
    except (RuntimeError, TypeError):
        opt = torch.optim.Adam(net.parameters(), lr=learning_rate)
    history = {"train": [], "validation": [], "best_epoch": None, "epochs_run": 0, "stopped_early": False,
               "n_train": int(len(x_train)), "n_validation": int(n_val)}
    best, best_state, since_best = np.inf, None, 0
    for epoch in range(epochs):
        net.train(True)
        if full_batch:
            opt.zero_grad()
            loss = row_loss(net, x_train).mean()
            loss.backward()
            opt.step()
            epoch_loss = float(loss.detach())
        else:
            perm = torch.randperm(len(x_train), generator=gen)
            total = 0.0
            for start in range(0, len(x_train), batch_size):
                xb = x_train[perm[start:start + batch_size]]
                opt.zero_grad()
                loss = row_loss(net, xb).mean()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(xb)
            epoch_loss = total / len(x_train)
        history["train"].append(epoch_loss)
        history["epochs_run"] = epoch + 1
        advance(1)
        if x_val is None:
            continue
        net.train(False)
        with torch.no_grad():
            val = float(row_loss(net, x_val).mean())
        history["validation"].append(val)
        if val < best:
            best, since_best, history["best_epoch"] = val, 0, epoch + 1
            if patience is not None:
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            since_best += 1
            if patience is not None and since_best >= patience:
                history["stopped_early"] = True
                advance(epochs - epoch - 1)
                break
    if best_state is not None:
        net.load_state_dict(best_state)
    net.train(False)
    return history


def state_dict_to_arrays(net) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}


def arrays_to_state_dict(arrays: dict[str, np.ndarray]) -> dict:
    import torch

    return {k: torch.from_numpy(np.array(v)) for k, v in arrays.items()}
