"""Reading a streamed chat completion: server-sent events in, one completion out.

``StreamReader.feed`` takes the body as it arrives, in pieces of any size; ``result`` gives
the completion those events add up to, in the non-streamed shape (``choices[0].message``,
``usage``), so one function reads both. What a stream may carry besides content deltas:
comment lines (keep-alive pings), a refusal, reasoning text (counted as progress only), a
final chunk with ``usage`` and no choices (``stream_options.include_usage``), an ``error``
object in place of a chunk, and ``data: [DONE]``.

A server that ignores ``stream: true`` answers with one JSON document (and a proxy in
trouble with an HTML page); ``whole`` says when the body does not start like an event
stream, and the caller then reads it as one document.
"""

from __future__ import annotations

import json
from typing import Any

from reviewer.core.errors import TransientProviderError

_DONE = "[DONE]"
_FIELDS = (b"data", b":", b"event", b"id", b"retry")  # how an event stream can begin


class StreamReader:
    """Assembles one streamed answer. Not thread-safe: one per request."""

    def __init__(self, where: str) -> None:
        self._where = where  # names the endpoint in errors
        self._buffer = b""
        self._data: list[str] = []  # the data lines of the event being read
        self._event = ""
        self._content: list[str] = []
        self._refusal: list[str] = []
        self._finish_reason: str | None = None
        self._usage: dict[str, Any] | None = None
        self._model: str | None = None
        self.pieces = 0  # content, refusal and reasoning deltas: about one token each
        self.done = False  # saw data: [DONE]
        self.started = False  # saw the first non-blank byte
        self.whole = False  # the body is not an event stream: one document

    def feed(self, data: bytes) -> None:
        if not self.started:
            stripped = data.lstrip()
            if not stripped:
                return
            self.started = True
            self.whole = not stripped.startswith(_FIELDS)
        if self.whole or self.done:
            return
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            self._line(raw.rstrip(b"\r").decode("utf-8", "replace"))

    def result(self) -> dict[str, Any]:
        """The completion, shaped like a non-streamed one."""
        if self._buffer.strip():
            self._line(self._buffer.rstrip(b"\r").decode("utf-8", "replace"))
            self._buffer = b""
        self._line("")  # an event the body ended without a blank line after
        if not self.done and self._finish_reason is None:
            raise TransientProviderError(
                f"{self._where} ended the stream before the answer was complete", status=200
            )
        content = "".join(self._content) if self._content else None
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if self._refusal:
            message["refusal"] = "".join(self._refusal)
        body: dict[str, Any] = {
            "choices": [{"index": 0, "message": message, "finish_reason": self._finish_reason}],
            "model": self._model,
        }
        if self._usage is not None:
            body["usage"] = self._usage
        return body

    # ------------------------------------------------------------------ events

    def _line(self, line: str) -> None:
        if not line:
            self._dispatch()
        elif line.startswith(":"):
            return  # a comment: keep-alive
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                self._data.append(value)
            elif name == "event":
                self._event = value

    def _dispatch(self) -> None:
        data, event = "\n".join(self._data), self._event
        self._data, self._event = [], ""
        if not data or self.done:
            return
        if data.strip() == _DONE:
            self.done = True
            return
        try:
            chunk = json.loads(data)
        except ValueError:
            snippet = " ".join(data[:200].split())
            raise TransientProviderError(
                f"{self._where} streamed an event that is not JSON: {snippet}", status=200
            ) from None
        if not isinstance(chunk, dict):
            return
        if event == "error" or chunk.get("error"):
            raise TransientProviderError(
                f"{self._where} streamed an error: {_error_message(chunk)}", status=200
            )
        self._chunk(chunk)

    def _chunk(self, chunk: dict[str, Any]) -> None:
        if isinstance(chunk.get("model"), str):
            self._model = chunk["model"]
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return
        choice = choices[0]
        delta = choice.get("delta") or choice.get("message") or {}
        if isinstance(delta, dict):
            for key, into in (("content", self._content), ("refusal", self._refusal)):
                text = _text(delta.get(key))
                if text:
                    into.append(text)
                    self.pieces += 1
            if _text(delta.get("reasoning_content")) or _text(delta.get("reasoning")):
                self.pieces += 1  # thinking out loud: progress, not the answer
        if isinstance(choice.get("finish_reason"), str):
            self._finish_reason = choice["finish_reason"]


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content parts
        return "".join(p["text"] for p in value if isinstance(p, dict) and "text" in p)
    return ""


def _error_message(chunk: dict[str, Any]) -> str:
    error = chunk.get("error", chunk)
    if isinstance(error, dict):
        message = error.get("message") or error.get("detail") or json.dumps(error)[:300]
        return str(message)[:500]
    return str(error)[:500]
