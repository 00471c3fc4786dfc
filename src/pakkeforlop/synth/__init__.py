"""Synthetic registry extracts that look like the real thing.

Real extracts cannot leave secure environments, so the project is developed and tested on these.
See domain/codes.md, domain/extract-and-timeline.md and domain/indicators.md §5 for what the
generator imitates.
"""
