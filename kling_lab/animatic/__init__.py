"""The offline animatic: a free, honest draft MP4 rendered locally from the same request a paid host gets.

`plan_animatic(request)` reads the prompt (camera move, mood, dialogue,
ambience) without rendering; `render_animatic(request, path, ...)` renders
that plan to an H.264 MP4 in about a second. Nothing here imports Streamlit.
"""

from kling_lab.animatic.camera import CAMERA_MOVES, parse_camera
from kling_lab.animatic.dialogue import Subtitle
from kling_lab.animatic.plan import FPS, SIZES, AnimaticPlan, plan_animatic
from kling_lab.animatic.render import AnimaticRenderError, read_progress, render_animatic

__all__ = [
    "CAMERA_MOVES",
    "FPS",
    "SIZES",
    "AnimaticPlan",
    "AnimaticRenderError",
    "Subtitle",
    "parse_camera",
    "plan_animatic",
    "read_progress",
    "render_animatic",
]
