"""The foundation every stage stands on: the values between stages, the settings of a run, and
the one exception tree. Imports nothing else of the package."""
