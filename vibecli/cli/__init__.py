"""Command-line front end: commands parse arguments, call the core, hand results to the UI."""
