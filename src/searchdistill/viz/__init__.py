"""Episode GIFs and learning-curve plots."""

from searchdistill.viz.plot import plot_runs
from searchdistill.viz.render import play_episode, write_gif

__all__ = ["play_episode", "plot_runs", "write_gif"]
