"""The timeline drawn with matplotlib: one lane per worker with its phases, the merge queue's
lane with a diamond per landing. `timeline_svg` gives inline SVG for the HTML report (its ink
is a CSS variable, so the page's theme shows through), `timeline_png` an image for docs.

In the SVG each lane is a group `lane-<worker>` (the queue's is `lane-merge-queue`), its bars
of one kind `bars-<worker>-<kind>`, and each landing a group `landing-<task id>`: the report's
tests and any tool can find them.

matplotlib is imported here only, and this module only when a report is made (cli, the
server's report request import it lazily), so nothing else pays for its import.
May import: core, matplotlib. Must not import: lsp, engine, adapters.
"""

from __future__ import annotations

import io
import re

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from oompa_lsp.core.timeline import PHASE_LABELS, Phase, Timeline

# Mid-tone colours that read on light and dark backgrounds alike.
PHASE_COLORS: dict[str, str] = {
    "turn": "#4e79a7",
    "checks": "#f28e2b",
    "review_wait": "#bab0ac",
    "review": "#59a14f",
    "queue_wait": "#edc948",
    "resolving": "#e15759",
    "merging": "#9c755f",
    "merge_checks": "#76b7b2",
    "landing": "#b07aa1",
}
QUEUE_LANE = "merge queue"
# An ink no one picks, swapped for the page's CSS variable in the SVG.
_INK_SENTINEL = "#010203"
_PNG_INK = "#222222"


def timeline_svg(timeline: Timeline) -> str:
    """The timeline as an <svg> element whose text and axes take the page's `--ink` colour."""
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "oompa"}):
        figure = draw(timeline, ink=_INK_SENTINEL, transparent=True)
        out = io.StringIO()
        figure.savefig(out, format="svg", bbox_inches="tight")
    svg = out.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML prolog and doctype: it goes inline in HTML
    return re.sub(_INK_SENTINEL, "var(--ink)", svg, flags=re.IGNORECASE)


def timeline_png(timeline: Timeline, dpi: int = 110) -> bytes:
    figure = draw(timeline, ink=_PNG_INK, transparent=False)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=dpi, bbox_inches="tight")
    return out.getvalue()


def draw(timeline: Timeline, ink: str, transparent: bool) -> Figure:
    lanes = [lane.worker for lane in timeline.lanes] + [QUEUE_LANE]
    figure = Figure(figsize=(11, 1.6 + 0.55 * len(lanes)), layout="constrained")
    ax = figure.add_subplot()
    scale, unit = _time_unit(timeline.wall_s)
    for row, lane in enumerate(timeline.lanes):
        _draw_lane(ax, row, lane.worker, lane.phases, timeline.started_at, scale)
    queue_row = len(timeline.lanes)
    _draw_lane(ax, queue_row, "merge-queue", timeline.queue, timeline.started_at, scale)
    for index, landing in enumerate(timeline.landings):
        x = (landing.at - timeline.started_at) / scale
        (mark,) = ax.plot([x], [queue_row], marker="D", markersize=9, color=ink, linestyle="none")
        mark.set_gid(f"landing-{landing.task_id}")
        # labels alternate above and below the lane, so neighbouring landings stay readable
        offset, valign = ((0, 8), "bottom") if index % 2 == 0 else ((0, -8), "top")
        ax.annotate(landing.task_id, (x, queue_row), xytext=offset, textcoords="offset points",
                    ha="center", va=valign, fontsize=7, color=ink)  # fmt: skip
    _style(ax, lanes, ink, unit, max(timeline.wall_s / scale, 1e-6))
    title = f"run {timeline.run_id} on {timeline.target}: {len(timeline.landings)} landing(s)"
    ax.set_title(title, loc="left", fontsize=9, color=ink)
    _legend(figure, ink)
    if transparent:
        figure.patch.set_alpha(0.0)
        ax.set_facecolor("none")
    return figure


def _draw_lane(ax: Axes, row: int, name: str, phases: list[Phase], origin: float, scale: float) -> None:
    band = ax.axhspan(row - 0.45, row + 0.45, color="#888888", alpha=0.08, linewidth=0)
    band.set_gid(f"lane-{name}")
    for kind in PHASE_COLORS:
        spans = [((p.start - origin) / scale, p.duration / scale) for p in phases if p.kind == kind]
        if spans:
            bars = ax.broken_barh(spans, (row - 0.32, 0.64), facecolors=PHASE_COLORS[kind], linewidth=0)
            bars.set_gid(f"bars-{name}-{kind}")


def _style(ax: Axes, lanes: list[str], ink: str, unit: str, right: float) -> None:
    ax.set_yticks(range(len(lanes)), lanes)
    ax.set_ylim(len(lanes) - 0.5, -0.5)  # first worker on top, the queue at the bottom
    ax.set_xlim(0, right * 1.02)
    ax.set_xlabel(f"time since the run started ({unit})", color=ink)
    ax.tick_params(colors=ink, which="both")
    ax.grid(axis="x", color="#888888", alpha=0.25, linewidth=0.6)
    ax.set_axisbelow(True)
    for name, spine in ax.spines.items():
        spine.set_color(ink)
        spine.set_visible(name in ("bottom", "left"))


def _legend(figure: Figure, ink: str) -> None:
    shown = list(PHASE_COLORS)
    handles = [Patch(facecolor=PHASE_COLORS[k], label=PHASE_LABELS[k]) for k in shown]
    legend = figure.legend(
        handles=handles, loc="outside lower center", ncol=5, fontsize=8, frameon=False, labelcolor=ink
    )
    legend.set_gid("legend")


def _time_unit(wall_s: float) -> tuple[float, str]:
    """Seconds for a short run, minutes past ten of them, hours past three."""
    if wall_s > 3 * 3600:
        return 3600.0, "h"
    if wall_s > 600:
        return 60.0, "min"
    return 1.0, "s"
