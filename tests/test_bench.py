"""`vcam bench` runs end to end (tiny sizes, few frames) and reports what it promises.

The benchmark is a command, not a timed test: nothing here asserts a speed.
"""

from __future__ import annotations

import json

import pytest

from vcam.bench.command import STAGES, format_report
from vcam.cli import main


def run_bench(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["bench", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_bench_json_has_the_promised_fields(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_bench(capsys, "--json", "--sizes", "320x240", "--effects", "blur",
                               "--frames", "3", "--live", "--live-cases", "320x240@30",
                               "--seconds", "2")
    assert code == 0, err
    report = json.loads(out)
    assert report["machine"]["cpus"] >= 1
    results = report["results"]
    assert {(r["size"], r["effect"], r["pipeline"]) for r in results} == {
        ("320x240", "blur", "vcam"), ("320x240", "blur", "reference")}
    for r in results:
        assert r["frames"] == 3
        assert r["ms_median"] > 0 and r["ms_p95"] >= r["ms_median"]
        assert r["fps"] > 0 and r["cpu_s_per_frame"] > 0 and r["peak_rss_mb"] > 0
        assert set(r["stages"]) == set(STAGES) == set(r["stages_p95"])
        assert all(v >= 0 for v in r["stages"].values())
        assert r["page_faults_per_frame"] >= 0
    (ours,) = [r for r in results if r["pipeline"] == "vcam"]
    stream = ours["overlapped"]  # the next frame segmented on a second thread
    assert stream["frames"] == 3
    assert 0 < stream["ms_median"] <= stream["ms_p95"] and stream["fps"] > 0
    assert stream["cpu_s_per_frame"] > 0 and stream["page_faults_per_frame"] >= 0
    assert 0 <= stream["prepared_on_worker"] <= 1
    (ratio,) = report["ratios"]
    assert ratio["size"] == "320x240" and ratio["effect"] == "blur"
    assert ratio["reference_over_vcam"] > 0 and ratio["reference_over_vcam_cpu"] > 0
    assert ratio["reference_over_vcam_serial"] > 0
    assert report["machine"]["runtime"] in ("litert", "mediapipe")
    (live,) = report["live"]["cases"]
    assert live["size"] == "320x240" and live["source_fps"] == 30
    assert live["frames_out"] > 0 and live["output_fps"] > 0
    assert live["dropped"] >= 0 and live["repeated"] >= 0
    lat = live["latency_ms"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["max"]
    assert live["cpu_percent_of_one_core"] > 0
    assert live["rss_mb"]["start"] > 0 and live["rss_mb"]["end"] > 0
    # The human-readable table is made from the same report.
    table = format_report(report)
    assert "Reference / vcam" in table and "| 320x240@30 |" in table
    assert "next frame segmented on a second thread" in table


def test_bench_rejects_a_bad_size(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_bench(capsys, "--sizes", "big", "--effects", "blur")
    assert code == 2
    assert "expected a size like 1280x720, got 'big'" in err
