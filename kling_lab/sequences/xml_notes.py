"""What the XML adapters leave out, added to their output: every clip's prompt, host, cost and take id.

OTIO's `fcp_xml` adapter writes clips and markers but none of a clip's metadata, and `fcpx_xml` writes a 25 fps
format for every timeline and loose copies of each clip beside the project. These functions take the adapter's
text and the cut it was written from and return the XML an editor should get: FCP 7 clipitems with
`<logginginfo>` (scene = shot, shottake = take, description = prompt, lognote = host, cost and take id) and
`<comments>`; FCPXML clips with a `<note>` and a `<metadata>` block of `<md>` keys, on a 24 fps format of the
cut's frame size. Text is set as XML text, so markup a person typed stays inert.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from kling_lab.sequences.model import Cut, CutShot


def _sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
    child = ET.SubElement(parent, tag)
    child.text = text
    return child


def lognote(shot: CutShot) -> str:
    cost = f"${shot.cost}" if shot.cost else "cost unknown"
    status = f" · {shot.status}" if shot.status else ""
    return f"{shot.host} · {cost} · take {shot.job_id}{status}"


def _indent_text(root: ET.Element) -> str:
    ET.indent(root, space="    ")
    return ET.tostring(root, encoding="unicode")


def add_fcp7_notes(text: str, cut: Cut) -> str:
    """The FCP 7 XML with each video clipitem's logging info and comments (clipitems in cut order)."""
    root = ET.fromstring(text)  # noqa: S314 - the adapter's own output, never outside input
    tracks = root.findall(".//sequence/media/video/track")
    if not tracks:
        return text
    items = tracks[0].findall("clipitem")
    for item, shot in zip(items, cut.shots, strict=False):
        logging = ET.Element("logginginfo")
        _sub(logging, "description", shot.prompt)
        _sub(logging, "scene", shot.code)
        _sub(logging, "shottake", shot.take_code)
        _sub(logging, "lognote", lognote(shot))
        comments = ET.Element("comments")
        _sub(comments, "mastercomment1", shot.prompt)
        _sub(comments, "mastercomment2", shot.host)
        _sub(comments, "mastercomment3", shot.cost or "")
        _sub(comments, "mastercomment4", shot.job_id)
        name = item.find("name")
        place = list(item).index(name) + 1 if name is not None else len(item)
        item.insert(place, comments)
        item.insert(place, logging)
        for marker, source in zip(item.findall("marker"), shot.markers, strict=False):
            _sub(marker, "comment", source.text)
    return '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE xmeml>\n' + _indent_text(root) + "\n"


def add_fcpx_notes(text: str, cut: Cut) -> str:
    """The FCPXML on a 24 fps format of the cut's frame size, each spine clip with a note and metadata."""
    root = ET.fromstring(text)  # noqa: S314 - the adapter's own output, never outside input
    width = max((s.width for s in cut.shots), default=0) or 1280
    height = max((s.height for s in cut.shots), default=0) or 720
    for fmt in root.findall("./resources/format"):
        fmt.set("frameDuration", f"1/{cut.fps}s")
        fmt.set("width", str(width))
        fmt.set("height", str(height))
        fmt.set("name", f"FFVideoFormat{height}p{cut.fps}")
    for loose in root.findall("./asset-clip"):
        root.remove(loose)
    spine = root.find(".//sequence/spine")
    clips = [c for c in (spine if spine is not None else []) if c.tag in ("clip", "asset-clip")]
    for clip, shot in zip(clips, cut.shots, strict=False):
        first_marker = next((i for i, c in enumerate(clip) if c.tag == "marker"), len(clip))
        note = ET.Element("note")
        note.text = shot.prompt
        clip.insert(first_marker, note)
        metadata = ET.SubElement(clip, "metadata")
        for key, value in shot.metadata().items():
            ET.SubElement(metadata, "md", {"key": f"com.klinglab.{key}", "value": value})
        for marker, source in zip(clip.findall("marker"), shot.markers, strict=False):
            marker.set("note", source.text)
    return '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n' + _indent_text(root) + "\n"
