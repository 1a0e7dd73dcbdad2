"""What outlives a run: the review cache (answers, response-format dialects, token counts)."""
