"""`vibe repl`: an interactive session on one loaded model."""
