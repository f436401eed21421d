"""vibecli: make small reasoning models useful on your own machine."""

__version__ = "0.1.0"
