"""What the keys do: small controllers the app owns, one per concern.

The bindings and the ``action_<name>`` methods are on the main screen and the app (the
``owner`` of each row of ``actions.ACTIONS``); each method calls into one of these. A
controller reads the app's session when a key is pressed, runs the user's code only through
``ScratchApp.start_job`` and shows what happened through the app's notice board and main
screen. None of them is a Textual object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .checks import CheckKeys
from .settings import SettingKeys
from .stepping import StepKeys
from .travel import TravelKeys

if TYPE_CHECKING:
    from ..app import ScratchApp

__all__ = ["CheckKeys", "Controls", "SettingKeys", "StepKeys", "TravelKeys"]


@dataclass(frozen=True)
class Controls:
    """The app's controllers."""

    steps: StepKeys
    travel: TravelKeys
    settings: SettingKeys
    checks: CheckKeys

    @classmethod
    def of(cls, app: ScratchApp) -> Controls:
        return cls(StepKeys(app), TravelKeys(app), SettingKeys(app), CheckKeys(app))
