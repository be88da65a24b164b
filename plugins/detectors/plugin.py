"""Hook implementations of the detectors plugin (heavy imports stay inside the components)."""

import typer

from toolkit.core import Register, hookimpl


@hookimpl
def toolkit_register_detectors(register: Register) -> None:
    from .autoencoder import AutoencoderDetector
    from .baselines import IsolationForestDetector, LOFDetector, PCADetector, PyODDetector
    from .ensemble import EnsembleDetector
    from .vae import VAEDetector

    for cls in (AutoencoderDetector, VAEDetector, IsolationForestDetector, LOFDetector, PCADetector, PyODDetector,
                EnsembleDetector):
        register(cls)


@hookimpl
def toolkit_register_commands(cli: typer.Typer) -> None:
    from .command import add_score_command

    add_score_command(cli)
