"""Indicator logic that SQL expresses badly: complementary suppression, alert tests, validation metrics.

The marts themselves are still built by ``pipeline.marts.build_marts``; these functions are the
Python steps it runs between the SQL models.
"""
