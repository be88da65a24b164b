"""An example third-party plugin for toolkit (see docs/plugins/guide.md)."""
