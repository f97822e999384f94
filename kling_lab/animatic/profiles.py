"""Height profiles of the mood card's silhouette layers: hills, peaks, trees, buildings, waves and landmarks.

Each profile maps (angle at rest, time) to a height, as numpy over a whole row
of angles, so the scene evaluates a layer per frame without a Python loop.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Profile = Callable[[np.ndarray, float], np.ndarray]
"""(angle at rest in radians, time in s) -> height above the layer's ground, in radians at rest."""


def mix(a: tuple[float, float, float], b: tuple[float, float, float], k: float) -> np.ndarray:
    return np.array([a[i] * (1 - k) + b[i] * k for i in range(3)], dtype=np.float32)


def _hash01(k: np.ndarray, salt: int) -> np.ndarray:
    """A uniform 0..1 value per integer k, stable across runs and machines (integer arithmetic only)."""
    x = (k.astype(np.int64) * 2654435761 + salt * 97531 + 12345) & 0xFFFFFFFF
    x = ((x ^ (x >> 15)) * 2246822519) & 0xFFFFFFFF
    x = x ^ (x >> 13)
    return (x & 0xFFFFFF).astype(np.float64) / float(0x1000000)


def sines(rng: np.random.Generator, terms: tuple[tuple[float, float], ...]) -> Profile:
    phases = rng.uniform(0, 2 * np.pi, len(terms))

    def profile(a: np.ndarray, t: float) -> np.ndarray:
        h = np.zeros_like(a)
        for (freq, amp), phase in zip(terms, phases, strict=True):
            h += amp * (0.5 + 0.5 * np.sin(freq * a + phase))
        return h

    return profile


def peaks(rng: np.random.Generator, height: float, freq: float) -> Profile:
    phases = rng.uniform(0, 2 * np.pi, 3)

    def profile(a: np.ndarray, t: float) -> np.ndarray:
        ridge = 1.0 - np.abs(np.sin(freq * a + phases[0]))
        ridge2 = 1.0 - np.abs(np.sin(2.3 * freq * a + phases[1]))
        return height * (0.15 + 0.65 * ridge**1.6 + 0.25 * ridge2**2 + 0.05 * np.sin(9 * freq * a + phases[2]))

    return profile


def trees(salt: int, spacing: float, height: float, ground: Profile) -> Profile:
    def profile(a: np.ndarray, t: float) -> np.ndarray:
        base = ground(a, t)
        cell = np.floor(a / spacing)
        best = np.zeros_like(a)
        for step in (-1.0, 0.0, 1.0):
            k = cell + step
            centre = (k + 0.5 + 0.35 * (_hash01(k, salt) - 0.5)) * spacing
            tall = height * (0.55 + 0.9 * _hash01(k, salt + 1))
            half = spacing * (0.45 + 0.3 * _hash01(k, salt + 2))
            best = np.maximum(best, tall * (1.0 - np.abs(a - centre) / half))
        return base + best

    return profile


def buildings(salt: int, spacing: float, height: float) -> Profile:
    def profile(a: np.ndarray, t: float) -> np.ndarray:
        k = np.floor(a / spacing)
        tall = height * (0.3 + 0.7 * _hash01(k, salt) ** 1.5)
        # A narrow spire on a few rooftops breaks the block rhythm.
        frac = a / spacing - k
        spire = (_hash01(k, salt + 3) > 0.85) & (np.abs(frac - 0.5) < 0.06)
        return tall + spire * height * 0.35

    return profile


def waves(rng: np.random.Generator, amp: float, freq: float, speed: float) -> Profile:
    phases = rng.uniform(0, 2 * np.pi, 3)

    def profile(a: np.ndarray, t: float) -> np.ndarray:
        return amp * (
            1.0
            + 0.6 * np.sin(freq * a - speed * t + phases[0])
            + 0.3 * np.sin(2.7 * freq * a + 1.7 * speed * t + phases[1])
            + 0.1 * np.sin(6.1 * freq * a - 2.3 * speed * t + phases[2])
        )

    return profile


def with_landmark(base: Profile, kind: str, at: float) -> Profile:
    top = 0.17 if kind == "lighthouse" else 0.2
    half_top, half_base = (0.008, 0.014) if kind == "lighthouse" else (0.012, 0.02)

    def profile(a: np.ndarray, t: float) -> np.ndarray:
        h = base(a, t)
        d = np.abs(a - at)
        # A tapered tower is still a height profile: flat top, sloped sides down to the ground.
        slope = np.clip((half_base - d) / (half_base - half_top), 0.0, 1.0)
        ground = max(0.0, float(base(np.array([at]), t)[0]))
        return np.where(d < half_base, np.maximum(h, ground + top * slope), h)

    return profile


def headland(at: float, height: float) -> Profile:
    def profile(a: np.ndarray, t: float) -> np.ndarray:
        shape = np.exp(-(((a - at) / 0.22) ** 2)) * (1 + 0.08 * np.sin(40 * a))
        # Away from its peak the headland sinks below the nearer water, so only the point shows.
        return (height + 0.04) * shape - 0.04

    return profile
