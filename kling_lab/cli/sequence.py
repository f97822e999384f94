"""`kling-lab sequence new|add|pick|list|export`: sequences of shots through the same door as the app.

SEQ is a sequence's id ("s_…") or its unique name (any case); SHOT is its code
(SH010). A mistake is exit code 2 with a sentence, and nothing is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kling_lab.cli.output import EXIT_OK, InvalidInput, Output
from kling_lab.cli.running import _lab, _open
from kling_lab.config import Settings
from kling_lab.lab import Actor, Lab, NotAllowed, SequenceRecord, parse_shot_code


def find_sequence(lab: Lab, ref: str) -> SequenceRecord:
    """The sequence SEQ names (id or name), or InvalidInput saying there is none."""
    found = lab.sequence(Actor.cli(), ref)
    if found is None:
        raise InvalidInput([f"There is no sequence “{ref}”: `kling-lab sequence list` shows them."])
    return found


def _shot_json(lab: Lab, sequence: SequenceRecord) -> list[dict[str, Any]]:
    shots = lab.shots(Actor.cli(), sequence.id)
    return [{"id": s.id, "code": s.code, "name": s.name, "position": s.position, "pick": s.pick_job_id,
             "trim_in": s.trim_in, "trim_out": s.trim_out} for s in shots]


def cmd_sequence(args: argparse.Namespace, out: Output, settings: Settings) -> int:
    store, media = _open(settings)
    lab = _lab(store, media, settings)
    try:
        return _COMMANDS[args.sequence_command](lab, args, out)
    except (ValueError, NotAllowed) as exc:
        raise InvalidInput(str(exc).split("\n")) from exc


def _new(lab: Lab, args: argparse.Namespace, out: Output) -> int:
    made = lab.new_sequence(Actor.cli(), args.name, project=args.project)
    out.note(f"Sequence “{made.name}” made.")
    out.emit({"id": made.id, "name": made.name}, made.id)
    return EXIT_OK


def _add(lab: Lab, args: argparse.Namespace, out: Output) -> int:
    sequence = find_sequence(lab, args.sequence)
    parse_shot_code(args.shot)
    shot = lab.add_take(Actor.cli(), sequence.id, args.shot, args.take)
    take = next(t for t in lab.shot_takes(Actor.cli(), shot.id) if t.id == args.take)
    out.note(f"{args.take} is {shot.code} T{take.take_number:03d} in “{sequence.name}”.")
    out.emit({"sequence_id": sequence.id, "shot_id": shot.id, "shot": shot.code, "take": take.take_number,
              "pick": shot.pick_job_id}, f"{shot.code}\tT{take.take_number:03d}\t{args.take}")
    return EXIT_OK


def _pick(lab: Lab, args: argparse.Namespace, out: Output) -> int:
    sequence = find_sequence(lab, args.sequence)
    number = parse_shot_code(args.shot)
    shot = next((s for s in lab.shots(Actor.cli(), sequence.id) if s.number == number), None)
    if shot is None:
        raise InvalidInput([f"“{sequence.name}” has no shot SH{number:03d}."])
    picked = lab.pick_take(Actor.cli(), shot.id, args.job)
    out.note(f"{picked.code}'s pick is {args.job}.")
    out.emit({"sequence_id": sequence.id, "shot_id": picked.id, "shot": picked.code, "pick": picked.pick_job_id},
             f"{picked.code}\t{picked.pick_job_id}")
    return EXIT_OK


def _list(lab: Lab, args: argparse.Namespace, out: Output) -> int:
    sequences = lab.sequences(Actor.cli())
    document = {"sequences": [{"id": s.id, "name": s.name, "project": s.project, "updated_at": s.updated_at,
                               "shots": _shot_json(lab, s)} for s in sequences]}
    human = "\n".join(f"{s['id']}\t{s['name']}\t{len(s['shots'])} shot(s)" for s in document["sequences"])
    out.emit(document, human or "No sequences yet.")
    return EXIT_OK


def _export(lab: Lab, args: argparse.Namespace, out: Output) -> int:
    sequence = find_sequence(lab, args.sequence)
    path = lab.export_sequence(Actor.cli(), sequence.id, args.format, Path(args.out), slate=args.slate)
    out.note(f"Wrote “{sequence.name}” as {args.format} to {path}.")
    out.emit({"sequence_id": sequence.id, "format": args.format, "path": str(path)}, str(path))
    return EXIT_OK


_COMMANDS = {"new": _new, "add": _add, "pick": _pick, "list": _list, "export": _export}


def add_sequence_parser(sub: Any, parser_class: type[argparse.ArgumentParser]) -> list[argparse.ArgumentParser]:
    """`sequence` and its subcommands; returns the parsers that take --json."""
    p = sub.add_parser("sequence", help="sequences of shots: make, file takes, pick, list, export")
    ssub = p.add_subparsers(dest="sequence_command", required=True, parser_class=parser_class)
    new = ssub.add_parser("new", help="make an empty sequence")
    new.add_argument("name")
    new.add_argument("--project", default="", help="the project it belongs to (default: none)")
    add = ssub.add_parser("add", help="file an existing take under a shot (made when new)")
    add.add_argument("sequence", help="the sequence's id or name")
    add.add_argument("--shot", required=True, help="the shot's code, e.g. SH010")
    add.add_argument("--take", required=True, help="the take's job id (history list --json shows them)")
    pick = ssub.add_parser("pick", help="make a take the shot's pick")
    pick.add_argument("sequence", help="the sequence's id or name")
    pick.add_argument("shot", help="the shot's code, e.g. SH010")
    pick.add_argument("job", help="the take's job id")
    listed = ssub.add_parser("list", help="sequences, the most recently changed first, with their shots")
    export = ssub.add_parser("export", help="write the cut for an editor (or as a reel, or a zip with media)")
    export.add_argument("sequence", help="the sequence's id or name")
    export.add_argument("--format", required=True, choices=("otio", "fcp7xml", "fcpxml", "edl", "mp4", "zip"))
    export.add_argument("--out", required=True, type=Path)
    export.add_argument("--slate", action="store_true", help="burn a shot/take slate into the reel (mp4)")
    return [p, new, add, pick, listed, export]
