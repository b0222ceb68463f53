"""Speed benchmarks for devenv, run side by side with Docker Compose v2 (see README.md)."""
