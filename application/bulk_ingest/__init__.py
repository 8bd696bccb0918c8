"""Bulk ingest: the VEE workflow for many deliveries at once, many channel days per save.

The stored result is the one ``VeeWorkflow.process`` gives for the same deliveries one by
one, in the given order (tests/integration/test_bulk_ingest.py holds the two together);
only the cost differs:

- channel settings and rule-set versions are read once per channel and kept while the
  registry records nothing new; built rules are kept per rule-set version (building a
  set costs more than running it);
- everything a batch needs is read before anything is stored, in a few queries: which
  delivered days exist (those are loaded), the history of every channel from a
  ``HistorySource`` (the interval read model, ``adapters/interval_history.py``), and
  billing's periods. The channel days the batch holds in memory are laid over the
  history, so a later delivery sees an earlier one of the same batch as the one-by-one
  workflow would;
- the rules look at many deliveries at once: each screens the whole batch in a few
  numpy calls (``domain/vee/rules/batch.py``) and runs its ``check`` only where it
  could fire; a delivery nothing fires on and nothing is missing from is validated
  whole without the estimation steps. Where the history source gives each day's usage
  (the read model does), such deliveries are judged from it alone and only the others
  have their full history read (their estimates lean on like days);
- the ``ChannelDay`` aggregates of a chunk of channels go in ONE ``save``: the event
  store takes a table lock per insert, so fewer, bigger inserts are what scales.

A chunk holds whole channels, so every delivery is still stored whole or not at all, and
a chunk's writes concern no other chunk's history. If a chunk's save meets a concurrent
writer (a version conflict), it is rolled back and its deliveries go through
``VeeWorkflow.process`` one by one, which re-reads everything. A batch is checked whole
(known channels, aligned starts) before anything is stored.

Modules: ``ingest`` (``BulkIngest``), ``lookups`` (channels and rule sets, kept while the
registry does not change them), ``reads`` (what a batch reads), ``plans`` (deliveries
resolved, chunks, waves), ``judging`` (a wave's findings; ``application/vee_judgement``
does the rest for both paths),
``series_parts`` (history windows and overlays), ``sources`` (the history and period
sources it reads from).
"""

from application.bulk_ingest.ingest import BulkIngest, IngestTimings
from application.bulk_ingest.sources import (
    DailyUsageSource,
    ExternalPeriodsInBulk,
    HistorySource,
    ReadingsHistory,
)

__all__ = [
    "BulkIngest",
    "DailyUsageSource",
    "ExternalPeriodsInBulk",
    "HistorySource",
    "IngestTimings",
    "ReadingsHistory",
]
