"""devenv: a production-identical development environment from a Compose file."""

__version__ = "0.1.0"
