"""Seeded simulator of a Danish company's internal posts, employer reviews, roster and ground truth."""

from pipeline.simulate.company import DEFAULT_START, simulate_company

__all__ = ["DEFAULT_START", "simulate_company"]
