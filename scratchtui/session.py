"""The session: the stepper the app drives and what goes with it; a reload (``R``) swaps it.

One object holds the current ``Stepper``, the ``Trainer`` whose job thread drives it, the model
file a reload re-imports, the seed it is built with and the lr the file set. ``rebuild`` runs in
the job thread (it imports the user's file); ``replace`` swaps the new stepper in on the UI
thread. Nothing else in the app keeps a stepper of its own: every key reads
``session.stepper`` when it is pressed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scratchai.engine import Stepper, reload_experiment_file
from scratchai.engine.timeline.randomness import capture_random, restore_random, seed_everything
from scratchai.engine.views import recording_registrations

from .training import Trainer
from .widgets.format import num


@dataclass(frozen=True)
class Rebuilt:
    """What a reload built: the new stepper, the lr its file set, and a note for the user."""

    stepper: Stepper
    file_lr: float
    note: str


class Session:
    """The stepper the app drives, and what goes with it.

    Args:
        stepper: the engine to drive.
        trainer: the job thread that drives it (``replace`` hands it the new one).
        experiment_file: the model file (``scratchtui run FILE``) that ``R`` reloads, else None.
        seed: the seed the model was built with; a reload seeds the same.
    """

    def __init__(
        self, stepper: Stepper, trainer: Trainer, experiment_file: Path | None, seed: int
    ) -> None:
        self.stepper = stepper
        self.trainer = trainer
        self.experiment_file = experiment_file
        self.seed = seed
        #: the lr the model file set (an lr the user set in the app survives a reload)
        self.file_lr = stepper.lr

    def rebuild(self) -> Rebuilt | BaseException:
        """Re-import the model file and build a stepper on it with the same settings,
        breakpoints and seed (the job thread: the user's file runs). An lr set in the app is
        kept; otherwise the file's (perhaps edited) lr counts. Returns what went wrong instead
        if the file does not build: the old stepper stays."""
        old, path = self.stepper, self.experiment_file
        if path is None:
            return ValueError("no model file to reload")
        app_lr = old.lr if old.lr != self.file_lr else None
        # the old stepper may stay: its run draws on from the generators as they are now
        running = capture_random()
        try:
            seed_everything(self.seed)
            with recording_registrations() as registrations:  # for the registry view (a)
                experiment = reload_experiment_file(path)
            registrations.keep(experiment.model, experiment.loss)
            file_lr, note = float(experiment.optimizer.lr), ""
            if app_lr is not None:
                experiment.optimizer.lr = app_lr
                note = f"; the lr set in the app ({num(app_lr)}) kept"
            stepper = Stepper(
                experiment, old.settings, old.breakpoints, checkpoint_names=old.checkpoint_names
            )
        except BaseException as error:  # the user's file: anything may come out of it
            restore_random(running)  # or a rewind would no longer replay what it showed
            return error
        return Rebuilt(stepper, file_lr, note)

    def replace(self, rebuilt: Rebuilt) -> Stepper:
        """Drive ``rebuilt.stepper`` from now on (no job runs); returns the old stepper, for
        the caller to close once nothing shows it."""
        old, self.stepper = self.stepper, rebuilt.stepper
        self.trainer.use(rebuilt.stepper)
        self.file_lr = rebuilt.file_lr
        return old
