"""Anomaly detectors: MLP autoencoder, VAE, scikit-learn/PyOD baselines, ensembles, thresholds.

Every estimator-backed detector shares one base (``base.EstimatorDetector``) that
selects features, handles NaN/inf, splits train and score rows, applies a
threshold and saves the fitted model so that ``toolkit score`` can reuse it.
"""
