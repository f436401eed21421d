"""Fake `exllamav2.conversion`."""
