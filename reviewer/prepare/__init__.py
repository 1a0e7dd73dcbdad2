"""Stage 2, what may be sent: filters (skip reasons), secret redaction, token counting, rendering
and chunking -> ``Chunk``s under a token budget."""
