"""Scores content for AI origin (combined report; the detection issue builds it out)."""
