"""A local stand-in for the Hugging Face Hub's HTTP API, serving model directories.

It answers the routes the real `huggingface_hub` client uses for `snapshot_download`:
`/api/models/{repo}/revision/{rev}` (repo info with its file list), `/api/models/{repo}/tree/{rev}`,
and `/{repo}/resolve/{rev}/{file}` (HEAD for metadata, GET with Range for resumable bodies).
Unknown repositories get the Hub's 404 with `X-Error-Code: RepoNotFound`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    """`with FakeHub({"WeiboAI/Tiny": path}) as hub:` then set HF_ENDPOINT=hub.url."""

    def __init__(self, repos: dict[str, Path]) -> None:
        self.repos = repos
        self.requests: list[str] = []
        self.fail_once: set[str] = set()  # files whose first GET breaks off halfway
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                hub._serve(self, body=False)

            def do_GET(self) -> None:
                hub._serve(self, body=True)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeHub:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _files(self, repo: str) -> list[Path]:
        root = self.repos[repo]
        return sorted(p for p in root.rglob("*") if p.is_file())

    def _serve(self, handler: Any, *, body: bool) -> None:
        path = unquote(urlparse(handler.path).path)
        self.requests.append(f"{handler.command} {path}")
        # Dataset repositories: the same routes under /api/datasets/… and /datasets/….
        path = path.replace("/api/datasets/", "/api/models/", 1) if path.startswith("/api/datasets/") else path
        path = path[len("/datasets") :] if path.startswith("/datasets/") else path
        parts = path.strip("/").split("/")
        asked = parts[5] if parts[:2] == ["api", "models"] and len(parts) >= 6 else parts[3] if len(parts) > 3 else ""
        commit = asked if len(asked) == 40 and all(c in "0123456789abcdef" for c in asked) else COMMIT
        if parts[:2] == ["api", "models"] and (
            len(parts) == 4 or (len(parts) >= 6 and parts[4] in ("revision", "tree"))
        ):
            repo = "/".join(parts[2:4])
            if repo not in self.repos:
                return self._not_found(handler)
            root = self.repos[repo]
            if len(parts) == 4 or parts[4] == "revision":
                info = {"id": repo, "modelId": repo, "sha": commit, "private": False, "disabled": False,
                        "siblings": [{"rfilename": str(p.relative_to(root))} for p in self._files(repo)]}  # fmt: skip
                return self._json(handler, 200, info, body)
            tree = [{"type": "file", "path": str(p.relative_to(root)), "size": p.stat().st_size,
                     "oid": hashlib.sha1(p.read_bytes()).hexdigest()} for p in self._files(repo)]  # fmt: skip
            return self._json(handler, 200, tree, body)
        if len(parts) >= 5 and parts[2] == "resolve":
            repo, filename = "/".join(parts[:2]), "/".join(parts[4:])
            if repo not in self.repos:
                return self._not_found(handler)
            file = self.repos[repo] / filename
            if not file.is_file():
                return self._json(handler, 404, {"error": "Entry not found"}, body, {"X-Error-Code": "EntryNotFound"})
            return self._file(handler, file, body, commit)
        return self._json(handler, 404, {"error": f"no route {path}"}, body)

    def _not_found(self, handler: Any) -> None:
        message = {"error": "Repository not found"}
        self._json(
            handler, 401, message, True, {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"}
        )

    def _json(self, handler: Any, status: int, payload: Any, body: bool, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        if body:
            handler.wfile.write(data)

    def _file(self, handler: Any, file: Path, body: bool, commit: str = COMMIT) -> None:
        data = file.read_bytes()
        etag = hashlib.sha256(data).hexdigest() if file.suffix == ".safetensors" else hashlib.sha1(data).hexdigest()
        start = 0
        ranged = handler.headers.get("Range", "")
        if ranged.startswith("bytes="):
            start = int(ranged[6:].split("-")[0] or 0)
        handler.send_response(206 if start else 200)
        handler.send_header("Content-Type", "application/octet-stream")
        handler.send_header("Content-Length", str(len(data) - start))
        if start:
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        handler.send_header("ETag", f'"{etag}"')
        handler.send_header("X-Repo-Commit", commit)
        handler.send_header("Accept-Ranges", "bytes")
        handler.end_headers()
        if not body:
            return
        name = file.name
        if name in self.fail_once and not start:
            self.fail_once.discard(name)
            handler.wfile.write(data[: len(data) // 2])
            handler.wfile.flush()
            handler.close_connection = True
            import socket

            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        handler.wfile.write(data[start:])
