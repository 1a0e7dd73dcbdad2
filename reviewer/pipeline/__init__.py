"""``run_review``: the stages wired into one plain function, its collaborators passed in."""
