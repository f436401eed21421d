"""Model engines: one module per backend behind the `Backend` protocol in `engine.backend`."""
