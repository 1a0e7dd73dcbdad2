"""One invocation's wiring: config -> settings, which changes, the endpoint and backend, the
pipeline, the outputs, the exit code. Kept apart from ``reviewer.cli`` so ``--help`` stays light."""
