"""Reports: every section present, offline in headless Chromium, CSV neutralisation, JSON, sign-offs, drill-down."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from core.audit.charts import clip_frames_chart, report_charts
from core.audit.compare import compare_audits
from core.audit.drilldown import clip_detail, condition_clips
from core.audit.export import clips_csv, conditions_csv, export_reports, neutralise
from core.audit.report import SECTIONS
from core.audit.records import SIGNED_IN, TYPED
from core.audit.store import add_signoff, list_audits, load_audit
from core.errors import ValidationError
from tests.test_audit_fixtures import finished_audit, synth_clips, synth_reference  # noqa: F401

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
EVIL = "=HYPERLINK(\"http://evil.example\",\"x\")"


@pytest.fixture(scope="module")
def signed_audit(finished_audit, tmp_path_factory):  # noqa: F811
    """A copy of the session audit with two sign-offs (one hostile comment) and its exported report.

    A copy, so that the shared session audit stays unsigned for the tests of other modules."""
    folder = tmp_path_factory.mktemp("signed") / "synth-audit"
    shutil.copytree(finished_audit.audit_dir, folder)
    first, second = finished_audit.clips[0].clip_id, finished_audit.clips[4].clip_id
    add_signoff(folder, first, "accept", "Dana Reviewer", "looks fine")
    add_signoff(folder, first, "reject", "Dana Reviewer", EVIL)  # the latest decision wins
    add_signoff(folder, second, "accept", "<script>alert(1)</script>", "+1 ok")
    audit = load_audit(folder)
    files = export_reports(audit, comparison=compare_audits(audit, audit))
    return audit, files


def test_report_has_every_section_and_the_facts(signed_audit):
    audit, files = signed_audit
    html = files.html.read_text(encoding="utf-8")
    for section in SECTIONS + ("comparison",):
        assert f'<section id="{section}">' in html, section
    assert f"Verdict: {audit.verdict.upper()}" in html and "synthetic" in html
    for condition in audit.conditions:
        assert condition.group in html and f"{condition.measures['tcs'].value:.4g}" in html
    assert html.count('data:image/png;base64,') >= 9  # 3 worst clips × 3 conditions
    assert html.count('class="chart"') == len(report_charts(audit, compare_audits(audit, audit)))
    assert audit.provenance.plan_sha256 in html and audit.clips[0].sha256 in html
    assert audit.provenance.libraries["numpy"] in html and "r3d-random" in html
    assert "Dana Reviewer" in html and "reject" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # No network reference outside plotly.js itself: no <link>, no external <script src>, no @font-face / @import.
    assert not re.search(r"<link\b|<script[^>]+src=|@font-face|@import", html)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium "
                                                   "(install it with `apt-get install -y chromium`)")
def test_report_opens_offline_in_headless_chromium_without_network_requests(signed_audit):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
    _, files = signed_audit
    requests, errors = [], []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(files.html.resolve().as_uri(), wait_until="load")
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 10",
                                   timeout=60_000)
            rendered = page.evaluate("document.querySelectorAll('.js-plotly-plot').length")
            sections = page.evaluate("Array.from(document.querySelectorAll('section')).map(s => s.id)")
            # Every worst clip plays from the audit folder, though the clips were audited where they lay.
            page.wait_for_function("() => { const v = [...document.querySelectorAll('#worst-clips video')];"
                                   " return v.length && v.every(x => x.readyState >= 1 && x.duration > 0); }",
                                   timeout=30_000)
            players = page.evaluate("document.querySelectorAll('#worst-clips video').length")
        finally:
            browser.close()
    assert requests and all(url.startswith(("file://", "data:")) for url in requests), requests
    assert errors == []
    assert rendered == page_charts(files.html)
    assert set(SECTIONS) <= set(sections)
    assert players == 9  # 3 worst clips × 3 conditions


def page_charts(html_path: Path) -> int:
    return html_path.read_text(encoding="utf-8").count('class="chart"')


@pytest.mark.parametrize("cell, expected", [
    ("=1+1", "'=1+1"), ("+cmd", "'+cmd"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("plain", "plain"), ("a=b", "a=b"), (-0.5, -0.5), (3, 3), (None, None), ("", ""),
])
def test_neutralise(cell, expected):
    assert neutralise(cell) == expected


def test_csvs_neutralise_user_text_and_keep_numbers(signed_audit):
    audit, files = signed_audit
    rows = list(csv.DictReader(io.StringIO(files.clips_csv.read_text(encoding="utf-8"))))
    assert len(rows) == len(audit.clips)
    first = next(r for r in rows if r["clip_id"] == audit.clips[0].clip_id)
    assert first["comment"] == "'" + EVIL and first["signoff"] == "reject"
    assert next(r for r in rows if r["comment"].endswith("ok"))["comment"] == "'+1 ok"
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), value
        float(row["tcs"])  # numbers stay numbers
    conditions = list(csv.DictReader(io.StringIO(conditions_csv(audit))))
    assert [r["condition_group"] for r in conditions] == [c.group for c in audit.conditions]
    assert float(conditions[0]["tcs_low"]) <= float(conditions[0]["tcs_mean"]) <= float(conditions[0]["tcs_high"])
    assert clips_csv(audit) == files.clips_csv.read_text(encoding="utf-8")


def test_json_export_has_everything(signed_audit):
    audit, files = signed_audit
    data = json.loads(files.json.read_text(encoding="utf-8"))
    assert data["plan"] == audit.plan and data["verdict"] == audit.verdict
    assert len(data["clips"]) == 9 and data["clips"][0]["card"]["measures"]["tcs"]["per_frame"]
    assert data["comparison"]["cells"] and data["chart_readings"]["gates"]
    assert [s["comment"] for s in data["signoffs"]][-2:] == [EVIL, "+1 ok"]
    assert data["provenance"]["libraries"]["numpy"]


def test_signoff_validation_and_listing(finished_audit):  # noqa: F811
    with pytest.raises(ValidationError, match="'accept' or 'reject'"):
        add_signoff(finished_audit.audit_dir, finished_audit.clips[0].clip_id, "maybe", "Dana")
    with pytest.raises(ValidationError, match="reviewer"):
        add_signoff(finished_audit.audit_dir, finished_audit.clips[0].clip_id, "accept", "  ")
    with pytest.raises(ValidationError, match="not part of the audit"):
        add_signoff(finished_audit.audit_dir, "nope", "accept", "Dana")
    with pytest.raises(ValidationError, match="identity"):
        add_signoff(finished_audit.audit_dir, finished_audit.clips[0].clip_id, "accept", "Dana", identity="sso")
    listed = list_audits(Path(finished_audit.audit_dir).parent)
    assert [a.name for a in listed] == ["synth-audit"] and listed[0].clips == 9


def test_signoff_records_how_the_reviewer_was_known(finished_audit, tmp_path):  # noqa: F811
    folder = tmp_path / "synth-audit"
    shutil.copytree(finished_audit.audit_dir, folder)
    clip_id = finished_audit.clips[0].clip_id
    add_signoff(folder, clip_id, "accept", "dana", "ok", identity=SIGNED_IN)
    add_signoff(folder, finished_audit.clips[1].clip_id, "reject", "Typed Name")
    audit = load_audit(folder)
    assert [s.identity for s in audit.signoffs] == [SIGNED_IN, TYPED]
    html = export_reports(audit).html.read_text(encoding="utf-8")
    section = html.split('<section id="signoffs">')[1].split("</section>")[0]
    assert "<td>dana</td><td>signed in</td>" in section and "<td>Typed Name</td><td>typed name</td>" in section


def test_drilldown_and_every_chart_has_a_reading(signed_audit):
    audit, _ = signed_audit
    rows = condition_clips(audit, "dust_storm")
    assert [r.clip_id for r in rows] == audit.condition("dust_storm").clips_worst_first
    detail = clip_detail(audit, rows[0].clip_id)
    keys = [s.key for s in detail.series]
    assert {"motion", "frame_diff", "adjacent_ssim", "sharpness"} <= set(keys)
    frame_diff = next(s for s in detail.series if s.key == "frame_diff")
    assert frame_diff.x[0] == 0.5 and len(frame_diff.values) == 15
    assert detail.to_dict()["record"]["clip_id"] == rows[0].clip_id
    chart = clip_frames_chart(audit, rows[0].clip_id)
    assert chart.figure.to_dict()["data"] and chart.reading
    for chart in report_charts(audit):
        assert chart.reading and chart.reading.endswith(".") and "\n" not in chart.reading
        assert chart.figure.to_dict()["data"]
    with pytest.raises(ValidationError, match="not part of audit"):
        clip_detail(audit, "missing")


def test_drilldown_shades_flagged_ranges(finished_audit, tmp_path):  # noqa: F811
    from core.audit.records import AuditResult

    audit = AuditResult.from_dict(finished_audit.to_dict())
    clip = audit.clips[0]
    clip.flags = {"temporal_flicker": [[3, 4]]}
    clip.card["flags"] = [{"name": "temporal_flicker", "rule": "max consecutive-frame mean absolute difference > threshold"}]
    detail = clip_detail(audit, clip.clip_id)
    assert [(r.detector, r.start, r.end) for r in detail.ranges] == [("temporal_flicker", 3, 4)]
    chart = clip_frames_chart(audit, clip.clip_id)
    shapes = chart.figure.to_dict()["layout"]["shapes"]
    assert any(s.get("x0") == 2.5 and s.get("x1") == 4.5 for s in shapes)
    assert "temporal_flicker frames 3–4" in chart.reading
