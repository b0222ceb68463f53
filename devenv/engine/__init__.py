"""The one place that talks to the Docker engine: connect, observe, and apply a plan."""
