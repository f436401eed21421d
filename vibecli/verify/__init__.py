"""Checking answers: math equivalence, equations and ODEs by substitution, code in a sandbox."""
