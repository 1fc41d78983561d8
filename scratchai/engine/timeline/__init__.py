"""Going back in time: checkpoints, replay, random-state capture, the history and its export."""
