"""Context: the code around each hunk that the model sees but may not comment on.

``languages`` (path -> language), ``outline`` (a file's definitions: functions, methods,
classes, with their signature lines), ``treesitter`` (outlines from tree-sitter grammars; the
only module that imports them, on first use), ``fallback`` (outlines from indentation and
braces, for every other language), ``select`` (which lines each level of context shows),
``gather`` (read, check, outline, select, redact and budget each file's context).

Nothing here is imported by a run with nothing to review, and tree-sitter only when a file
really has to be parsed (an outline not found in the cache).
"""
