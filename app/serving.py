"""What the studio's file route may serve, and how: a guard in front of Gradio's `/gradio_api/file=...`.

Gradio serves every file under `allowed_paths` inline with the type its name suggests, so an HTML or
SVG file dropped into `clips/` or an audit folder would run script on the studio's own origin, with
the signed-in user's privileges. The guard narrows that:

- `clips/` serves media inline (MP4, PNG, JPEG, WebP) and manifests and tables as downloads;
- audit folders serve the same, plus reports (self-contained HTML, with script) and plans as downloads;
- anything else there, and hidden files (unfinished writes), is refused;
- every response carries `X-Content-Type-Options: nosniff`, so no browser guesses a type.

Files outside those folders (Gradio's upload cache, its own assets) keep Gradio's rules, which already
serve unsafe types as downloads. The decision uses the path alone (resolved as Gradio resolves it),
never whether the file exists, so a refusal tells nothing about the disk.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Literal

from starlette.datastructures import MutableHeaders

# Gradio 6's file routes: `/gradio_api/file=<path>` and the older `/gradio_api/file/<path>`.
FILE_ROUTE = re.compile(r"^(?:/gradio_api)?/file[=/](?P<target>.+)$")

# A download is never rendered by the browser; the policy also stops anything it holds from running,
# should a client ignore the disposition.
SANDBOX_POLICY = "sandbox; default-src 'none'; media-src 'self'; img-src 'self' data:; style-src 'unsafe-inline'"

# Suffix -> (content type sent, shown inline?). Types are fixed here rather than guessed from the name.
MEDIA_TYPES: dict[str, tuple[str, bool]] = {
    ".mp4": ("video/mp4", True), ".png": ("image/png", True), ".jpg": ("image/jpeg", True),
    ".jpeg": ("image/jpeg", True), ".webp": ("image/webp", True),
    ".json": ("application/json", False), ".csv": ("text/csv", False),
}
# Reports hold script (the charts), so they are opened from disk, never on the studio's origin.
REPORT_TYPES: dict[str, tuple[str, bool]] = {
    **MEDIA_TYPES, ".html": ("application/octet-stream", False), ".yaml": ("application/octet-stream", False),
    ".yml": ("application/octet-stream", False),
}

Verdict = Literal["inline", "download", "refuse"]


@dataclass(frozen=True)
class Decision:
    """How one request for a file is answered; `content_type` is None when Gradio's choice stands."""

    verdict: Verdict | None  # None: the file is not in a guarded folder, Gradio's own rules apply
    content_type: str | None = None
    filename: str = ""


@dataclass(frozen=True)
class ServingPolicy:
    """The guarded folders: clips (media) and audits (media plus report downloads)."""

    clips_dir: Path
    audits_dir: Path

    def decide(self, target: str) -> Decision:
        """The decision for the file route's path argument (absolute, or relative to the working folder)."""
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", target):
            return Decision(None)  # a URL: Gradio's own proxy rules apply
        # Gradio joins relative paths to the working folder and checks the resolved path; so does this.
        try:
            path = Path(os.path.abspath(target)).resolve()
        except (OSError, ValueError, RuntimeError):  # a NUL byte, a link loop: no file to serve
            return Decision("refuse")
        for root, types in ((self.clips_dir, MEDIA_TYPES), (self.audits_dir, REPORT_TYPES)):
            root = Path(os.path.abspath(root)).resolve()
            if not path.is_relative_to(root):
                continue
            inside = path.relative_to(root).parts
            if any(part.startswith(".") for part in inside):
                return Decision("refuse")  # hidden files are unfinished writes or not the studio's
            kind = types.get(path.suffix.lower())
            if kind is None:
                return Decision("refuse")
            content_type, inline = kind
            return Decision("inline" if inline else "download", content_type, path.name)
        return Decision(None)


Scope = dict[str, Any]
Message = dict[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


class FileServingGuard:
    """Pure ASGI middleware (streams and server-sent events pass through untouched)."""

    def __init__(self, app: ASGIApp, policy: ServingPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        decision = self._decision(scope)
        if decision.verdict == "refuse":
            await _refuse(send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if decision.verdict is not None and message.get("status", 200) < 400:
                    _apply(headers, decision)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _decision(self, scope: Scope) -> Decision:
        path: str = scope.get("path", "")
        root_path: str = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path):]
        match = FILE_ROUTE.match(path)
        return self.policy.decide(match["target"]) if match else Decision(None)


def _apply(headers: MutableHeaders, decision: Decision) -> None:
    """Fix the type and disposition of a file the guard allowed."""
    headers["Content-Type"] = decision.content_type or "application/octet-stream"
    if decision.verdict == "download":
        safe_name = re.sub(r'[^A-Za-z0-9._-]', "_", decision.filename) or "download"
        headers["Content-Disposition"] = f'attachment; filename="{safe_name}"'
        headers["Content-Security-Policy"] = SANDBOX_POLICY


async def _refuse(send: Callable[[Message], Awaitable[None]]) -> None:
    body = b"File not served: the studio serves only clips' media, manifests, tables and audit reports."
    await send({"type": "http.response.start", "status": 403, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff")]})
    await send({"type": "http.response.body", "body": body})
