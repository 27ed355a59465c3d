"""A loopback fake of the few Hugging Face Hub routes that push and from_pretrained use (standard library only).

Routes (huggingface_hub 2.x, regular uploads only):

* ``POST /api/repos/create``: create a model or dataset repository (``exist_ok`` is the client's business: 409).
* ``POST /api/validate-yaml``: README metadata, accepted without checks; ``GET /api/agent-harnesses``: empty registry.
* ``POST /api/{type}s/{repo_id}/preupload/{revision}``: every file is uploaded the regular way (no LFS, no Xet).
* ``POST /api/{type}s/{repo_id}/commit/{revision}``: NDJSON header + base64 ``file`` lines + ``deletedFile`` lines.
* ``GET /api/{type}s/{repo_id}[/revision/{revision}]``: repository info (sha, siblings).
* ``GET /api/{type}s/{repo_id}/tree/{revision}/{path}``: one-level folder listing (``[]`` for a missing folder).
* ``HEAD|GET /[datasets/]{repo_id}/resolve/{revision}/{path}``: file metadata headers and content.

Not covered: LFS and Xet transfers (``lfsFile`` lines are refused), pull requests, branches other than the one
commit history of ``main``, authentication (any token is accepted). Start it with `FakeHub` as a context manager;
point a subprocess at it with ``HF_ENDPOINT=hub.endpoint`` and ``HF_HUB_DISABLE_XET=1``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["FakeHub"]

_REPO = r"(?P<repo>[^/]+/[^/]+)"
_API = re.compile(
    rf"^/api/(?P<type>models|datasets)/{_REPO}(?:/(?P<action>preupload|commit|revision)/(?P<rev>[^/?]+))?"
)
_TREE = re.compile(rf"^/api/(?P<type>models|datasets)/{_REPO}/tree/(?P<rev>[^/?]+)/?(?P<path>[^?]*)")
_RESOLVE = re.compile(rf"^/(?:(?P<type>datasets)/)?{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>[^?]+)")


class _Repository:
    def __init__(self, root: Path):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.sha = hashlib.sha1(str(root).encode()).hexdigest()

    def files(self) -> list[str]:
        return sorted(str(path.relative_to(self.root)) for path in self.root.rglob("*") if path.is_file())


class FakeHub:
    """Threaded HTTP server on 127.0.0.1 (free port) storing repositories under ``storage``.

    Attributes:
        endpoint (str): ``http://127.0.0.1:<port>``.
        requests (list[str]): ``"METHOD path"`` of every request, for assertions.
        unhandled (list[str]): requests that hit no route.
    """

    def __init__(self, storage: str | Path):
        self.storage = Path(storage)
        self.repos: dict[tuple[str, str], _Repository] = {}
        self.requests: list[str] = []
        self.unhandled: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def repo(self, repo_type: str, repo_id: str) -> _Repository | None:
        return self.repos.get((repo_type, repo_id))

    # Route handlers -----------------------------------------------------------------------------------------

    def create_repo(self, payload: dict) -> tuple[int, dict]:
        repo_type = payload.get("type") or "model"
        repo_id = f"{payload.get('organization') or 'user'}/{payload['name']}"
        key = (repo_type, repo_id)
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        body = {"url": f"{self.endpoint}/{prefix}{repo_id}", "name": repo_id}
        if key in self.repos:
            return 409, {**body, "error": "You already created this repo"}
        self.repos[key] = _Repository(self.storage / f"{repo_type}s" / repo_id)
        return 200, body

    def preupload(self, payload: dict) -> tuple[int, dict]:
        files = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in payload["files"]]
        return 200, {"files": files, "commitOid": None}

    def commit(self, repo: _Repository, repo_type: str, repo_id: str, body: bytes) -> tuple[int, dict]:
        for line in body.decode().splitlines():
            item = json.loads(line)
            value = item["value"]
            if item["key"] == "file":
                target = repo.root / value["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(base64.b64decode(value["content"]))
            elif item["key"] == "deletedFile":
                (repo.root / value["path"]).unlink(missing_ok=True)
            elif item["key"] == "lfsFile":
                return 400, {"error": "the fake hub does not support LFS files"}
        repo.sha = hashlib.sha1((repo.sha + body.decode()).encode()).hexdigest()
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        return 200, {"commitOid": repo.sha, "commitUrl": f"{self.endpoint}/{prefix}{repo_id}/commit/{repo.sha}"}

    def info(self, repo: _Repository, repo_id: str) -> tuple[int, dict]:
        return 200, {"id": repo_id, "sha": repo.sha, "siblings": [{"rfilename": name} for name in repo.files()]}

    def _handler_class(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _send(self, status: int, body: bytes = b"", headers: dict | None = None, head: bool = False) -> None:
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
                    self.send_header(name, value)
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _json(self, status: int, payload: dict, headers: dict | None = None) -> None:
                self._send(
                    status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})}
                )

            def _not_found(self, code: str) -> None:
                hub.unhandled.append(f"{self.command} {self.path}") if code == "NoRoute" else None
                self._json(404, {"error": code}, {"X-Error-Code": code})

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_POST(self) -> None:
                hub.requests.append(f"POST {self.path}")
                body = self._body()
                if self.path.startswith("/api/repos/create"):
                    return self._json(*hub.create_repo(json.loads(body)))
                if self.path.startswith("/api/validate-yaml"):  # README metadata: accepted as is
                    return self._json(200, {"errors": [], "warnings": []})
                match = _API.match(self.path)
                if not match or match["action"] not in ("preupload", "commit"):
                    return self._not_found("NoRoute")
                repo_type = match["type"][:-1]
                repo = hub.repo(repo_type, match["repo"])
                if repo is None:
                    return self._not_found("RepoNotFound")
                if match["action"] == "preupload":
                    return self._json(*hub.preupload(json.loads(body)))
                return self._json(*hub.commit(repo, repo_type, match["repo"], body))

            def _resolve(self, head: bool) -> None:
                match = _RESOLVE.match(self.path)
                if match:
                    repo = hub.repo("dataset" if match["type"] else "model", match["repo"])
                    if repo is None:
                        return self._not_found("RepoNotFound")
                    path = repo.root / match["path"]
                    if not path.is_file():
                        return self._not_found("EntryNotFound")
                    content = path.read_bytes()
                    etag = hashlib.sha1(content).hexdigest()
                    headers = {
                        "X-Repo-Commit": repo.sha,
                        "ETag": f'"{etag}"',
                        "Content-Type": "application/octet-stream",
                    }
                    return self._send(200, content, headers, head=head)
                match = _TREE.match(self.path)
                if match:  # folder listing (transformers looks for chat templates): one level, [] when absent
                    repo = hub.repo(match["type"][:-1], match["repo"])
                    if repo is None:
                        return self._not_found("RepoNotFound")
                    folder = repo.root / match["path"]
                    entries = sorted(folder.iterdir()) if folder.is_dir() else []
                    listing = [
                        {"type": "file" if entry.is_file() else "directory", "path": str(entry.relative_to(repo.root))}
                        | ({"size": entry.stat().st_size, "oid": repo.sha} if entry.is_file() else {"oid": repo.sha})
                        for entry in entries
                    ]
                    return self._json(200, listing)
                match = _API.match(self.path)
                if match and match["action"] in (None, "revision"):
                    repo = hub.repo(match["type"][:-1], match["repo"])
                    return self._json(*hub.info(repo, match["repo"])) if repo else self._not_found("RepoNotFound")
                return self._not_found("NoRoute")

            def do_HEAD(self) -> None:
                hub.requests.append(f"HEAD {self.path}")
                self._resolve(head=True)

            def do_GET(self) -> None:
                hub.requests.append(f"GET {self.path}")
                if self.path.startswith("/api/agent-harnesses"):  # client telemetry registry: empty
                    return self._json(200, {"standardEnvVars": [], "harnesses": {}})
                self._resolve(head=False)

        return Handler
