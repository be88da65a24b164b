"""Cepheids and the Leavitt law: periods, Wesenheit magnitudes, an MCMC period-luminosity fit and the LMC distance."""
