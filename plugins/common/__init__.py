"""Survey-agnostic components: local table files, expression cuts and expression features."""
