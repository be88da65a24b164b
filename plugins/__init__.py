"""Built-in plugins, one sub-package per domain. Each has a ``plugin`` module with
the hook implementations; they load through the same manager as third-party plugins."""
