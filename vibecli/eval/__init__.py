"""`vibe eval`: the model card's benchmarks, reproduced on your own machine.

registry (what each benchmark is), hub and datasets (getting and reading the data), runner
(batched, resumable generation), grading (vibe's verifier, the card's grader, code tests),
metrics (pass@1 with its standard error, pass@k, cons@k, lengths), store (the run folder).
"""
