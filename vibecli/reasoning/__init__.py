"""Reading a reasoning model's output: thinking versus answer, and the final answer in it."""
