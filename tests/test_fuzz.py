"""Property tests at the two doors where untrusted text comes in.

* The model's answer: any text, any JSON -> ``parse_answer`` gives a ``ModelAnswer`` or raises
  ``InvalidModelOutput`` with a short one-line reason, nothing else; ``anchor_findings`` then
  keeps only findings inside the contract (on the chunk's changed lines, inert bounded text).
* The diff: a real ``git diff`` mangled at random -> ``parse_git_diff`` gives files or raises a
  one-line ``GitError``; whatever it gives goes through redaction, chunking and rendering.
"""

from __future__ import annotations

import json
import math
import random
import unicodedata
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewer.core.errors import GitError, InvalidModelOutput
from reviewer.core.values import CATEGORIES, SEVERITIES, Chunk, ChunkFile, DiffLine, FileDiff, Hunk
from reviewer.findings.anchor import MAX_MESSAGE_CHARS, MAX_TITLE_CHARS, anchor_findings
from reviewer.llm.answer import ModelAnswer, parse_answer
from reviewer.prepare.chunker import make_chunks
from reviewer.prepare.redact import redact_files
from reviewer.prepare.render import render_chunk
from reviewer.source.diffparse import parse_git_diff

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------- the answer

JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=8,
)


def _field(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a valid value, sometimes a value of another type."""
    return st.one_of(valid, valid, valid, JSON_LEAF)


FINDING = st.fixed_dictionaries(
    {
        "path": _field(st.sampled_from(["app.py", "./app.py", "b/app.py", "other.py", ""])),
        "start_line": _field(st.integers(-3, 40)),
        "end_line": _field(st.integers(-3, 40)),
        "severity": _field(st.sampled_from(SEVERITIES)),
        "category": _field(st.sampled_from(CATEGORIES)),
        "confidence": _field(st.floats(-1, 2) | st.just(math.nan)),
        "title": _field(st.text(max_size=40) | st.text(min_size=195, max_size=205)),
        "message": _field(st.text(max_size=60)),
        "suggestion": _field(st.none() | st.text(max_size=60)),
    },
    optional={"extra": JSON_LEAF},
)
ANSWER_LIKE = st.fixed_dictionaries(
    {"summary": _field(st.text(max_size=40)), "findings": _field(st.lists(FINDING, max_size=6))}
)


def _answer_text() -> st.SearchStrategy[str]:
    documents = st.one_of(ANSWER_LIKE, JSON_VALUE).map(json.dumps)
    fenced = documents.map(lambda doc: f"```json\n{doc}\n```")
    cut = documents.flatmap(lambda doc: st.integers(0, len(doc)).map(lambda n: doc[:n]))
    return st.one_of(st.text(), documents, fenced, cut)


def _chunk() -> Chunk:
    lines = [DiffLine(kind="ctx", text="import os", old_no=1, new_no=1)]
    lines += [DiffLine(kind="add", text=f"x{n} = {n}", new_no=n) for n in range(2, 6)]
    lines += [DiffLine(kind="del", text="gone = 1", old_no=2)]
    lines += [DiffLine(kind="ctx", text="print(x2)", old_no=3, new_no=6)]
    hunk = Hunk(old_start=1, old_len=3, new_start=1, new_len=6, lines=tuple(lines))
    return Chunk(id="c0", index=0, files=(ChunkFile(path="app.py", hunks=(hunk,)),), tokens=1)


CHUNK = _chunk()
CHANGED = CHUNK.files[0].changed_lines


def _parse(text: str) -> ModelAnswer | None:
    try:
        return parse_answer(text)
    except InvalidModelOutput as exc:
        reason = str(exc)
        assert reason and "\n" not in reason and len(reason) < 2_000
        return None


@FAST
@given(_answer_text())
def test_any_answer_text_is_valid_or_invalid_model_output(text: str) -> None:
    answer = _parse(text)
    if answer is None:
        return
    assert isinstance(answer, ModelAnswer)
    outcome = anchor_findings(answer.findings, CHUNK, max_per_chunk=3)
    assert len(outcome.findings) + outcome.discarded + outcome.capped == len(answer.findings)
    assert len(outcome.findings) <= 3
    for f in outcome.findings:
        assert f.path == "app.py"
        assert f.start_line in CHANGED and f.end_line in CHANGED
        assert f.start_line <= f.end_line
        assert 0 <= f.confidence <= 1 and math.isfinite(f.score)
        assert f.title and "\n" not in f.title and len(f.title) <= MAX_TITLE_CHARS
        assert len(f.message) <= MAX_MESSAGE_CHARS
        for text_field in (f.title, f.message, f.suggestion or ""):
            assert not any(
                unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in text_field
            )


@FAST
@given(st.binary(max_size=200))
def test_undecodable_bytes_as_text_are_invalid_model_output(raw: bytes) -> None:
    _parse(raw.decode("utf-8", errors="surrogateescape"))


# --------------------------------------------------------------------------- the diff

GIT_DIFF = """\
diff --git a/src/app.py b/src/app.py
index 1111111111111111111111111111111111111111..2222222222222222222222222222222222222222 100644
--- a/src/app.py
+++ b/src/app.py
@@ -1,4 +1,5 @@ def main():
 import os
-x = 1
+x = 2
+token = "ghp_R8kTq2WmZ7xYb4NcV1pLs9HdJ3fGa6EuK0oQ"
 y = 3
 z = 4
diff --git a/old.py b/"new dir/caf\\303\\251.py"
similarity index 90%
rename from old.py
rename to "new dir/caf\\303\\251.py"
index 3333333..4444444
--- a/old.py
+++ "b/new dir/caf\\303\\251.py"
@@ -10,2 +10,2 @@
-a = 1
+a = 10
 b = 2
\\ No newline at end of file
diff --git a/key.txt b/key.txt
new file mode 100644
index 0000000..5555555
--- /dev/null
+++ b/key.txt
@@ -0,0 +1,4 @@
+-----BEGIN PRIVATE KEY-----
+MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj
+-----END PRIVATE KEY-----
+after = 1\r
diff --git a/bin.dat b/bin.dat
new file mode 100644
index 0000000..6666666
Binary files /dev/null and b/bin.dat differ
diff --git a/run.sh b/run.sh
old mode 100644
new mode 100755
diff --git a/vendor/lib b/vendor/lib
index 7777777..8888888 160000
--- a/vendor/lib
+++ b/vendor/lib
@@ -1 +1 @@
-Subproject commit 7777777777777777777777777777777777777777
+Subproject commit 8888888888888888888888888888888888888888
* Unmerged path conflict.py
"""
_LINES = GIT_DIFF.split("\n")
TOKEN = "ghp_R8kTq2WmZ7xYb4NcV1pLs9HdJ3fGa6EuK0oQ"


@st.composite
def mangled_diffs(draw: st.DrawFn) -> str:
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    lines = list(_LINES)
    for _ in range(draw(st.integers(0, 6))):
        if not lines:
            break
        i = rng.randrange(len(lines))
        action = rng.choice(("drop", "dup", "swap", "cut", "junk", "digit"))
        if action == "drop":
            del lines[i]
        elif action == "dup":
            lines.insert(i, lines[i])
        elif action == "swap":
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif action == "cut":
            lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
        elif action == "junk":
            lines.insert(i, draw(st.text(max_size=20)))
        else:
            lines[i] = "".join(str(rng.randrange(10)) if c.isdigit() else c for c in lines[i])
    return "\n".join(lines)


class CharTokens:
    """About four characters a token: enough for the chunker's budget arithmetic."""

    def count(self, text: str) -> int:
        return len(text) // 4 + 1


@FAST
@given(mangled_diffs())
def test_mangled_git_diffs_parse_or_fail_in_one_line_and_flow_on(text: str) -> None:
    try:
        parsed = parse_git_diff(text)
    except GitError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    redacted, _count = redact_files(parsed.files)
    assert [f.path for f in redacted] == [f.path for f in parsed.files]
    for before, after in zip(parsed.files, redacted, strict=True):
        assert [len(h.lines) for h in before.hunks] == [len(h.lines) for h in after.hunks]
    for before, after in zip(parsed.files, redacted, strict=True):
        for old, new in zip(_texts(before), _texts(after), strict=True):
            if TOKEN in old:  # wherever a mangling moved it, a whole token is caught
                assert TOKEN not in new and "[REDACTED:github-token]" in new
    chunks, _over = make_chunks(redacted, 400, CharTokens())
    for chunk in chunks:
        rendered = render_chunk(chunk.files)
        assert rendered.startswith("<<<REVIEW-DATA ")
        assert TOKEN not in rendered


def _texts(diff: FileDiff) -> list[str]:
    return [ln.text for h in diff.hunks for ln in h.lines]


def test_the_unmangled_diff_is_whole() -> None:
    parsed = parse_git_diff(GIT_DIFF)
    assert [f.path for f in parsed.files] == [
        "src/app.py",
        "new dir/café.py",
        "key.txt",
        "bin.dat",
        "run.sh",
        "vendor/lib",
    ]
    assert parsed.unmerged == ("conflict.py",)
    redacted, count = redact_files(parsed.files)
    assert count == 2
    key_lines = [ln.text for ln in redacted[2].hunks[0].lines]
    assert key_lines[1] == "[REDACTED:private-key]" and key_lines[3] == "after = 1"
