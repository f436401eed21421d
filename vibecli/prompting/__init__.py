"""How problems are posed: YAML templates per mode, and routing a problem to a mode."""
