"""`vibe batch`: problem sets, run concurrently and resumably, scored and voted."""
