"""Stage 3, asking the model: prompts, the answer schema and its validation, provider presets, the
``Backend`` seam and its ``openai`` implementation (the only module importing ``openai``), one
chunk's conversation with fallbacks, re-asks and retries -> ``ModelAnswer``."""
