"""JSON API under /api/v1 for billing systems, auditors and acceptance checks.

Bearer tokens (``hes token create --user NAME``); errors are JSON ``{"error": ...}``.
"""
