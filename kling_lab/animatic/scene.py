"""The mood card: a painted 2.5D landscape the virtual camera can move through.

The scene is a sky at infinity (gradient, sun or moon, stars) and three
silhouette layers at increasing nearness, each a height profile evaluated
per frame through the camera (so pans, zooms, dollies and cranes are exact,
sub-pixel, and near layers parallax against far ones), plus screen-space
weather (rain, snow, embers, fog). All per-frame work is numpy over rows,
columns or sparse particle lists; nothing is drawn pixel by pixel in Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from kling_lab.animatic.camera import FOCAL, Pose
from kling_lab.animatic.mood import Palette
from kling_lab.animatic.profiles import (
    Profile,
    buildings,
    headland,
    mix,
    peaks,
    sines,
    trees,
    waves,
    with_landmark,
)

CAMERA_HEIGHT = 0.3
"""World units above the ground: with the layer depths, it sets how far below the horizon each layer sits."""
SUBSAMPLES = (-0.25, 0.25)
"""Horizontal sub-pixel offsets at which silhouettes are sampled: anti-aliases their vertical edges."""


@dataclass(frozen=True)
class _Layer:
    depth: float
    color: np.ndarray
    profile: Profile


@dataclass(frozen=True)
class _Particles:
    """A sparse, tiling particle field: pixel rows, columns and opacity, moved each frame by whole pixels."""

    ys: np.ndarray
    xs: np.ndarray
    alpha: np.ndarray
    color: np.ndarray
    speed: float
    """Pixels per frame downwards (negative rises)."""
    sway: float
    additive: bool


class MoodCard:
    """Paints frames of the mood card for one plan. Construct once, call `frame` per frame.

    Precomputes palettes, profiles and particle fields; `frame(index, pose)`
    returns the planar float frame of the output size. Deterministic for the
    same constructor arguments.
    """

    def __init__(
        self,
        width: int,
        height: int,
        fps: int,
        palette: Palette,
        scenery: str,
        weather: str | None,
        landmark: str | None,
        seed: int,
        mood: str,
    ) -> None:
        self.width = width
        self.height = height
        self.fps = fps
        self.palette = palette
        self.mood = mood
        self.focal = FOCAL * max(width, height)
        self.horizon = 0.6 * height
        rng = np.random.default_rng([seed & 0xFFFFFFFF, 17])
        # Sun and landmark sit left or right of centre, but inside the frame even in portrait.
        half_view = 0.5 * width / self.focal
        self.light_azimuth = float(rng.choice((-1.0, 1.0)) * rng.uniform(0.35, 0.85) * half_view)
        # A high sun would sit behind the title: keep the light in the lower part of the sky.
        self.light_elevation = min(palette.light_elevation, (self.horizon - 0.3 * height) / self.focal)
        self.landmark = landmark
        self.landmark_at = -math.copysign(0.45 * half_view, self.light_azimuth)
        self.layers = self._build_layers(rng, scenery, landmark)
        self.stars = self._build_stars(rng) if palette.stars else None
        self.particles = self._build_particles(rng, weather)
        self.fog = self._build_fog(rng) if weather == "fog" or mood == "fog" else None
        self.flashes = tuple(rng.uniform(0.8, 4.0, 2)) if mood == "storm" else ()
        self.columns = np.arange(width, dtype=np.float64) + 0.5
        self.rows = np.arange(height, dtype=np.float64) + 0.5
        self.finish = self._build_finish()
        self._img = np.empty((3, height, width), dtype=np.float32)
        self._scratch = np.empty((3, height, width), dtype=np.float32)
        self._cover = np.empty((height, width), dtype=np.float32)
        self._cover2 = np.empty((height, width), dtype=np.float32)
        self._row_index = np.arange(height + 1, dtype=np.float32)[:, None]

    # --- construction -------------------------------------------------------------------------------------------

    def _build_layers(self, rng: np.random.Generator, scenery: str, landmark: str | None) -> list[_Layer]:
        p = self.palette
        far = mix(p.land_far, p.sky_horizon, 0.45)
        mid = mix(p.land_far, p.land_near, 0.45)
        near = np.array(p.land_near, dtype=np.float32)
        seed = int(rng.integers(0, 2**31))
        layers: list[_Layer]
        if scenery == "sea":
            water_far = mix(p.sky_horizon, p.land_far, 0.55) * 0.92
            water_mid = mix(p.land_far, p.land_near, 0.35)
            water_near = mix(p.land_far, p.land_near, 0.75)
            layers = [
                _Layer(60.0, water_far, waves(rng, 0.0008, 60.0, 0.6)),
                _Layer(4.0, water_mid, waves(rng, 0.006, 14.0, 1.1)),
                _Layer(2.0, water_near, waves(rng, 0.018, 7.0, 1.6)),
            ]
            if landmark:
                headland_profile = headland(self.landmark_at, 0.05)
                layers.insert(1, _Layer(5.0, mid * 0.8, headland_profile))
        elif scenery == "city":
            layers = [
                _Layer(9.0, far, buildings(seed, 0.05, 0.2)),
                _Layer(4.5, mid, buildings(seed + 7, 0.07, 0.14)),
                _Layer(2.0, near, sines(rng, ((5.0, 0.01), (13.0, 0.004)))),
            ]
        elif scenery == "trees":
            layers = [
                _Layer(9.0, far, sines(rng, ((3.0, 0.05), (7.0, 0.02)))),
                _Layer(4.0, mid, trees(seed, 0.03, 0.07, sines(rng, ((4.0, 0.03), (9.0, 0.01))))),
                _Layer(2.0, near, trees(seed + 5, 0.07, 0.16, sines(rng, ((3.0, 0.02),)))),
            ]
        elif scenery == "mountains":
            layers = [
                _Layer(12.0, far, peaks(rng, 0.26, 4.0)),
                _Layer(5.0, mid, peaks(rng, 0.12, 7.0)),
                _Layer(2.0, near, sines(rng, ((4.0, 0.03), (11.0, 0.01)))),
            ]
        elif scenery == "dunes":
            layers = [
                _Layer(9.0, far, sines(rng, ((2.5, 0.05), (6.0, 0.015)))),
                _Layer(4.0, mid, sines(rng, ((3.5, 0.06), (8.0, 0.015)))),
                _Layer(2.0, near, sines(rng, ((2.0, 0.05), (5.0, 0.02)))),
            ]
        else:
            layers = [
                _Layer(9.0, far, sines(rng, ((2.0, 0.07), (5.0, 0.03), (13.0, 0.008)))),
                _Layer(4.0, mid, sines(rng, ((3.0, 0.06), (8.0, 0.015)))),
                _Layer(2.0, near, sines(rng, ((2.5, 0.04), (6.0, 0.015)))),
            ]
        if landmark:
            # The landmark stands on the layer a subject would stand on: the headland at sea, else the mid hills.
            layer = layers[1]
            layers[1] = _Layer(layer.depth, layer.color, with_landmark(layer.profile, landmark, self.landmark_at))
        return layers

    def _build_stars(self, rng: np.random.Generator) -> np.ndarray:
        count = 260
        return np.stack([
            rng.uniform(-1.6, 1.6, count),  # azimuth
            rng.uniform(0.03, 1.2, count) ** 1.2,  # elevation, denser near the horizon
            rng.uniform(0.25, 1.0, count) ** 2,  # brightness
            rng.uniform(0, 2 * np.pi, count),  # twinkle phase
        ])

    def _build_particles(self, rng: np.random.Generator, weather: str | None) -> list[_Particles]:
        if weather == "rain":
            return [
                self._streaks(rng, 0.0009, (8, 16), 0.35, 13.0, mix(self.palette.particles, (1, 1, 1), 0.2)),
                self._streaks(rng, 0.0005, (16, 30), 0.55, 24.0, mix(self.palette.particles, (1, 1, 1), 0.4)),
            ]
        if weather == "snow":
            return [
                self._dots(rng, 0.0012, 1.0, 0.6, 1.1, 4.0, np.array((1.0, 1.0, 1.0), dtype=np.float32), False),
                self._dots(rng, 0.0005, 2.0, 0.9, 2.4, 9.0, np.array((1.0, 1.0, 1.0), dtype=np.float32), False),
            ]
        if weather == "embers":
            return [self._dots(rng, 0.0004, 1.2, 0.9, -1.6, 6.0, np.array((1.0, 0.55, 0.15), dtype=np.float32), True)]
        return []

    def _streaks(
        self, rng: np.random.Generator, density: float, length: tuple[int, int], opacity: float, speed: float,
        color: np.ndarray,
    ) -> _Particles:
        w, h = self.width, self.height
        layer = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(layer)
        for _ in range(int(density * w * h)):
            x, y = rng.uniform(0, w), rng.uniform(0, h)
            n = rng.uniform(*length)
            value = int(255 * opacity * rng.uniform(0.5, 1.0))
            for dy in (0, -h):  # drawn twice so streaks wrap across the seam of the tile
                draw.line((x, y + dy, x - 0.12 * n, y + dy + n), fill=value, width=1)
        return self._sparse(layer, color, speed, 0.0, False)

    def _dots(
        self, rng: np.random.Generator, density: float, radius: float, opacity: float, speed: float, sway: float,
        color: np.ndarray, additive: bool,
    ) -> _Particles:
        w, h = self.width, self.height
        layer = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(layer)
        for _ in range(int(density * w * h)):
            x, y = rng.uniform(0, w), rng.uniform(0, h)
            r = radius * rng.uniform(0.6, 1.4)
            value = int(255 * opacity * rng.uniform(0.5, 1.0))
            for dx in (0, -w, w):
                for dy in (0, -h, h):
                    draw.ellipse((x + dx - r, y + dy - r, x + dx + r, y + dy + r), fill=value)
        layer = layer.filter(ImageFilter.GaussianBlur(0.6))
        return self._sparse(layer, color, speed, sway, additive)

    @staticmethod
    def _sparse(layer: Image.Image, color: np.ndarray, speed: float, sway: float, additive: bool) -> _Particles:
        alpha = np.asarray(layer, dtype=np.float32) / 255.0
        ys, xs = np.nonzero(alpha > 0.02)
        return _Particles(ys, xs, alpha[ys, xs][None, :], color, speed, sway, additive)

    def _build_fog(self, rng: np.random.Generator) -> np.ndarray:
        w, h = self.width, self.height
        coarse = Image.fromarray((rng.uniform(0, 1, (max(2, h // 45), max(4, 2 * w // 45))) * 255).astype(np.uint8))
        field = np.asarray(coarse.resize((2 * w, h), Image.BICUBIC), dtype=np.float32) / 255.0
        rows = (np.arange(h, dtype=np.float32) - self.horizon) / (0.28 * h)
        band = np.exp(-rows * rows)[:, None]
        return np.clip((0.25 + 0.75 * field) * band * 0.6, 0, 0.8)

    def _build_finish(self) -> np.ndarray:
        # Vignette and colour grade in one multiplier, scaled to 0..255 so the last pass also converts.
        w, h = self.width, self.height
        y = (np.arange(h, dtype=np.float32) + 0.5) / h - 0.5
        x = (np.arange(w, dtype=np.float32) + 0.5) / w - 0.5
        r2 = (x[None, :] ** 2 + y[:, None] ** 2) * 2.0
        vignette = 1.0 - self.palette.vignette * np.clip(r2, 0, 1) ** 1.5
        grade = np.array(self.palette.grade, dtype=np.float32)
        return (grade[:, None, None] * vignette[None, :, :] * 255.0).astype(np.float32)

    # --- per frame ----------------------------------------------------------------------------------------------
    # Every full-frame operation writes into buffers allocated once: a fresh 640×360×3 float
    # temporary per operation costs more in page faults than the arithmetic itself.

    def frame(self, index: int, pose: Pose) -> np.ndarray:
        """Frame `index` seen from `pose`: planar RGB float32 (3 × height × width), 0..255, not clipped.

        The array is the painter's own buffer, valid until the next call: copy it to keep it.
        Planar because every operation then runs along contiguous rows (interleaved RGB makes
        numpy broadcast over a 3-element inner axis, many times slower).
        """
        t = index / self.fps
        f = self.focal * pose.zoom
        horizon = self.horizon + pose.tilt * f
        img = self._img
        self._sky(img, f, horizon)
        self._light(img, f, horizon, pose)
        if self.stars is not None:
            self._stars(img, f, horizon, pose, t)
        for layer in self.layers:
            self._silhouette(img, layer, f, horizon, pose, t)
        if self.landmark == "lighthouse":
            self._lamp(img, f, horizon, pose, t)
        if self.fog is not None:
            self._fog(img, index, pose, f)
        for particles in self.particles:
            self._particles(img, particles, index)
        for flash in self.flashes:
            strength = math.exp(-(((t - flash) / 0.06) ** 2)) + 0.5 * math.exp(-(((t - flash - 0.18) / 0.05) ** 2))
            if strength > 0.01:
                img += np.float32(0.45 * strength)
        img *= self.finish
        return img

    def _blend(self, region: np.ndarray, weight: np.ndarray, color: np.ndarray) -> None:
        """region += weight * (color - region), in place; region is 3 × rows × columns, weight rows × columns."""
        scratch = self._scratch[:, : region.shape[1], : region.shape[2]]
        np.subtract(color[:, None, None], region, out=scratch)
        scratch *= weight[None, :, :]
        region += scratch

    def _add(self, region: np.ndarray, weight: np.ndarray, color: np.ndarray) -> None:
        """region += weight * color, in place."""
        scratch = self._scratch[:, : region.shape[1], : region.shape[2]]
        np.multiply(weight[None, :, :], color[:, None, None], out=scratch)
        region += scratch

    def _sky(self, img: np.ndarray, f: float, horizon: float) -> None:
        p = self.palette
        elevation = (horizon - self.rows) / f
        k = np.clip(elevation / 0.55, 0.0, 1.0) ** 0.7
        top, low = np.array(p.sky_top, dtype=np.float64), np.array(p.sky_horizon, dtype=np.float64)
        rows = (low[None, :] * (1 - k[:, None]) + top[None, :] * k[:, None]).astype(np.float32)
        np.copyto(img, rows.T[:, :, None])

    def _glow(self, img: np.ndarray, cx: float, cy: float, rx: float, ry: float, color: np.ndarray) -> None:
        # A Gaussian halo is separable (one outer product), and beyond 2.6 radii it is below 1/255: skip it.
        x0, x1 = max(0, int(cx - 2.6 * rx)), min(self.width, int(cx + 2.6 * rx) + 1)
        y0, y1 = max(0, int(cy - 2.6 * ry)), min(self.height, int(cy + 2.6 * ry) + 1)
        if x1 <= x0 or y1 <= y0:
            return
        gx = np.exp(-(((self.columns[x0:x1] - cx) / rx) ** 2)).astype(np.float32)
        gy = np.exp(-(((self.rows[y0:y1] - cy) / ry) ** 2)).astype(np.float32)
        weight = np.outer(gy, gx, out=self._cover[: y1 - y0, : x1 - x0])
        self._add(img[:, y0:y1, x0:x1], weight, color)

    def _light(self, img: np.ndarray, f: float, horizon: float, pose: Pose) -> None:
        p = self.palette
        cx = self.width / 2 + (self.light_azimuth - pose.pan) * f
        cy = horizon - self.light_elevation * f
        color = np.array(p.light, dtype=np.float32)
        rx, ry = (0.45 * f, 0.14 * f) if self.light_elevation < 0.12 else (0.22 * f, 0.2 * f)
        self._glow(img, cx, cy, rx, ry, color * np.float32(0.55 * p.glow))
        radius = p.light_size * f
        if radius > 0.5:
            x0, x1 = max(0, int(cx - radius - 2)), min(self.width, int(cx + radius + 3))
            y0, y1 = max(0, int(cy - radius - 2)), min(self.height, int(cy + radius + 3))
            if x1 > x0 and y1 > y0:
                dx = self.columns[x0:x1][None, :] - cx
                dy = self.rows[y0:y1][:, None] - cy
                disc = np.clip(radius + 0.5 - np.sqrt(dx * dx + dy * dy), 0.0, 1.0).astype(np.float32)
                self._blend(img[:, y0:y1, x0:x1], disc, color)

    def _stars(self, img: np.ndarray, f: float, horizon: float, pose: Pose, t: float) -> None:
        assert self.stars is not None
        azimuth, elevation, brightness, phase = self.stars
        xs = np.floor(self.width / 2 + (azimuth - pose.pan) * f).astype(np.int64)
        ys = np.floor(horizon - elevation * f).astype(np.int64)
        keep = (xs >= 0) & (xs < self.width) & (ys >= 0) & (ys < self.height)
        twinkle = brightness * (0.7 + 0.3 * np.sin(2.3 * t + phase))
        xs, ys, twinkle = xs[keep], ys[keep], twinkle[keep].astype(np.float32)
        img[:, ys, xs] = np.maximum(img[:, ys, xs], twinkle[None, :] * np.float32(0.95))

    def _edges(self, layer: _Layer, f: float, horizon: float, pose: Pose, t: float) -> list[np.ndarray]:
        distance = max(layer.depth - pose.z, 0.05)
        scale = f / distance
        edges = []
        for offset in SUBSAMPLES:
            world_x = pose.x + (self.columns + offset - self.width / 2 + pose.pan * f) / scale
            height = layer.profile(world_x / layer.depth, t) * layer.depth
            edges.append((horizon - (height - (CAMERA_HEIGHT + pose.y)) * scale).astype(np.float32))
        return edges

    def _silhouette(self, img: np.ndarray, layer: _Layer, f: float, horizon: float, pose: Pose, t: float) -> None:
        edges = self._edges(layer, f, horizon, pose, t)
        top = int(max(0, min(self.height, math.floor(min(float(e.min()) for e in edges)))))
        bottom = int(max(0, min(self.height, math.ceil(max(float(e.max()) for e in edges)))))
        if bottom < self.height:
            img[:, bottom:] = layer.color[:, None, None]
        if bottom <= top:
            return
        # Coverage of each pixel in the edge band: the part of the pixel below the silhouette's
        # top edge, averaged over the sub-pixel samples.
        rows = self._row_index[top + 1: bottom + 1]
        cover = self._cover[: bottom - top]
        one = self._cover2[: bottom - top]
        cover.fill(0.0)
        for edge in edges:
            np.subtract(rows, edge[None, :], out=one)
            np.clip(one, 0.0, 1.0, out=one)
            cover += one
        cover *= np.float32(1.0 / len(edges))
        self._blend(img[:, top:bottom], cover, layer.color)

    def _lamp(self, img: np.ndarray, f: float, horizon: float, pose: Pose, t: float) -> None:
        layer = self.layers[1]
        distance = max(layer.depth - pose.z, 0.05)
        scale = f / distance
        world_x = self.landmark_at * layer.depth
        height = float(layer.profile(np.array([self.landmark_at]), t)[0]) * layer.depth
        cx = self.width / 2 + (world_x - pose.x) * scale - pose.pan * f
        cy = horizon - (height - (CAMERA_HEIGHT + pose.y)) * scale
        # The beam sweeps round every 3 s: a bright flash when it faces the camera, a glow otherwise.
        pulse = 0.35 + 0.65 * max(0.0, math.cos(2 * math.pi * t / 3.0)) ** 6
        radius = 0.03 * f * (0.6 + 0.4 * pulse)
        self._glow(img, cx, cy, radius, radius * 0.8, np.array((1.0, 0.93, 0.7), dtype=np.float32) * np.float32(pulse))

    def _fog(self, img: np.ndarray, index: int, pose: Pose, f: float) -> None:
        assert self.fog is not None
        # The texture is twice the frame's width; starting in its middle leaves room to drift either way.
        shift = int(round(self.width / 2 + 0.7 * index + 0.5 * pose.pan * f))
        shift = min(max(shift, 0), self.width)
        color = mix(self.palette.sky_horizon, (0.95, 0.95, 0.95), 0.3)
        self._blend(img, self.fog[:, shift: shift + self.width], color)

    def _particles(self, img: np.ndarray, field: _Particles, index: int) -> None:
        h, w = self.height, self.width
        ys = (field.ys + int(round(field.speed * index))) % h
        xs = field.xs
        if field.sway:
            xs = (xs + int(round(field.sway * math.sin(index / self.fps * 1.3)))) % w
        if field.additive:
            img[:, ys, xs] += field.alpha * field.color[:, None]
        else:
            pixels = img[:, ys, xs]
            img[:, ys, xs] = pixels + field.alpha * (field.color[:, None] - pixels)
