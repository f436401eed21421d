"""`vibe serve`: the local model over the OpenAI-compatible HTTP API."""
