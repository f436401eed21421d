"""`vibe mcp`: the model and vibe's checkers as Model Context Protocol tools for agents.

`engine` loads the model once and runs every generation through one shared scheduler;
`solving` turns a `solve` call into a request and a progress stream; `checks` runs the
verifiers off the event loop; `server` declares the tools, prompts and resources on the
official MCP SDK; `transport` serves them over streamable HTTP, and `stdio` over stdin/stdout
with the stops an interactive tool needs (Ctrl-C, SIGTERM, a closed stdin).
"""
