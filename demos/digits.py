"""Real data: the 8x8 handwritten digits (1,797 images, 64 features), an MLP and Adam.

The data set ships inside scratchai (no download). Features are standardised with statistics
fitted on the training split only, so nothing leaks from validation.
"""

import scratchai as sa
from scratchai.datasets import load_digits
from scratchai.engine import Experiment


def build() -> Experiment:
    train, val = sa.train_val_split(load_digits(), val_fraction=0.2, seed=0, stratify=True)
    scaler = sa.Standardizer().fit(train.X)
    train = sa.ArrayDataset(scaler.transform(train.X), train.y, num_classes=10)
    val = sa.ArrayDataset(scaler.transform(val.X), val.y, num_classes=10)
    model = sa.Sequential(sa.Linear(64, 64), sa.ReLU(), sa.Linear(64, 10))
    return Experiment(
        model=model,
        loss=sa.CrossEntropyLoss(),
        optimizer=sa.Adam(model.parameters(), lr=1e-3),
        train_loader=sa.DataLoader(train, batch_size=32, shuffle=True),
        val_data=val,
        name="digits",
        description="8x8 handwritten digits (UCI, bundled), 64->64->10 MLP, Adam",
    )
