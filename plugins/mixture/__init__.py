"""Chronostar-style Gaussian mixtures: cartesian preparation, XD mixtures, space-time ages, synthetic groups."""
