from collections.abc import Iterator

import pytest

import scratchai as sa
from scratchai.engine import Stepper, load_demo


@pytest.fixture
def make_stepper() -> Iterator:
    """Build a demo's stepper with a fixed seed (the CLI seeds the same way); every stepper
    made is closed when the test ends."""
    made: list[Stepper] = []

    def make(name: str = "mlp", **kwargs) -> Stepper:
        sa.manual_seed(0)
        made.append(Stepper(load_demo(name), **kwargs))
        return made[-1]

    yield make
    for stepper in made:
        stepper.close()
