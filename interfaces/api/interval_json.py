"""The ``intervals`` array of ``GET /api/v1/channels/{channel}/intervals`` as JSON text.

Built from whole days (``projections.interval_days.DayBlock``: the read model's rows, or
``ChannelDay`` aggregates as of a past time) without a dict per interval: the pieces of
every object are laid side by side in one list (slice assignments, numpy fancy indexing)
and joined once. The numbers come as text: the read model stores them rendered (a float's
shortest exact form costs up to a microsecond to format, the same again to encode as a
dict value); days read as of a past time are rendered here. The text is what
``json.dumps`` gives for the same rows (tests/unit/test_interval_json.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np

from domain.reading_quality import ReadingQuality
from projections.interval_days import DayBlock

# Each interval object is 8 pieces: the day's head, time of day (+ the value's key), value,
# the raw value's key, raw value, meter status (+ the quality's key), quality (+ the billed
# key), billed (+ the day's version). Pieces that depend on one field are tabled once.
_FIELDS = 8
_STATUS_PIECE = np.array(
    [f',"meter_status":{status},"quality":"' for status in range(256)], dtype=object
)
_QUALITY_PIECE = np.array(
    [
        f'{ReadingQuality(code).name.lower() if code in set(ReadingQuality) else "?"}","billed":'
        for code in range(256)
    ],
    dtype=object,
)


@lru_cache(maxsize=16)
def _time_pieces(interval_seconds: int) -> np.ndarray:
    """'HH:MM:SS+00:00","value":' of every slot of a day."""
    return np.array(
        [
            f'{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}+00:00","value":'
            for second in range(0, 86_400, interval_seconds)
        ],
        dtype=object,
    )


def intervals_json(blocks: Iterable[DayBlock], start: datetime, end: datetime) -> tuple[int, str]:
    """How many intervals have a value or a judgement in [start, end), and their array."""
    first, stop = int(start.timestamp()), int(end.timestamp())
    pieces: list[str] = []
    count = 0
    for block in blocks:
        step = block.interval_seconds
        low = max(0, -(-(first - block.first_second) // step))
        high = min(len(block.qualities), -(-(stop - block.first_second) // step))
        if low >= high:
            continue
        known = block.qualities[low:high] != ReadingQuality.MISSING
        slots = np.flatnonzero(known) + low
        if len(slots):
            pieces.extend(_pieces(block, slots))
            count += len(slots)
    return count, "[" + "".join(pieces)[1:] + "]"


def _pieces(block: DayBlock, slots: np.ndarray) -> list[str]:
    n = len(slots)
    day = datetime.fromtimestamp(block.first_second, UTC).date().isoformat()
    values, raw = block.number_texts()
    billed = np.array(
        [f'false,"version":{block.version}}}', f'true,"version":{block.version}}}'], dtype=object
    )
    pieces: list[str] = [""] * (n * _FIELDS)
    pieces[0::_FIELDS] = [f',{{"start":"{day}T'] * n
    pieces[1::_FIELDS] = _time_pieces(block.interval_seconds)[slots].tolist()
    pieces[2::_FIELDS] = values[slots].tolist()
    pieces[3::_FIELDS] = [',"raw_value":'] * n
    pieces[4::_FIELDS] = raw[slots].tolist()
    pieces[5::_FIELDS] = _STATUS_PIECE[block.statuses[slots]].tolist()
    pieces[6::_FIELDS] = _QUALITY_PIECE[block.qualities[slots]].tolist()
    pieces[7::_FIELDS] = billed[block.billed[slots].view(np.uint8)].tolist()
    return pieces
