"""The DLMS fleet benchmark runs end to end on a tiny fleet: meters in their own processes,
plain and ciphered sessions over TCP, the replay baseline and the report. No timings are
asserted; the benchmark prints those."""

from __future__ import annotations

import pytest

from benchmarks.dlms_fleet import main


def test_the_fleet_benchmark_reads_three_meters_plain_and_ciphered(
    capsys: pytest.CaptureFixture[str],
) -> None:
    results = main(["--meters", "3", "--concurrency", "3", "--rounds", "2", "--mode", "both"])

    assert [result.mode for result in results] == ["plain", "ciphered"]
    for result in results:
        assert result.dlms.sessions == 6
        assert result.dlms.failures == ()
        assert result.baseline.sessions == 6
        assert result.baseline.failures == ()
        assert result.exchanges > 0 and result.dlms.cpu > 0
    report = capsys.readouterr().out
    assert "sessions/s per client core" in report
    assert "362,000 meters x 4 channels" in report


def test_the_collections_session_with_registers_and_events_runs_too(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["--meters", "2", "--concurrency", "2", "--rounds", "1", "--mode", "ciphered"]
    [plain_read] = main(args)
    [with_context] = main([*args, "--with-context"])

    assert with_context.dlms.failures == () and with_context.dlms.sessions == 2
    assert with_context.exchanges > plain_read.exchanges  # the two more profile reads
