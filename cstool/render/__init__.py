"""Plan and drift -> text, markdown, json. Pure functions of values; nothing here prints.

Never imports cloud/, simulator/, cs, requests or typer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cstool.render import jsonfmt, markdown, text

PLAN_RENDERERS: dict[str, Callable[..., str]] = {
    "text": text.plan,
    "markdown": markdown.plan,
    "json": jsonfmt.plan,
}
DRIFT_RENDERERS: dict[str, Callable[..., str]] = {
    "text": text.drift,
    "markdown": markdown.drift,
    "json": jsonfmt.drift,
}
FORMATS = tuple(PLAN_RENDERERS)


def render_plan(fmt: str, plan: Any, target: str, color: bool = False, **markdown_opts: Any) -> str:
    """The plan in `fmt`. `markdown_opts` are the Markdown renderer's own (desired and live
    for its picture, max_chars, full_plan); the other formats have none and ignore them."""
    if fmt == "markdown":
        return markdown.plan(plan, target, color=color, **markdown_opts)
    return PLAN_RENDERERS[fmt](plan, target, color=color)


def render_drift(fmt: str, drift: Any, target: str, color: bool = False) -> str:
    return DRIFT_RENDERERS[fmt](drift, target, color=color)
