"""An example third-party plugin for toolkit (see the README's "Writing a plugin")."""
