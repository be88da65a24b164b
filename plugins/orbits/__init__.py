"""Orbit validators: integrate flagged stars and a reference sample in a named gala potential.

A detector says a star is unusual; an orbit says whether that is physics (a halo-like orbit
that climbs kiloparsecs out of the disc) or noise. Modules: ``potentials`` (named, versioned
gala potentials), ``integration`` (chunked integration, failures isolated per star),
``summaries`` (vectorised zmax, pericentre, apocentre, eccentricity, radial period),
``selection`` (flagged rows plus a hash-chosen reference sample), ``halo`` (Toomre velocity and
the halo-likeness flag), ``comparison`` (flagged vs reference statistics), ``figures`` and
``validator`` (the ``orbits.gala`` component).
"""
