"""The ``hes`` command line (typer)."""
