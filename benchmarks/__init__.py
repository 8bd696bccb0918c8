"""Measured performance: each benchmark prints numbers beside a baseline run alongside.

Run one with ``.venv/bin/python -m benchmarks.<name>``; results and the exact commands
are kept in docs/PERFORMANCE.md. Benchmarks print numbers; they assert nothing about
behaviour (that is what tests/ is for), apart from refusing to time wrong answers.
"""
