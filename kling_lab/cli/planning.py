"""`expand`, `estimate` and `validate`: a template and options turned into takes, prices and problems."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kling_lab.capabilities import CAPABILITIES
from kling_lab.cli.output import EXIT_INVALID, EXIT_OK, InvalidInput, Output, _money
from kling_lab.cli.running import _open
from kling_lab.config import Settings
from kling_lab.images import FrameRef, inspect_frame
from kling_lab.media import MediaStore
from kling_lab.request import GenerationRequest, find_problems, validate
from kling_lab.variations import expand, parse_sweep_values


def _read_frame(path: Path | None, what: str, media: MediaStore) -> tuple[FrameRef | None, list[str]]:
    if path is None:
        return None, []
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [f"{what} “{path}” could not be read ({exc.strerror or type(exc).__name__})."]
    result = inspect_frame(data, what)
    if result.ref is None:
        return None, list(result.errors)
    media.save_frame(result.ref, data)
    return result.ref, []


def _base_request(args: argparse.Namespace, prompt: str, media: MediaStore) -> GenerationRequest:
    start, start_errors = _read_frame(args.start_frame, "The start frame", media)
    end, end_errors = _read_frame(args.end_frame, "The end frame", media)
    if start_errors or end_errors:
        raise InvalidInput(start_errors + end_errors)
    provider = args.provider
    caps = CAPABILITIES.get(provider)
    mode = args.mode or (caps.modes[-1] if caps else "pro")
    return GenerationRequest(
        prompt=prompt,
        negative_prompt=args.negative_prompt,
        mode=mode,
        duration=args.duration,
        aspect_ratio=args.aspect_ratio,
        cfg_scale=args.cfg_scale,
        audio=args.audio,
        start_frame=start,
        end_frame=end,
        voice_ids=tuple(args.voice_ids),
        seed=args.seed,
    )


def _template_inputs(args: argparse.Namespace) -> tuple[dict[str, list[str]], dict[str, list[Any]]]:
    errors: list[str] = []
    variables: dict[str, list[str]] = {}
    for item in args.var:
        name, sep, values = item.partition("=")
        if not sep or not name.strip():
            errors.append(f"--var needs the form NAME=A|B, not “{item}”.")
            continue
        variables[name.strip()] = [v.strip() for v in values.split("|") if v.strip()]
    sweeps: dict[str, list[Any]] = {}
    for item in args.sweep:
        key, sep, values = item.partition("=")
        if not sep:
            errors.append(f"--sweep needs the form KEY=V1,V2, not “{item}”.")
            continue
        parsed, problems = parse_sweep_values(key.strip(), values)
        errors += problems
        sweeps[key.strip()] = parsed
    if errors:
        raise InvalidInput(errors)
    return variables, sweeps


def _plan(args: argparse.Namespace, settings: Settings, media: MediaStore,  # noqa: ANN202 - BatchPlan
          *, compare: bool = False):
    from kling_lab.batches import plan_batch
    from kling_lab.pricing import load_price_book

    if args.provider not in CAPABILITIES:
        raise InvalidInput([f"“{args.provider}” is not a provider; choose one of: {', '.join(CAPABILITIES)}."])
    variables, sweeps = _template_inputs(args)
    base = _base_request(args, "", media)
    book = load_price_book(settings.price_overrides_path)
    return plan_batch(args.template, base, args.provider, book, variables=variables, sweeps=sweeps, compare=compare)


def cmd_expand(args: argparse.Namespace, out: Output, settings: Settings) -> int:
    _, media = _open(settings)
    plan = _plan(args, settings, media)
    if plan.expansion.errors:
        raise InvalidInput(list(plan.expansion.errors))
    # Expand lists takes for any host, so host rules wait for estimate/generate; but a value no host
    # could take (duration 7, cfg_scale 3, aspect 4:3) is refused here already.
    impossible = [p.message for t in plan.takes for p in find_problems(t.variation.request, "animatic")
                  if p.field == "parameters"]
    if impossible:
        raise InvalidInput(list(dict.fromkeys(impossible)))
    variations = [{"prompt": t.variation.prompt, "label": t.variation.label, "params": t.variation.params}
                  for t in plan.takes]
    out.emit({"variations": variations}, "\n".join(f"{v['label']}\t{v['prompt']}" for v in variations))
    return EXIT_OK


def cmd_estimate(args: argparse.Namespace, out: Output, settings: Settings) -> int:
    from kling_lab.pricing import format_usd

    _, media = _open(settings)
    compare = getattr(args, "compare", False)
    plan = _plan(args, settings, media, compare=compare)
    if plan.errors:
        raise InvalidInput(plan.errors)
    items = [{"label": t.variation.label, "prompt": t.variation.prompt, "provider": t.variation.provider,
              "price": _money(t.price)} for t in plan.takes]
    document: dict[str, Any] = {"provider": args.provider, "currency": "USD", "items": items,
                                "total": _money(plan.total)}
    human = "\n".join(f"{format_usd(t.price)}\t{t.variation.label}" for t in plan.takes)
    human += f"\nTotal {format_usd(plan.total)}"
    if compare:
        # The same batch on every other host, as the app's cost badge shows it (`compare_batch`).
        others = [h for h in plan.comparison if h.provider != args.provider]
        document["compare"] = [{"provider": h.provider, "label": h.label, "total": _money(h.total),
                                "priced": h.priced, "clips": h.count, "status": h.status,
                                "as_of": h.as_of.isoformat() if h.as_of else None, "note": h.note}
                               for h in others]
        human += "\nSame batch elsewhere:\n" + "\n".join(
            f"{format_usd(h.total) if h.total is not None else 'n/a'}\t{h.label}" + (f"\t{h.note}" if h.note else "")
            for h in others)
    out.emit(document, human)
    return EXIT_OK


def cmd_validate(args: argparse.Namespace, out: Output, settings: Settings) -> int:
    _, media = _open(settings)
    request = _base_request(args, args.prompt, media)
    # The prompt is read as a template, as expand, estimate and generate read it: "{a|b" is refused here too.
    expansion = expand(args.prompt, request, args.provider)
    errors = list(expansion.errors) or list(dict.fromkeys(
        problem for variation in expansion.variations for problem in validate(variation.request, args.provider)))
    out.emit({"ok": not errors, "errors": errors}, "\n".join(errors) if errors else "OK")
    return EXIT_OK if not errors else EXIT_INVALID
