"""JSON transcodings for values our events carry beyond the library's defaults."""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

import numpy as np
from eventsourcing.persistence import JSONTranscoder, Transcoding


class NDArrayAsBase64(Transcoding):
    """Interval blocks: raw little-endian bytes, base64, with dtype and shape.

    Exact for floats (no decimal rendering) and about four times smaller than a JSON
    list of numbers.
    """

    type = np.ndarray
    name = "ndarray"

    def encode(self, obj: np.ndarray) -> dict[str, Any]:
        array = np.ascontiguousarray(obj)
        little = array.astype(array.dtype.newbyteorder("<"), copy=False)
        return {
            "dtype": little.dtype.str,
            "shape": list(array.shape),
            "data": base64.b64encode(little.tobytes()).decode("ascii"),
        }

    def decode(self, data: dict[str, Any]) -> np.ndarray:
        raw = base64.b64decode(data["data"])
        return np.frombuffer(raw, dtype=np.dtype(data["dtype"])).reshape(data["shape"])


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def register_hes_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(NDArrayAsBase64())
    transcoder.register(DateAsISO())
