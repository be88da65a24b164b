"""toolkit-rave: a toolkit plugin for the RAVE survey (one component of each kind)."""

__version__ = "0.1.0"
