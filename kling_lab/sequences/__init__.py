"""Sequences: ordered shots, one pick each, trimmed at 24 fps, played as a reel and exported for an editor.

- `model`: the cut as plain data (`Cut`, `CutShot`, `Marker`), shot and take codes, names, frame maths.
- `lineage`: what changed between a take and the take it came from, as one readable line.
- `cut`: a sequence's stored shots and picks resolved to a `Cut`, every rule that stops it a sentence.
"""
