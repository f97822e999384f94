"""Synthesized sound for the animatic: an ambience bed and a soft tone under each line of dialogue.

Nothing here pretends to be speech or a real recording. The point is that a
draft with audio on sounds different from one with audio off, that the
ambience matches the scene (rain hisses, the sea swells), and that dialogue
timing can be heard. Everything is numpy over whole buffers, seeded, so the
same request always gives the same samples.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from kling_lab.animatic.dialogue import Subtitle

SAMPLE_RATE = 48_000

_Gain = Callable[[np.ndarray], np.ndarray]


def _shaped_noise(rng: np.random.Generator, n: int, gain: _Gain) -> np.ndarray:
    # Filtering white noise in the frequency domain gives any spectrum in one FFT pair,
    # with no per-sample Python loop (an IIR filter in numpy would need one).
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    return np.fft.irfft(spectrum * gain(freqs), n)


def _band(center: float, octaves: float) -> _Gain:
    def gain(f: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            distance = np.log2(np.maximum(f, 1.0) / center) / octaves
        return np.exp(-0.5 * distance * distance)

    return gain


def _lowpass(cutoff: float, order: int = 2) -> _Gain:
    return lambda f: 1.0 / np.sqrt(1.0 + (f / cutoff) ** (2 * order))


def _rms(x: np.ndarray, target: float) -> np.ndarray:
    level = float(np.sqrt(np.mean(x * x))) if x.size else 0.0
    return x * (target / level) if level > 1e-12 else x


def _impulses(rng: np.random.Generator, n: int, per_second: float, heavy: bool = False) -> np.ndarray:
    count = max(1, int(per_second * n / SAMPLE_RATE))
    out = np.zeros(n)
    where = rng.integers(0, n, count)
    amp = rng.pareto(2.5, count) + 0.2 if heavy else rng.uniform(0.2, 1.0, count)
    np.add.at(out, where, amp * rng.choice((-1.0, 1.0), count))
    return out


def _convolve(signal: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    n = signal.size + kernel.size
    return np.fft.irfft(np.fft.rfft(signal, n) * np.fft.rfft(kernel, n), n)[: signal.size]


def _rain(rng: np.random.Generator, n: int, t: np.ndarray) -> np.ndarray:
    hiss = _rms(_shaped_noise(rng, n, _band(3500.0, 1.3)), 0.07)
    drops = _impulses(rng, n, 450.0)
    kernel = np.exp(-np.arange(240) / 40.0) * np.sin(np.arange(240) * 2 * np.pi * 3000 / SAMPLE_RATE)
    patter = _rms(_convolve(drops, kernel), 0.05)
    rumble = _rms(_shaped_noise(rng, n, _lowpass(180.0)), 0.035)
    return hiss + patter + rumble


def _wind(rng: np.random.Generator, n: int, t: np.ndarray) -> np.ndarray:
    low = _rms(_shaped_noise(rng, n, _band(320.0, 1.0)), 1.0)
    high = _rms(_shaped_noise(rng, n, _band(950.0, 0.8)), 1.0)
    phase = rng.uniform(0, 2 * np.pi, 3)
    # Two slow, unrelated LFOs: gusts swell and the whistle moves between bands.
    gust = 0.55 + 0.3 * np.sin(2 * np.pi * 0.17 * t + phase[0]) + 0.15 * np.sin(2 * np.pi * 0.41 * t + phase[1])
    mix = 0.5 + 0.5 * np.sin(2 * np.pi * 0.23 * t + phase[2])
    return _rms(gust * ((1 - mix) * low + mix * 0.6 * high), 0.08)


def _city(rng: np.random.Generator, n: int, t: np.ndarray) -> np.ndarray:
    hum = 0.02 * np.sin(2 * np.pi * 55 * t) + 0.012 * np.sin(2 * np.pi * 110 * t) + 0.006 * np.sin(2 * np.pi * 165 * t)
    rumble = _rms(_shaped_noise(rng, n, _lowpass(140.0, 3)), 0.05)
    traffic = _shaped_noise(rng, n, _band(650.0, 1.2))
    passes = np.zeros(n)
    duration = n / SAMPLE_RATE
    for centre in rng.uniform(-0.5, duration + 0.5, max(2, int(duration / 1.6))):
        passes += np.exp(-(((t - centre) / rng.uniform(0.6, 1.2)) ** 2))
    return hum + rumble + _rms(traffic * (0.25 + passes), 0.04)


def _room(rng: np.random.Generator, n: int, t: np.ndarray) -> np.ndarray:
    air = _rms(_shaped_noise(rng, n, _lowpass(260.0, 2)), 0.016)
    hiss = _rms(_shaped_noise(rng, n, _band(5000.0, 2.0)), 0.004)
    return air + hiss + 0.004 * np.sin(2 * np.pi * 50 * t)


def _sea(rng: np.random.Generator, n: int, t: np.ndarray) -> np.ndarray:
    period = rng.uniform(4.0, 5.5)
    phase = rng.uniform(0, 2 * np.pi)
    swell = (0.5 - 0.5 * np.cos(2 * np.pi * t / period + phase)) ** 1.5
    wash = _rms(_shaped_noise(rng, n, _band(900.0, 1.6)), 0.09) * (0.15 + 0.85 * swell)
    rumble = _rms(_shaped_noise(rng, n, _lowpass(120.0, 2)), 0.05) * (0.6 + 0.4 * swell)
    return wash + rumble


def _fire(rng: np.random.Generator, n: int, t: np.ndarray) -> np.ndarray:
    roar = _rms(_shaped_noise(rng, n, _lowpass(220.0, 2)), 0.045)
    kernel = rng.standard_normal(160) * np.exp(-np.arange(160) / 25.0)
    crackle = _convolve(_impulses(rng, n, 30.0, heavy=True), kernel)
    hiss = _shaped_noise(rng, n, _band(2500.0, 1.5))
    return roar + _rms(crackle, 0.05) + _rms(hiss, 0.012)


def _forest(rng: np.random.Generator, n: int, t: np.ndarray) -> np.ndarray:
    out = 0.5 * _wind(rng, n, t)
    duration = n / SAMPLE_RATE
    group = rng.uniform(0.1, 0.8)
    while group < duration:
        base = rng.uniform(2600.0, 4400.0)
        cursor = group
        for _ in range(int(rng.integers(2, 5))):
            length = rng.uniform(0.06, 0.13)
            start, stop = int(cursor * SAMPLE_RATE), min(n, int((cursor + length) * SAMPLE_RATE))
            if stop > start:
                local = np.arange(stop - start) / SAMPLE_RATE
                sweep = base + rng.uniform(-900.0, 900.0) * local / length
                envelope = np.sin(np.pi * local / length) ** 2
                out[start:stop] += 0.07 * envelope * np.sin(2 * np.pi * np.cumsum(sweep) / SAMPLE_RATE)
            cursor += length + rng.uniform(0.03, 0.09)
        group += rng.uniform(0.9, 1.8)
    return out


def _night(rng: np.random.Generator, n: int, t: np.ndarray) -> np.ndarray:
    out = _rms(_shaped_noise(rng, n, _lowpass(300.0, 2)), 0.015)
    for carrier, rate, offset in ((4600.0, 0.55, rng.uniform(0, 0.5)), (5150.0, 0.7, rng.uniform(0, 0.5))):
        # A cricket chirp is three quick pulses of one pitch, repeated.
        pulses = np.clip(np.sin(2 * np.pi * 30.0 * t), 0, None) ** 2
        chirp_gate = ((t + offset) % (1 / rate)) < 0.1
        out += 0.04 * pulses * chirp_gate * np.sin(2 * np.pi * carrier * t)
    return out


_AMBIENCE_SYNTHS: dict[str, Callable[[np.random.Generator, int, np.ndarray], np.ndarray]] = {
    "rain": _rain,
    "wind": _wind,
    "city": _city,
    "room": _room,
    "sea": _sea,
    "fire": _fire,
    "forest": _forest,
    "night": _night,
}


def _dialogue_bed(subtitles: Sequence[Subtitle], n: int, t: np.ndarray) -> np.ndarray:
    out = np.zeros(n)
    for index, line in enumerate(subtitles):
        start, stop = int(line.start * SAMPLE_RATE), min(n, int(line.end * SAMPLE_RATE))
        if stop <= start:
            continue
        local = t[start:stop] - line.start
        length = line.end - line.start
        attack = np.clip(local / 0.08, 0, 1)
        release = np.clip((length - local) / 0.15, 0, 1)
        envelope = np.sin(0.5 * np.pi * np.minimum(attack, release)) ** 2
        # A syllable-rate swell and a little vibrato make it read as "someone speaks here", not a test tone.
        syllables = 0.45 + 0.55 * np.sin(np.pi * 4.2 * local) ** 2
        pitch = 185.0 if index % 2 == 0 else 235.0
        phase = 2 * np.pi * pitch * (local + 0.004 * np.sin(2 * np.pi * 5.0 * local))
        tone = np.sin(phase) + 0.45 * np.sin(2 * phase) + 0.2 * np.sin(3 * phase)
        out[start:stop] += 0.09 * envelope * syllables * tone
    return out


def synthesize_audio(ambience: str, subtitles: Sequence[Subtitle], duration: float, seed: int) -> np.ndarray:
    """Mono float32 samples at `SAMPLE_RATE` for exactly `duration` seconds, peak below 0.9.

    The ambience bed (unknown names get room tone) plus a soft voiced tone
    under each subtitle's interval. Deterministic for the same arguments.
    """
    n = int(round(duration * SAMPLE_RATE))
    if n <= 0:
        return np.zeros(0, dtype=np.float32)
    names = sorted(_AMBIENCE_SYNTHS)
    synth = _AMBIENCE_SYNTHS.get(ambience, _room)
    rng = np.random.default_rng([seed & 0xFFFFFFFF, names.index(ambience) if ambience in names else 99])
    t = np.arange(n) / SAMPLE_RATE
    mix = synth(rng, n, t) + _dialogue_bed(subtitles, n, t)
    fade = int(0.04 * SAMPLE_RATE)
    ramp = np.linspace(0.0, 1.0, fade)
    mix[:fade] *= ramp
    mix[-fade:] *= ramp[::-1]
    peak = float(np.max(np.abs(mix)))
    if peak > 0.9:
        mix *= 0.9 / peak
    return mix.astype(np.float32)
