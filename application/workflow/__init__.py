"""The steps of a cycle's workflow chain after the read: validate, estimate, export.

Each step looks at one meter's channels (or one channel) over the period the cycle read
(``period.py``), does what it can by itself and says whether the chain may go on:
``review.py`` judges and estimates a channel's period with the same rules and the same
estimation plan as the VEE workflow of every delivery; ``exports.py`` makes final days
ready for billing (the ``Exports`` application); ``steps.py`` holds the use cases the
task handlers call. What waits for a person stops the chain; nothing here decides for one.
"""
