"""Stage 4, what the answers mean: anchoring model findings on changed lines, scoring, and
aggregation (dedupe, sort, filter) -> ``Finding``s."""
