"""The studio's file route through a real HTTP client: what a file dropped into clips/ or audits/ becomes.

A studio is launched on 127.0.0.1 (no model needed). HTML and SVG files are dropped into the clips
folder and into an audit folder, next to a real MP4, a PNG, a manifest and a report, and fetched the
way a browser would: `/gradio_api/file=<path>`.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import numpy as np
import PIL.Image
import pytest

from app.serving import SANDBOX_POLICY, ServingPolicy
from core.video_io import write_mp4
from tests.web_helpers import restore_gradio_temp_dir

pytestmark = pytest.mark.timeout(180)

EVIL_HTML = "<html><body><script>fetch('/gradio_api/upload')</script></body></html>"
EVIL_SVG = "<svg xmlns='http://www.w3.org/2000/svg'><script>alert(document.cookie)</script></svg>"
INLINE_UNSAFE = ("text/html", "image/svg+xml", "application/xhtml+xml", "text/xml", "application/xml")


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    from app.web import build_studio, launch_studio, make_config

    previous = os.environ.get("GRADIO_TEMP_DIR")
    demo, ctx = build_studio(make_config(tmp_path_factory.mktemp("serving") / "data", port=None))
    url = launch_studio(demo, ctx, prevent_thread_lock=True, quiet=True)
    yield url, ctx.config
    demo.close()
    restore_gradio_temp_dir(previous)


@pytest.fixture(scope="module")
def dropped(studio):
    """Files in both served folders: hostile ones beside what the studio itself writes."""
    _, config = studio
    audit = config.data_dir / "audits" / "X"
    audit.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for folder, tag in ((config.output_dir, "clips"), (audit, "audit")):
        for name, text in (("evil.html", EVIL_HTML), ("evil.svg", EVIL_SVG), ("evil.js", "alert(1)"),
                           ("evil.xhtml", EVIL_HTML), (".evil.mp4.tmp.mp4", "partial")):
            files[f"{tag}/{name}"] = folder / name
            (folder / name).write_text(text, encoding="utf-8")
    frames = np.zeros((4, 32, 32, 3), dtype=np.uint8)
    frames[:, 8:24, 8:24] = 200
    files["clips/clip.mp4"] = write_mp4(frames, config.output_dir / "clip.mp4", fps=8)
    files["clips/clip.json"] = config.output_dir / "clip.json"
    files["clips/clip.json"].write_text('{"synthetic": true}', encoding="utf-8")
    files["audit/frame.png"] = audit / "frame.png"
    PIL.Image.fromarray(frames[0]).save(files["audit/frame.png"])
    files["audit/report.html"] = audit / "report.html"
    files["audit/report.html"].write_text(EVIL_HTML, encoding="utf-8")
    files["audit/clips.csv"] = audit / "clips.csv"
    files["audit/clips.csv"].write_text("clip_id,score\na,1\n", encoding="utf-8")
    return files


def fetch(url: str, path: Path, **kwargs) -> httpx.Response:
    return httpx.get(f"{url}gradio_api/file={path}", timeout=30, **kwargs)


def assert_not_inline_markup(response: httpx.Response) -> None:
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    disposition = response.headers.get("content-disposition", "")
    if response.status_code >= 400:
        return  # refused
    assert disposition.startswith("attachment"), (response.url, disposition)
    assert content_type not in INLINE_UNSAFE, (response.url, content_type)
    assert response.headers.get("content-security-policy") == SANDBOX_POLICY


@pytest.mark.parametrize("key", ["clips/evil.html", "clips/evil.svg", "clips/evil.js", "clips/evil.xhtml",
                                 "audit/evil.html", "audit/evil.svg", "audit/evil.js", "audit/evil.xhtml",
                                 "audit/report.html"])
def test_markup_dropped_in_served_folders_never_renders_inline(studio, dropped, key):
    url, _ = studio
    # Scripts, SVG and XHTML are refused outright; HTML in an audit folder is offered as a download.
    expected = 200 if key.startswith("audit/") and key.endswith(".html") else 403
    for route in ("gradio_api/file=", "gradio_api/file/"):
        response = httpx.get(f"{url}{route}{dropped[key]}", timeout=30)
        assert response.status_code == expected, (route, response.status_code)
        assert response.headers.get("x-content-type-options") == "nosniff"
        assert_not_inline_markup(response)


def test_report_is_a_download_under_a_sandbox(studio, dropped):
    url, _ = studio
    response = fetch(url, dropped["audit/report.html"])
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="report.html"'
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content.decode() == EVIL_HTML  # the user still gets the whole report


def test_hidden_partial_files_are_refused(studio, dropped):
    url, _ = studio
    for key in ("clips/.evil.mp4.tmp.mp4", "audit/.evil.mp4.tmp.mp4"):
        assert fetch(url, dropped[key]).status_code == 403


def test_media_still_plays_and_manifests_download(studio, dropped):
    url, _ = studio
    video = fetch(url, dropped["clips/clip.mp4"])
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    assert not video.headers.get("content-disposition", "inline").startswith("attachment")
    assert video.content == dropped["clips/clip.mp4"].read_bytes()
    # Browsers seek with range requests; the type holds there too.
    ranged = fetch(url, dropped["clips/clip.mp4"], headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and ranged.headers["content-type"] == "video/mp4"
    assert ranged.headers.get("x-content-type-options") == "nosniff"
    image = fetch(url, dropped["audit/frame.png"])
    assert (image.status_code, image.headers["content-type"]) == (200, "image/png")
    for key, content_type in (("clips/clip.json", "application/json"), ("audit/clips.csv", "text/csv")):
        response = fetch(url, dropped[key])
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(content_type)
        assert response.headers["content-disposition"].startswith("attachment")


def test_every_response_carries_nosniff(studio, dropped):
    url, config = studio
    responses = [httpx.get(f"{url}{page}", timeout=30) for page in ("", "audit", "present", "config",
                                                                     "gradio_api/info", "no-such-page")]
    responses += [fetch(url, dropped["clips/clip.mp4"]), fetch(url, Path("/etc/hostname")),
                  fetch(url, config.output_dir / "missing.mp4"), fetch(url, dropped["clips/evil.svg"])]
    responses.append(httpx.post(f"{url}gradio_api/upload", files={"files": ("a.txt", b"x")}, timeout=30))
    responses.append(httpx.get(f"{url}gradio_api/file={config.output_dir}/nul%00.mp4", timeout=30))
    assert {r.status_code for r in responses} >= {200, 403}
    for response in responses:
        assert response.headers.get("x-content-type-options") == "nosniff", (response.url, response.status_code)


def test_policy_follows_links_to_what_they_point_at(tmp_path):
    clips, audits = tmp_path / "clips", tmp_path / "audits"
    clips.mkdir()
    audits.mkdir()
    (audits / "report.html").write_text(EVIL_HTML)
    (clips / "innocent.mp4").symlink_to(audits / "report.html")
    (clips / "page.mp4").symlink_to(clips / "evil.svg")
    policy = ServingPolicy(clips_dir=clips, audits_dir=audits)
    assert policy.decide(str(clips / "innocent.mp4")).verdict == "download"
    assert policy.decide(str(clips / "page.mp4")).verdict == "refuse"
    assert policy.decide(str(clips / "sub" / ".." / "evil.SVG")).verdict == "refuse"
    assert policy.decide(str(clips / "a.MP4")).verdict == "inline"
    assert policy.decide(str(tmp_path / "elsewhere.html")).verdict is None  # Gradio's own rules
    (clips / "loop.mp4").symlink_to(clips / "loop.mp4")
    assert policy.decide(str(clips / "loop.mp4")).verdict == "refuse"  # a link loop: refused, not an error
    assert policy.decide(str(clips / "nul\x00.mp4")).verdict == "refuse"
