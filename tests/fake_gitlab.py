"""A real HTTP(S) server on 127.0.0.1 speaking the slice of GitLab's REST API (v4) that
``--gitlab-mr`` uses, strict where GitLab is strict:

    with FakeGitLab() as gl:
        gl.push_version(head, base, start, diffs)   # what GitLab does after a push
        ...  review --gitlab-mr with CI_API_V4_URL=gl.api_url, REVIEWER_GITLAB_TOKEN=gl.token
        assert gl.count_status(400) == 0

The rules it models (from GitLab's REST docs: merge request discussions, notes, versions,
pagination, rate limits, personal access tokens, and GitLab's diff-note validation):

* **Auth.** ``PRIVATE-TOKEN`` (or ``Authorization: Bearer``). Unknown or missing token: 401
  ``{"message": "401 Unauthorized"}``. ``read_api_tokens`` read but get 403
  ``{"error": "insufficient_scope", ...}`` on any write, as GitLab answers a token without the
  ``api`` scope; ``guest_tokens`` have the scope but their user may not comment (403
  ``{"message": "403 Forbidden"}``); ``reporter_tokens`` comment but may not resolve threads
  (resolving needs the Developer role). ``GET /user`` is the token's user (a project access
  token's bot user), ``GET /personal_access_tokens/self`` its scopes.
* **Projects** by numeric id or URL-encoded path (``group%2Fapp``); otherwise 404
  ``{"message": "404 Project Not Found"}``. An unknown MR is 404 ``{"message": "404 Not found"}``.
* **Versions.** ``push_version`` adds a diff version (newest first) with ``head_commit_sha``,
  ``base_commit_sha``, ``start_commit_sha`` and its ``diffs`` (``old_path``, ``new_path``,
  ``new_file``, ``renamed_file``, ``deleted_file`` and ``diff``: the hunks from ``@@``) and sets
  the MR's ``sha`` and ``diff_refs``. ``hide_versions_for`` makes the versions list lag behind
  for a number of reads (GitLab computes the diff after the push).
* **Diff threads** (``POST .../discussions`` with ``position``). GitLab looks for the row of
  *its* diff of the file between the position's SHAs whose ``old_line`` and ``new_line`` are
  exactly the position's; without one it answers 400 ``Note {:line_code=>["can't be blank",
  "must be a valid line code"]}``. So: the three SHAs must be one version's; ``new_path`` a file
  of that version and ``old_path`` its old path (a renamed file's old name); an added row has
  ``new_line`` only, a removed row ``old_line`` only, an unchanged row both (within a hunk:
  lines outside every hunk are refused, see ``positions.py``). The row's line code is
  ``<sha1 of the new path>_<old>_<new>`` with GitLab's running counters (a new file's old
  counter is 0). A ``line_range`` must go from a row to the position's row within one hunk,
  each end with that row's ``line_code`` and ``type`` (``new`` for an added row, ``old``
  otherwise); the fake is stricter than GitLab here (GitLab stores a wrong range and shows the
  thread oddly), so a wrong range cannot pass unnoticed. ``refuse_line`` makes one row refused
  anyway (GitLab disagreeing with its own diff).
* **Threads** have notes (oldest first), ``resolvable``/``resolved``/``resolved_by`` per note;
  ``PUT .../discussions/:id`` with ``resolved`` resolves or reopens every note of the thread.
  ``add_reply`` and ``resolve`` let a test act as a person. System notes can be seeded.
* **Notes**: ``GET``/``POST .../notes``, ``PUT .../notes/:id`` (only by its author, else 403);
  a standalone note is an ``individual_note`` discussion.
* **Pagination**: ``page``/``per_page`` (default 20, at most 100), with ``X-Page``,
  ``X-Per-Page``, ``X-Next-Page`` (empty on the last page), ``X-Prev-Page``, ``X-Total``,
  ``X-Total-Pages``.
* ``fail_next(...)`` queues canned answers (429 with ``Retry-After``, 500...) for matching
  requests. Every request is recorded in ``requests`` with the status it got.
* ``tls=(cert, key)`` serves HTTPS with that certificate.
"""

from __future__ import annotations

import hashlib
import json
import re
import ssl
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BOT = {"id": 901, "username": "project_42_bot_3f2a", "name": "reviewer", "bot": True}
HUMAN = {"id": 17, "username": "alice", "name": "Alice", "bot": False}
LINE_CODE_400 = (
    '400 Bad request - Note {:line_code=>["can\'t be blank", "must be a valid line code"]}'
)
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class Received:
    method: str
    path: str  # raw (percent-encoded), without the query
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: Any
    status: int


@dataclass
class Canned:
    method: str
    path: re.Pattern[str]
    status: int
    body: Any
    headers: dict[str, str]
    times: int


@dataclass(frozen=True)
class DiffRow:
    kind: str  # "add", "del", "ctx"
    old_line: int | None
    new_line: int | None
    line_code: str
    hunk: int
    index: int  # order in the file's diff


def gitlab_line_code(path: str, old: int, new: int) -> str:
    return f"{hashlib.sha1(path.encode()).hexdigest()}_{old}_{new}"


def diff_rows(path: str, diff: str) -> list[DiffRow]:
    """GitLab's reading of a file's hunks (Gitlab::Diff::Parser): every row with its numbers."""
    rows: list[DiffRow] = []
    old = new = 0
    hunk = -1
    for raw in diff.split("\n"):
        match = _HUNK.match(raw)
        if match:
            old, new = int(match.group(1)), int(match.group(3))
            hunk += 1
            continue
        if hunk < 0 or not raw or raw.startswith("\\"):
            continue
        kind = {"+": "add", "-": "del", " ": "ctx"}.get(raw[0])
        if kind is None:
            continue
        rows.append(
            DiffRow(
                kind=kind,
                old_line=None if kind == "add" else old,
                new_line=None if kind == "del" else new,
                line_code=gitlab_line_code(path, old, new),
                hunk=hunk,
                index=len(rows),
            )
        )
        old += kind != "add"
        new += kind != "del"
    return rows


@dataclass
class FakeGitLab:
    project_id: int = 42
    project_path: str = "group/app"
    iid: int = 7
    token: str = "glpat-writer-0123456789abcdef"
    read_api_tokens: frozenset[str] = frozenset({"glpat-read-api-0123456789ab"})
    guest_tokens: frozenset[str] = frozenset({"glpat-guest-0123456789abcd"})
    reporter_tokens: frozenset[str] = frozenset({"glpat-reporter-0123456789a"})
    web_host: str = "https://gitlab.example.com"
    tls: tuple[str, str] | None = None  # (certificate, key) files: serve HTTPS
    source_branch: str = "feature"
    target_branch: str = "main"

    def __post_init__(self) -> None:
        self.requests: list[Received] = []
        self.versions: list[dict[str, Any]] = []  # newest first
        self.discussions: list[dict[str, Any]] = []
        self.refused: set[tuple[str, int]] = set()
        self.hidden_version_reads = 0
        self._canned: list[Canned] = []
        self._ids = iter(range(5000, 10**9))
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.mr: dict[str, Any] = {
            "id": 3300,
            "iid": self.iid,
            "project_id": self.project_id,
            "title": "Add a parser",
            "state": "opened",
            "source_branch": self.source_branch,
            "target_branch": self.target_branch,
            "sha": None,
            "diff_refs": None,
            "web_url": self.mr_url,
        }

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> FakeGitLab:
        fake = self

        class Handler(_Handler):
            gl = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        server = self._server
        threading.Thread(target=lambda: server.serve_forever(0.01), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def server_url(self) -> str:
        assert self._server is not None
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.server_url}/api/v4"

    @property
    def mr_url(self) -> str:
        return f"{self.web_host}/{self.project_path}/-/merge_requests/{self.iid}"

    # ------------------------------------------------------------------ seeding and queries

    def push_version(
        self, head: str, base: str, start: str, diffs: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        with self._lock:
            version = {
                "id": next(self._ids),
                "head_commit_sha": head,
                "base_commit_sha": base,
                "start_commit_sha": start,
                "created_at": "2025-01-01T00:00:00.000Z",
                "merge_request_id": self.mr["id"],
                "state": "collected",
                "real_size": str(len(diffs)),
                "diffs": [dict(d) for d in diffs],
            }
            self.versions.insert(0, version)
            self.mr["sha"] = head
            self.mr["diff_refs"] = {"base_sha": base, "head_sha": head, "start_sha": start}
            return version

    def refuse_line(self, path: str, new_line: int) -> None:
        """GitLab refuses a thread on this row although its diff shows it."""
        self.refused.add((path, new_line))

    def resolve(self, discussion_id: str, *, by: Mapping[str, Any] = HUMAN) -> None:
        with self._lock:
            self._set_resolved(self._discussion(discussion_id), True, dict(by))

    def add_reply(
        self, discussion_id: str, body: str, *, user: Mapping[str, Any] = HUMAN
    ) -> dict[str, Any]:
        with self._lock:
            discussion = self._discussion(discussion_id)
            note = self._note(body, dict(user), position=discussion["notes"][0]["position"])
            discussion["notes"].append(note)
            return note

    def add_note(
        self, body: str, *, user: Mapping[str, Any] = HUMAN, system: bool = False
    ) -> dict[str, Any]:
        with self._lock:
            return self._new_discussion(self._note(body, dict(user), system=system), True)

    def fail_next(
        self,
        method: str,
        path: str,
        status: int,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests matching ``method`` and the ``path`` regex
        (matched against the path after ``/api/v4``)."""
        self._canned.append(
            Canned(method, re.compile(path), status, body, dict(headers or {}), times)
        )

    def calls(self, method: str, pattern: str = ".*") -> list[Received]:
        regex = re.compile(pattern)
        return [r for r in self.requests if r.method == method and regex.search(r.path)]

    def count_status(self, status: int) -> int:
        return sum(1 for r in self.requests if r.status == status)

    def threads(self) -> list[dict[str, Any]]:
        return [d for d in self.discussions if not d["individual_note"]]

    def notes_by(self, user: Mapping[str, Any] = BOT) -> list[dict[str, Any]]:
        return [
            n
            for d in self.discussions
            if d["individual_note"]
            for n in d["notes"]
            if n["author"]["id"] == user["id"]
        ]

    # ------------------------------------------------------------------ handling

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        split = urllib.parse.urlsplit(raw_path)
        query = dict(urllib.parse.parse_qsl(split.query))
        with self._lock:
            status, payload, extra = self._answer(method, split.path, query, headers, body)
            self.requests.append(Received(method, split.path, query, headers, body, status))
            return status, payload, extra

    def _answer(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        if not path.startswith("/api/v4/"):
            return 404, {"error": "404 Not Found"}, {}
        api_path = path[len("/api/v4") :]
        for canned in self._canned:
            if canned.times > 0 and canned.method == method and canned.path.fullmatch(api_path):
                canned.times -= 1
                return canned.status, canned.body, canned.headers
        token = headers.get("private-token") or _bearer(headers.get("authorization", ""))
        known = {self.token} | self.read_api_tokens | self.guest_tokens | self.reporter_tokens
        if token not in known:
            return 401, {"message": "401 Unauthorized"}, {}
        if method != "GET" and token in self.read_api_tokens:
            return 403, _insufficient_scope(), {}
        if api_path == "/user" and method == "GET":
            return 200, dict(BOT), {}
        if api_path == "/personal_access_tokens/self" and method == "GET":
            scopes = ["read_api"] if token in self.read_api_tokens else ["api"]
            return 200, {"id": 77, "name": "reviewer", "scopes": scopes, "active": True}, {}
        match = re.fullmatch(r"/projects/([^/]+)(/.*)?", api_path)
        if not match:
            return 404, {"error": "404 Not Found"}, {}
        if match.group(1) not in (str(self.project_id), urllib.parse.quote(self.project_path, "")):
            return 404, {"message": "404 Project Not Found"}, {}
        rest = match.group(2) or ""
        match = re.fullmatch(r"/merge_requests/(\d+)(/.*)?", rest)
        if not match:
            return 404, {"error": "404 Not Found"}, {}
        if int(match.group(1)) != self.iid:
            return 404, {"message": "404 Not found"}, {}
        return self._route(method, match.group(2) or "", query, body, token)

    def _route(
        self, method: str, rest: str, query: dict[str, str], body: Any, token: str
    ) -> tuple[int, Any, dict[str, str]]:
        writes = method in ("POST", "PUT", "DELETE")
        if writes and token in self.guest_tokens:
            return 403, {"message": "403 Forbidden"}, {}
        if method == "GET" and rest == "":
            return 200, dict(self.mr), {}
        if method == "GET" and rest == "/versions":
            if self.hidden_version_reads > 0:
                self.hidden_version_reads -= 1
                return self._page([], query)
            shown = [{k: v for k, v in ver.items() if k != "diffs"} for ver in self.versions]
            return self._page(shown, query)
        match = re.fullmatch(r"/versions/(\d+)", rest)
        if method == "GET" and match:
            found = next((v for v in self.versions if v["id"] == int(match.group(1))), None)
            return (200, found, {}) if found else (404, {"message": "404 Not found"}, {})
        if method == "GET" and rest == "/discussions":
            return self._page(self.discussions, query)
        if method == "POST" and rest == "/discussions":
            return self._create_thread(body)
        match = re.fullmatch(r"/discussions/([0-9a-f]+)", rest)
        if method == "PUT" and match:
            return self._put_discussion(match.group(1), body, query, token)
        if method == "GET" and rest == "/notes":
            notes = [n for d in self.discussions for n in d["notes"]]
            notes.sort(key=lambda n: n["id"], reverse=query.get("sort", "desc") == "desc")
            return self._page(notes, query)
        if method == "POST" and rest == "/notes":
            if not isinstance(body, dict) or not body.get("body"):
                return 400, {"error": "body is missing"}, {}
            discussion = self._new_discussion(self._note(body["body"], dict(BOT)), True)
            return 201, discussion["notes"][0], {}
        match = re.fullmatch(r"/notes/(\d+)", rest)
        if method == "PUT" and match:
            return self._edit_note(int(match.group(1)), body)
        return 404, {"error": "404 Not Found"}, {}

    def _page(self, items: list[Any], query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        per_page = max(1, min(int(query.get("per_page", 20)), 100))
        page = max(1, int(query.get("page", 1)))
        pages = max(1, -(-len(items) // per_page))
        headers = {
            "X-Page": str(page),
            "X-Per-Page": str(per_page),
            "X-Next-Page": str(page + 1) if page < pages else "",
            "X-Prev-Page": str(page - 1) if page > 1 else "",
            "X-Total": str(len(items)),
            "X-Total-Pages": str(pages),
        }
        return 200, items[(page - 1) * per_page : page * per_page], headers

    # ------------------------------------------------------------------ threads

    def _create_thread(self, body: Any) -> tuple[int, Any, dict[str, str]]:
        if not isinstance(body, dict) or not body.get("body"):
            return 400, {"error": "body is missing"}, {}
        position = body.get("position")
        if position is None:
            return 201, self._new_discussion(self._note(body["body"], dict(BOT)), False), {}
        if not isinstance(position, dict) or position.get("position_type") != "text":
            return 400, {"error": "position[position_type] does not have a valid value"}, {}
        if not self._position_ok(position):
            return 400, {"message": LINE_CODE_400}, {}
        note = self._note(body["body"], dict(BOT), position=position)
        return 201, self._new_discussion(note, False), {}

    def _position_ok(self, position: dict[str, Any]) -> bool:
        shas = (position.get("base_sha"), position.get("start_sha"), position.get("head_sha"))
        version = next(
            (
                v
                for v in self.versions
                if (v["base_commit_sha"], v["start_commit_sha"], v["head_commit_sha"]) == shas
            ),
            None,
        )
        if version is None:
            return False
        diff = next(
            (d for d in version["diffs"] if d["new_path"] == position.get("new_path")), None
        )
        if diff is None or diff["old_path"] != position.get("old_path") or diff["deleted_file"]:
            return False
        rows = diff_rows(diff["new_path"], diff["diff"])
        old, new = position.get("old_line"), position.get("new_line")
        row = next((r for r in rows if (r.old_line, r.new_line) == (old, new)), None)
        if row is None or (diff["new_path"], new) in self.refused:
            return False
        line_range = position.get("line_range")
        return line_range is None or _range_ok(line_range, row, rows)

    def _put_discussion(
        self, discussion_id: str, body: Any, query: dict[str, str], token: str
    ) -> tuple[int, Any, dict[str, str]]:
        discussion = next((d for d in self.discussions if d["id"] == discussion_id), None)
        if discussion is None:
            return 404, {"message": "404 Discussion Not Found"}, {}
        raw = (body or {}).get("resolved", query.get("resolved"))
        if raw is None:
            return 400, {"error": "resolved is missing"}, {}
        if token in self.reporter_tokens:
            return 403, {"message": "403 Forbidden"}, {}
        if not any(n["resolvable"] for n in discussion["notes"]):
            return 400, {"message": "400 Bad request - Discussion is not resolvable"}, {}
        self._set_resolved(discussion, raw in (True, "true"), dict(BOT))
        return 200, discussion, {}

    def _edit_note(self, note_id: int, body: Any) -> tuple[int, Any, dict[str, str]]:
        note = next((n for d in self.discussions for n in d["notes"] if n["id"] == note_id), None)
        if note is None:
            return 404, {"message": "404 Note Not Found"}, {}
        if note["author"]["id"] != BOT["id"]:
            return 403, {"message": "403 Forbidden"}, {}
        if not isinstance(body, dict) or not body.get("body"):
            return 400, {"error": "body is missing"}, {}
        note["body"] = body["body"]
        return 200, note, {}

    def _set_resolved(self, discussion: dict[str, Any], resolved: bool, by: dict[str, Any]) -> None:
        for note in discussion["notes"]:
            if note["resolvable"]:
                note["resolved"] = resolved
                note["resolved_by"] = by if resolved else None

    def _discussion(self, discussion_id: str) -> dict[str, Any]:
        return next(d for d in self.discussions if d["id"] == discussion_id)

    def _note(
        self,
        body: str,
        author: dict[str, Any],
        *,
        position: dict[str, Any] | None = None,
        system: bool = False,
    ) -> dict[str, Any]:
        return {
            "id": next(self._ids),
            "type": "DiffNote" if position else None,
            "body": body,
            "author": author,
            "created_at": "2025-01-01T00:00:00.000Z",
            "system": system,
            "noteable_type": "MergeRequest",
            "noteable_iid": self.iid,
            "resolvable": position is not None,
            "resolved": False,
            "resolved_by": None,
            "position": position,
        }

    def _new_discussion(self, note: dict[str, Any], individual: bool) -> dict[str, Any]:
        discussion = {
            "id": hashlib.sha1(str(note["id"]).encode()).hexdigest(),
            "individual_note": individual,
            "notes": [note],
        }
        self.discussions.append(discussion)
        return discussion


def _range_ok(line_range: Any, row: DiffRow, rows: list[DiffRow]) -> bool:
    if not isinstance(line_range, dict):
        return False
    ends = [line_range.get("start"), line_range.get("end")]
    found: list[DiffRow] = []
    for end in ends:
        if not isinstance(end, dict):
            return False
        match = next((r for r in rows if r.line_code == end.get("line_code")), None)
        if match is None or end.get("type") != ("new" if match.kind == "add" else "old"):
            return False
        for key in ("old_line", "new_line"):
            if key in end and end[key] != getattr(match, key):
                return False
        found.append(match)
    start, last = found
    return last == row and start.hunk == row.hunk and start.index <= row.index


class _Handler(BaseHTTPRequestHandler):
    gl: FakeGitLab

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, payload, extra = self.gl.handle(self.command, self.path, headers, body)
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _bearer(authorization: str) -> str:
    scheme, _, value = authorization.partition(" ")
    return value if scheme.lower() == "bearer" else ""


def _insufficient_scope() -> dict[str, str]:
    return {
        "error": "insufficient_scope",
        "error_description": "The request requires higher privileges than provided by the "
        "access token.",
        "scope": "api",
    }


# --------------------------------------------------------------------------- diffs from git


def git_version_diffs(diff_text: str) -> list[dict[str, Any]]:
    """``git diff -M base head`` output -> GitLab's ``diffs`` entries (hunks from ``@@``)."""
    entries: list[dict[str, Any]] = []
    for block in re.split(r"^(?=diff --git )", diff_text, flags=re.MULTILINE):
        if not block.startswith("diff --git "):
            continue
        header, _, hunks = block.partition("\n@@")
        lines = header.split("\n")
        a, b = lines[0][len("diff --git a/") :].split(" b/", 1)
        old_path, new_path = a, b
        for line in lines:
            if line.startswith("rename from "):
                old_path = line[len("rename from ") :]
            elif line.startswith("rename to "):
                new_path = line[len("rename to ") :]
        entries.append(
            {
                "old_path": old_path,
                "new_path": new_path,
                "a_mode": "100644",
                "b_mode": "100644",
                "new_file": any(ln.startswith("new file mode") for ln in lines),
                "renamed_file": old_path != new_path,
                "deleted_file": any(ln.startswith("deleted file mode") for ln in lines),
                "diff": ("@@" + hunks) if hunks else "",
            }
        )
    return entries
