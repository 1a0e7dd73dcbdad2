"""Stage 1, what changed: git (staged, base...head, pushed commits) or whole files -> ``ChangeSet``
of ``FileDiff``s. ``git.py`` is the only module that imports GitPython."""
