"""A stand-in for GitHub on loopback: the REST calls pulumi-github makes, and raw.githubusercontent.com.

One HTTPS server, certificate from a throwaway trustme CA, answers both:

- the GitHub Enterprise REST API under ``/api/v3/`` (what the provider speaks
  when ``github:baseUrl`` is not api.github.com), for repositories, branches,
  file contents and commits, as ``terraform-provider-github``'s repository-file
  resource calls them through go-github (``GetBranch``, ``GetContents``,
  ``CreateFile``, ``DeleteFile``, ``GetCommit``, ``ListCommits``, and the
  owner lookup at configure time). A contents reply's ``url`` carries
  ``?ref=BRANCH``: the provider's read parses it;
- the raw files, ``/OWNER/REPO/refs/heads/BRANCH/PATH``, as
  raw.githubusercontent.com serves them (``text/plain``, ``Cache-Control:
  max-age``), from the same committed state, so what the provider committed is
  what STS, ``jwks_wait`` and ``irsa verify`` fetch.

Every request is recorded; one the stand-in does not know is answered 404 and
listed in ``unknown``, so a test sees any call the real provider makes that
this file does not model.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import ssl
import threading
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

RAW_HOST = "raw.githubusercontent.com"
API_PREFIX = "/api/v3"


def blob_sha(content: bytes) -> str:
    """Git's blob id of ``content``, as GitHub reports a file's ``sha``."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()  # noqa: S324 (git's id)


@dataclass
class Commit:
    sha: str
    message: str
    path: str
    parent: str | None


@dataclass
class Repository:
    """One repository: its branches, each a map path → content, and its commits."""

    owner: str
    name: str
    default_branch: str = "main"
    branches: dict[str, dict[str, bytes]] = field(default_factory=dict)
    heads: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: str
    status: int


class GitHubStandIn:
    """The server and its state. ``raw_max_age`` is the raw files' ``Cache-Control: max-age``."""

    def __init__(self, address: str, port: int, ca: Any, raw_max_age: int = 1):
        self.repositories: dict[tuple[str, str], Repository] = {}
        self.calls: list[Call] = []
        self.unknown: list[str] = []
        self.raw_max_age = raw_max_age
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self.address = address
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with standin._lock:
                    status, payload, content_type, headers = standin.route(
                        self.command, parts.path, parse_qs(parts.query), body, self.headers.get("Host", ""))
                    standin.calls.append(Call(self.command, parts.path, parts.query, status))
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer((address, port), Handler)
        self._httpd.daemon_threads = True
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(RAW_HOST, address).configure_cert(context)
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.port = self._httpd.server_address[1]
        netloc = address if self.port == 443 else f"{address}:{self.port}"
        # github:baseUrl / GITHUB_BASE_URL: the provider adds api/v3/ itself.
        self.base_url = f"https://{netloc}/"
        self._api = f"https://{netloc}{API_PREFIX}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # --- state -------------------------------------------------------------

    def add_repository(self, owner: str, name: str, branch: str = "main") -> Repository:
        """A public repository with one auto-initialised commit on ``branch`` (a README)."""
        repo = Repository(owner, name, default_branch=branch)
        self.repositories[(owner, name)] = repo
        repo.branches[branch] = {}
        self._commit(repo, branch, "README.md", b"# oidc issuer\n", "Initial commit")
        return repo

    def file(self, owner: str, name: str, branch: str, path: str) -> bytes | None:
        """A file's committed content on a branch, or None."""
        repo = self.repositories.get((owner, name))
        return None if repo is None else repo.branches.get(branch, {}).get(path)

    def writes(self) -> list[Call]:
        """The calls that changed a repository (PUT, DELETE, POST)."""
        return [c for c in self.calls if c.method in ("PUT", "DELETE", "POST", "PATCH")]

    def _commit(self, repo: Repository, branch: str, path: str, content: bytes | None, message: str) -> Commit:
        files = repo.branches[branch]
        if content is None:
            files.pop(path, None)
        else:
            files[path] = content
        sha = hashlib.sha1(f"{next(self._counter)}:{branch}:{path}:{message}".encode()).hexdigest()  # noqa: S324
        commit = Commit(sha, message, path, repo.heads.get(branch))
        repo.commits[sha] = commit
        repo.heads[branch] = sha
        return commit

    # --- routing -------------------------------------------------------------

    def route(self, method: str, path: str, query: dict[str, list[str]], body: bytes,
              host: str) -> tuple[int, Any, str, list[tuple[str, str]]]:
        if path.startswith(API_PREFIX + "/") or path == "/api/graphql":
            status, payload = self._api_route(method, unquote(path[len(API_PREFIX):]), query, body)
            if status == 404 and payload.get("irsa_unknown"):
                self.unknown.append(f"{method} {path}")
                payload = {"message": "Not Found"}
            return status, payload, "application/json; charset=utf-8", [("X-GitHub-Media-Type", "github.v3")]
        return self._raw_route(method, unquote(path))

    def _raw_route(self, method: str, path: str) -> tuple[int, Any, str, list[tuple[str, str]]]:
        # /OWNER/REPO/refs/heads/BRANCH/PATH (a branch name without '/', as the tests use)
        parts = path.lstrip("/").split("/")
        if method in ("GET", "HEAD") and len(parts) >= 6 and parts[2:4] == ["refs", "heads"]:
            content = self.file(parts[0], parts[1], parts[4], "/".join(parts[5:]))
            if content is not None:
                return 200, content, "text/plain; charset=utf-8", [
                    ("Cache-Control", f"max-age={self.raw_max_age}")]
        self.unknown.append(f"raw {method} {path}") if method not in ("GET", "HEAD") else None
        return 404, b"404: Not Found", "text/plain; charset=utf-8", []

    def _repo_json(self, repo: Repository) -> dict[str, Any]:
        full = f"{repo.owner}/{repo.name}"
        return {"id": zlib.crc32(full.encode()) % 10**8, "name": repo.name, "full_name": full,
                "owner": {"login": repo.owner, "type": "Organization"}, "private": False,
                "visibility": "public", "default_branch": repo.default_branch,
                "url": f"{self._api}/repos/{full}", "html_url": f"https://github.example/{full}"}

    def _content_json(self, repo: Repository, branch: str, path: str, content: bytes) -> dict[str, Any]:
        full = f"{repo.owner}/{repo.name}"
        return {"type": "file", "encoding": "base64", "size": len(content),
                "name": path.rsplit("/", 1)[-1], "path": path, "sha": blob_sha(content),
                "content": base64.b64encode(content).decode(),
                "url": f"{self._api}/repos/{full}/contents/{path}?ref={branch}",
                "download_url": f"https://{RAW_HOST}/{full}/refs/heads/{branch}/{path}"}

    def _commit_json(self, repo: Repository, commit: Commit) -> dict[str, Any]:
        person = {"name": "irsa-test", "email": "irsa-test@example.invalid", "date": "2026-12-06T00:00:00Z"}
        return {"sha": commit.sha, "url": f"{self._api}/repos/{repo.owner}/{repo.name}/commits/{commit.sha}",
                "commit": {"message": commit.message, "author": person, "committer": person},
                "parents": [{"sha": commit.parent}] if commit.parent else [],
                "files": [{"filename": commit.path}]}

    def _api_route(self, method: str, path: str, query: dict[str, list[str]],
                   body: bytes) -> tuple[int, dict[str, Any] | list[Any]]:
        parts = [p for p in path.split("/") if p]
        unknown: dict[str, Any] = {"irsa_unknown": True}
        if method == "GET" and parts == ["user"]:
            owner = next(iter(self.repositories), ("irsa-test", ""))[0]
            return 200, {"login": owner, "id": 1, "type": "User"}
        if method == "GET" and len(parts) == 2 and parts[0] in ("orgs", "users"):
            return 200, {"login": parts[1], "id": 2, "type": "Organization"}
        if method == "GET" and parts == ["rate_limit"]:
            return 200, {"resources": {"core": {"limit": 5000, "remaining": 5000, "reset": 0}}}
        if len(parts) < 3 or parts[0] != "repos":
            return 404, unknown
        repo = self.repositories.get((parts[1], parts[2]))
        if repo is None:
            return 404, {"message": "Not Found"}
        rest = parts[3:]
        if method == "GET" and not rest:
            return 200, self._repo_json(repo)
        if method == "GET" and len(rest) >= 2 and rest[0] == "branches":
            branch = "/".join(rest[1:])
            if branch not in repo.branches:
                return 404, {"message": "Branch not found"}
            return 200, {"name": branch, "protected": False,
                         "commit": self._commit_json(repo, repo.commits[repo.heads[branch]])}
        if len(rest) >= 2 and rest[0] == "contents":
            return self._contents(repo, method, "/".join(rest[1:]), query, body)
        if method == "GET" and rest == ["commits"]:
            branch = query.get("sha", [repo.default_branch])[0]
            wanted = query.get("path", [None])[0]
            found, sha = [], repo.heads.get(branch)
            while sha:
                commit = repo.commits[sha]
                if wanted is None or commit.path == wanted:
                    found.append(self._commit_json(repo, commit))
                sha = commit.parent
            return 200, found
        if method == "GET" and len(rest) == 2 and rest[0] == "commits":
            commit = repo.commits.get(rest[1]) or repo.commits.get(repo.heads.get(rest[1], ""))
            return (200, self._commit_json(repo, commit)) if commit else (404, {"message": "No commit found"})
        return 404, unknown

    def _contents(self, repo: Repository, method: str, path: str, query: dict[str, list[str]],
                  body: bytes) -> tuple[int, dict[str, Any]]:
        request = json.loads(body) if body else {}
        branch = request.get("branch") or query.get("ref", [repo.default_branch])[0]
        if branch not in repo.branches:
            return 404, {"message": f"No commit found for the ref {branch}"}
        current = repo.branches[branch].get(path)
        if method == "GET":
            if current is None:
                return 404, {"message": "Not Found"}
            return 200, self._content_json(repo, branch, path, current)
        if method == "PUT":
            # GitHub: updating an existing file needs its blob sha, and the right one.
            if current is not None and request.get("sha") != blob_sha(current):
                return (409 if request.get("sha") else 422), {
                    "message": f"{path} does not match {request.get('sha')}" if request.get("sha")
                    else "Invalid request.\n\n\"sha\" wasn't supplied."}
            content = base64.b64decode(request["content"])
            commit = self._commit(repo, branch, path, content, request.get("message", f"Update {path}"))
            return (200 if current is not None else 201), {
                "content": self._content_json(repo, branch, path, content),
                "commit": self._commit_json(repo, commit)}
        if method == "DELETE":
            if current is None:
                return 404, {"message": "Not Found"}
            if request.get("sha") != blob_sha(current):
                return 409, {"message": f"{path} does not match {request.get('sha')}"}
            commit = self._commit(repo, branch, path, None, request.get("message", f"Delete {path}"))
            return 200, {"content": None, "commit": self._commit_json(repo, commit)}
        return 404, {"irsa_unknown": True}
