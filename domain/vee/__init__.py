"""Validation, estimation and editing (VEE) of interval data: pure rules on numpy arrays.

``series.py`` holds the shapes every rule and method works on; ``rules/`` one module a
validation rule, ``estimation/`` one module an estimation method. Nothing here touches
storage: the Readings application feeds them and records their results as events.
"""
