"""Overrides that make the gaia_kinematic recipe a small, quick mock run for the review tests."""

#: a small mock with more halo stars than the real 0.15 % so the learners have something to find
SMALL_RUN = ["source.fallback.with.n_stars=6000",
             "source.fallback.with.fractions={thin_disc: 0.88, thick_disc: 0.09, halo: 0.03}",
             "detectors.0.with.epochs=4", "detectors.0.with.max_train_rows=3000",
             "detectors.0.with.threshold.value=0.02", "validators.0.with.reference_fraction=0.02",
             "output.figures=false", "output.formats=[]"]
