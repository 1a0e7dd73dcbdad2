"""``review eval``: how well a model reviews, measured on a labelled corpus of changes.

Pure parts only (no git, no model, no terminal): the corpus format and its loader
(``corpus.py``, ``case.schema.json``), matching findings to known problems (``match.py``), the
metrics (``metrics.py``), the report's JSON form (``report.py``), the rendered tables
(``render.py``) and two runs side by side (``compare.py``). ``reviewer.app.eval_run`` turns
each case into a git change and runs it through the same pipeline as a real review.

Matching, as documented in the README: a finding matches a known problem when it is on the same
file and its line range overlaps the problem's; categories are compared separately.
"""
