"""``--output json``: the ``ReviewResult`` as JSON, nothing added or removed.

Keys appear in the order below (pydantic field order), indented by 2, ASCII only (non-ASCII
text is ``\\u``-escaped, so the output is safe whatever the locale), ending with a newline.
``schema_version`` changes only when a field is removed or changes meaning.

```
{
  "schema_version": 1,            # int
  "tool_version": "0.1.0",        # reviewer's version
  "source": "main...HEAD",        # what was reviewed: "staged changes", "main...HEAD", "2 files"
  "base_sha": "…" | null,         # commits, when reviewing git history
  "head_sha": "…" | null,
  "model": "gpt-4o-mini",
  "provider": "openai",
  "score": 7,                     # overall 1-10, 10 = no findings (reviewer.findings.scoring)
  "summary": "…",                 # the model's summary of the change
  "findings": [                   # deduped, sorted worst first, filtered, capped
    {
      "path": "src/app.py",       # repository-relative, "/"-separated
      "start_line": 12,           # new-file line numbers, 1-based, inclusive,
      "end_line": 14,             #   always on changed lines of the diff
      "severity": "critical" | "high" | "medium" | "low" | "info",
      "category": "bug" | "security" | "performance" | "maintainability" |
                  "error-handling" | "concurrency" | "style" | "docs" | "tests",
      "confidence": 0.9,          # 0.0-1.0, the model's
      "title": "…",               # one line, <= 200 chars
      "message": "…",             # <= 4000 chars
      "suggestion": "…" | null,   # replacement text for exactly start_line..end_line
      "rule_id": "reviewer/bug",  # one per category
      "fingerprint": "0123456789abcdef",  # stable across runs and line shifts
      "score": 6.3,               # severity weight x confidence
      "chunk_id": "…",            # the request the finding came from
      "code": "…",                # the new-file code of the range
      "verified": true | false | null   # the verification pass confirmed it / its check
                                  #   failed (shown unchecked) / no check ran (--no-verify)
    }
  ],
  "not_reviewed": [               # files skipped, and why
    {"path": "poetry.lock", "reason": "lockfile", "detail": ""}
  ],                              # reason: deleted binary lockfile minified generated vendored
                                  #   submodule mode-only too-large excluded not-included
                                  #   secret-file unreadable empty over-budget not-found
  "failures": [                   # chunks that got no review; non-empty = incomplete review
    {"chunk_id": "…", "index": 2, "paths": ["src/a.py"], "lines": 40,
     "kind": "timeout", "message": "…"}
  ],
  "stats": {
    "files_total": 6, "files_reviewed": 4, "files_not_reviewed": 2,
    "chunks": 5, "chunks_failed": 1, "chunks_cached": 0, "requests": 6, "retries": 1,
    "tokens_in": 12345, "tokens_out": 1234, "estimated_tokens_in": 12000,
    "cost_usd": 0.0123 | null, "estimated_cost_usd": 0.012 | null,   # null: price unknown
    "duration_s": 12.3,
    "findings_total": 3,
    "findings_by_severity": {"critical": 0, "high": 1, "medium": 2, "low": 0, "info": 0},
    "discarded_findings": 0,      # off the chunk's changed lines, unusable, or over 50 a chunk
    "clamped_findings": 0,        # range narrowed to the changed lines
    "duplicate_findings": 0,
    "filtered_findings": 0,       # below --min-severity/--min-confidence, over --max-findings
    "redactions": 0,              # secrets and personal data replaced before sending
    "redactions_secrets": 0,      #   of which secrets
    "redactions_pii": 0,          #   of which personal data (redact-pii)
    "redactions_by_family": {"github-token": 1, "email": 2},  # marker names, counted
    "response_format": "json_schema" | null,
    "verify_chunks": 1, "verify_cached": 0, "verify_failed": 0,   # the verification pass;
    "verify_requests": 1, "verify_tokens_in": 900, "verify_tokens_out": 120,  # these are
    "estimated_verify_tokens_in": 1200,        # also in requests/tokens_in/estimated_...
    "confirmed_findings": 2, "corrected_findings": 1, "refuted_findings": 1,
    "unverified_findings": 0,     # counts of anchored findings, before dedupe and filters
    "suppressed_findings": 0,     # reviewer: ignore comments, false positives on the PR
    "instruction_tokens": 312     # of the repository's instruction files sent
  },
  "dry_run": false,               # true: nothing was sent; findings are empty
  "reviewed_paths": ["src/app.py"],
  "chunks": [{"index": 0, "id": "…", "paths": ["src/app.py"], "tokens": 1234,
              "changed_lines": 12}],
  "warnings": ["…"],              # response-format fallbacks, failed checks, cache problems
  "dropped": [                    # findings not shown, and why
    {"kind": "refuted" | "suppressed", "reason": "…", "finding": {…}}
  ],
  "instructions": [               # the repository's instruction files and how they were used
    {"path": "AGENTS.md", "revision": "base 0123456789ab", "globs": [], "tokens": 312,
     "status": "used" | "truncated" | "over-budget" | "skipped", "detail": ""}
  ],
  "redaction_sites": [            # with --show-redactions only: where, never the value
    {"path": "config.py", "line": 12, "old_line": null, "family": "github-token",
     "kind": "secret" | "pii"}    # line: new-file number; a removed line has old_line
  ]
}
```
"""

from __future__ import annotations

import json

from reviewer.core.values import ReviewResult


class JsonReporter:
    name = "json"

    def render(self, result: ReviewResult, *, color: bool) -> str:
        # ``color`` is part of the Reporter protocol; JSON is never coloured.
        del color
        return json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=True) + "\n"
