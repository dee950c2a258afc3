"""One Gradio page per module. Pages call `core` only; they never import torch, diffusers or cv2.

Each page module exposes `build(ctx, demo)`, which lays the page out inside the current Blocks or
route context; `app/web.py` assembles them into the multipage app.
"""
