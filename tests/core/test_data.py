"""The data layer: dataset validation, standardizer, loader (incl. its restorable position),
split, and the bundled/synthetic data sets."""

import numpy as np
import pytest

import scratchai as sa
from scratchai.data import ArrayDataset, DataLoader, Standardizer, train_val_split
from scratchai.datasets import load_digits, make_clusters, make_spirals
from scratchai.random import get_rng_state, set_rng_state


def small(n=10, f=3, classes=3):
    X = np.arange(n * f, dtype=np.float64).reshape(n, f)
    y = np.arange(n) % classes
    return ArrayDataset(X, y, num_classes=classes)


# ---------------------------------------------------------------- ArrayDataset validation
def test_dataset_basics():
    ds = small()
    assert len(ds) == 10 and ds.num_features == 3 and ds.num_classes == 3
    assert ds.X.dtype == np.float32 and ds.y.dtype == np.int64
    xb, yb = ds[np.array([2, 5])]
    assert xb.shape == (2, 3) and yb.tolist() == [2, 2]
    x0, y0 = ds[0]
    assert x0.shape == (3,) and int(y0) == 0
    assert ArrayDataset(np.zeros((4, 2)), [0, 1, 2, 1]).num_classes == 3  # inferred max + 1
    assert ArrayDataset(np.zeros((2, 2)), [0, 1], dtype=np.float64).X.dtype == np.float64


def test_lengths_must_match_and_error_names_both():
    with pytest.raises(ValueError, match=r"X has 5 rows, y has 4 labels"):
        ArrayDataset(np.zeros((5, 2)), np.zeros(4, dtype=int))


@pytest.mark.parametrize(
    ("X", "fragment"),
    [
        (np.zeros(5), r"X must be 2-D \(n_samples, num_features\), got shape \(5,\)"),
        (np.zeros((2, 2, 2)), r"got shape \(2, 2, 2\)"),
    ],
)
def test_x_must_be_2d(X, fragment):
    with pytest.raises(ValueError, match=fragment):
        ArrayDataset(X, np.zeros(len(X), dtype=int))


def test_x_must_be_real_numbers():
    with pytest.raises(TypeError, match=r"real numbers.*<U1"):
        ArrayDataset(np.array([["a"], ["b"]]), [0, 1])
    with pytest.raises(TypeError, match="complex"):
        ArrayDataset(np.ones((2, 1), dtype=complex), [0, 1])


def test_non_finite_x_reports_count_and_first_row():
    X = np.zeros((6, 3))
    X[4, 1] = np.nan
    X[2, 2] = np.inf
    X[5, 0] = -np.inf
    with pytest.raises(ValueError, match=r"3 non-finite values.*first is in row 2, column 2"):
        ArrayDataset(X, np.zeros(6, dtype=int))


def test_float64_overflowing_float32_is_reported():
    X = np.array([[1.0], [1e300]])
    with pytest.raises(ValueError, match=r"1 non-finite value .*row 1"):
        ArrayDataset(X, [0, 1])


def test_labels_integral_floats_accepted_fractional_rejected():
    ds = ArrayDataset(np.zeros((3, 1)), np.array([0.0, 2.0, 1.0]))
    assert ds.y.dtype == np.int64 and ds.y.tolist() == [0, 2, 1]
    with pytest.raises(ValueError, match=r"2 non-integral value\(s\), the first at index 1"):
        ArrayDataset(np.zeros((3, 1)), np.array([0.0, 0.5, 1.5]), targets="labels")
    with pytest.raises(ValueError, match="non-finite value"):
        ArrayDataset(np.zeros((2, 1)), np.array([0.0, np.nan]))


def test_labels_wrong_kind_or_shape():
    with pytest.raises(TypeError, match="integer class indices, got dtype <U1"):
        ArrayDataset(np.zeros((2, 1)), np.array(["a", "b"]))
    with pytest.raises(TypeError, match="booleans"):
        ArrayDataset(np.zeros((2, 1)), np.array([True, False]))
    with pytest.raises(ValueError, match=r"y must be 1-D.*one-hot labels\? pass y.argmax"):
        ArrayDataset(np.zeros((2, 1)), np.eye(2, dtype=int))
    with pytest.raises(ValueError, match=r"column vector\? pass y.ravel"):
        ArrayDataset(np.zeros((2, 1)), np.zeros((2, 1), dtype=int))


def test_labels_out_of_range_name_value_and_index():
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\).*found label 7 at index 2"):
        ArrayDataset(np.zeros((4, 1)), [0, 1, 7, 2], num_classes=3)
    with pytest.raises(ValueError, match=r"found label -1 at index 3"):
        ArrayDataset(np.zeros((4, 1)), [0, 1, 2, -1])


def test_bad_num_classes_and_dtype():
    with pytest.raises(ValueError, match="num_classes must be >= 1"):
        ArrayDataset(np.zeros((1, 1)), [0], num_classes=0)
    with pytest.raises(TypeError, match="num_classes must be an int"):
        ArrayDataset(np.zeros((1, 1)), [0], num_classes=2.5)
    with pytest.raises(TypeError, match="floating dtype"):
        ArrayDataset(np.zeros((1, 1)), [0], dtype=np.int32)


# ---------------------------------------------------------------- Standardizer
def test_standardizer_fits_on_train_only():
    rng = np.random.default_rng(0)
    train = (rng.standard_normal((200, 4)) * [1, 2, 3, 4] + [10, -5, 0, 3]).astype(np.float32)
    val = train[:50] + 100.0  # a shifted split must NOT move the statistics
    scaler = Standardizer().fit(train)
    out_train = scaler.transform(train)
    np.testing.assert_allclose(out_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out_train.std(axis=0), 1, atol=1e-5)
    out_val = scaler.transform(val)
    assert (out_val.mean(axis=0) > 10).all()  # val standardised with train's mean/std
    np.testing.assert_allclose(scaler.mean_, train.astype(np.float64).mean(axis=0))
    np.testing.assert_allclose(scaler.inverse_transform(out_val), val, rtol=1e-5, atol=1e-4)


def test_standardizer_zero_variance_and_dtype():
    X = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]], dtype=np.float32)
    scaler = Standardizer()
    out = scaler.fit_transform(X)
    assert out.dtype == np.float32
    assert np.isfinite(out).all() and (out[:, 1] == 0).all()
    assert scaler.std_[1] == 1.0
    assert Standardizer().fit_transform(X.astype(np.float64)).dtype == np.float64
    assert Standardizer().fit_transform(np.arange(6).reshape(3, 2)).dtype == np.float32
    assert out.base is not X and X[0, 0] == 1.0  # input untouched


def test_standardizer_errors():
    with pytest.raises(RuntimeError, match="before fit: call fit"):
        Standardizer().transform(np.zeros((2, 2)))
    scaler = Standardizer().fit(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="fitted on 4 features but X has 3"):
        scaler.transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="must be 2-D"):
        scaler.transform(np.zeros(4))
    with pytest.raises(ValueError, match="no rows"):
        Standardizer().fit(np.zeros((0, 4)))
    with pytest.raises(ValueError, match="1 non-finite value"):
        Standardizer().fit(np.array([[0.0], [np.nan]]))


# ---------------------------------------------------------------- DataLoader
def test_loader_len_with_and_without_drop_last():
    ds = small(n=10)
    assert len(DataLoader(ds, batch_size=4)) == 3
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    assert len(DataLoader(ds, batch_size=5, drop_last=True)) == 2
    assert len(DataLoader(ds, batch_size=10)) == 1
    assert len(DataLoader(ds, batch_size=64)) == 1
    sizes = [len(yb) for _, yb in DataLoader(ds, batch_size=4)]
    assert sizes == [4, 4, 2]
    sizes = [len(yb) for _, yb in DataLoader(ds, batch_size=4, drop_last=True)]
    assert sizes == [4, 4]


def test_loader_validates_arguments():
    ds = small(n=10)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(TypeError, match="batch_size must be an int"):
        DataLoader(ds, batch_size=2.5)
    with pytest.raises(ValueError, match=r"batch_size=16 and only 10 samples gives zero batches"):
        DataLoader(ds, batch_size=16, drop_last=True)
    with pytest.raises(ValueError, match="empty"):
        DataLoader(ArrayDataset(np.zeros((0, 2)), np.zeros(0, dtype=int)))


@pytest.mark.parametrize("shuffle", [True, False])
def test_each_sample_once_per_epoch(shuffle):
    ds = small(n=23, f=2)
    loader = DataLoader(ds, batch_size=5, shuffle=shuffle, seed=1)
    for _ in range(2):
        rows = np.concatenate([xb[:, 0] for xb, _ in loader])
        assert sorted(rows.tolist()) == sorted(ds.X[:, 0].tolist())
    seen = []
    for _ in range(len(loader)):
        xb, _, epoch, _ = loader.next_batch()
        assert epoch == 0 and xb.shape[1] == 2 and xb.dtype == np.float32
        seen.append(xb[:, 0])
    assert sorted(np.concatenate(seen).tolist()) == sorted(ds.X[:, 0].tolist())
    _, _, epoch, b = loader.next_batch()
    assert (epoch, b) == (1, 0)


def test_batches_keep_x_and_y_paired():
    X = np.arange(20, dtype=np.float32).reshape(20, 1)
    ds = ArrayDataset(X, np.arange(20) % 7)
    for xb, yb in DataLoader(ds, batch_size=6, seed=0):
        assert (xb[:, 0].astype(int) % 7 == yb).all()


def test_next_batch_epochs_and_indices_and_new_permutation():
    loader = DataLoader(small(n=50), batch_size=16, drop_last=True, seed=3)
    got = [loader.next_batch()[2:] for _ in range(7)]
    assert got == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (2, 0)]
    loader = DataLoader(small(n=50), batch_size=50, seed=3)
    first = loader.next_batch()[0]
    second = loader.next_batch()[0]
    assert not np.array_equal(first, second)  # reshuffled at the epoch start


def test_unshuffled_order():
    loader = DataLoader(small(n=7, f=1), batch_size=3, shuffle=False)
    assert [yb.tolist() for _, yb in loader] == [[0, 1, 2], [0, 1, 2], [0]]
    assert loader.next_batch()[0][:, 0].tolist() == [0, 1, 2]


def test_manual_seed_makes_shuffle_reproducible():
    ds = small(n=40)

    def run():
        loader = DataLoader(ds, batch_size=8)  # no seed: the library generator
        return [loader.next_batch()[1].tolist() for _ in range(12)]

    sa.manual_seed(123)
    a = run()
    sa.manual_seed(123)
    b = run()
    sa.manual_seed(124)
    c = run()
    assert a == b and a != c


def test_own_seed_is_independent_of_library_generator():
    ds = small(n=40)
    sa.manual_seed(0)
    a = [yb.tolist() for _, yb in DataLoader(ds, batch_size=8, seed=7)]
    sa.manual_seed(99)
    b = [yb.tolist() for _, yb in DataLoader(ds, batch_size=8, seed=7)]
    assert a == b


@pytest.mark.parametrize("seed", [None, 5])
def test_state_dict_restores_exact_next_batches(seed):
    ds = small(n=37, f=2, classes=5)
    sa.manual_seed(11)
    loader = DataLoader(ds, batch_size=8, seed=seed)  # 5 batches per epoch
    for _ in range(3):  # mid-epoch 0
        loader.next_batch()
    state = loader.state_dict()
    rng_state = get_rng_state()
    assert state["epoch"] == 0 and state["batch"] == 3 and state["perm"].shape == (37,)
    assert (state["rng"] is None) == (seed is None)
    expected = [loader.next_batch() for _ in range(9)]  # crosses two epoch boundaries

    other = DataLoader(ds, batch_size=8, seed=seed)
    sa.manual_seed(999)  # disturb the library generator, then restore it as rewind does
    for _ in range(4):
        other.next_batch()
    fresh = DataLoader(ds, batch_size=8, seed=seed)
    fresh.load_state_dict(state)
    set_rng_state(rng_state)
    replay = [fresh.next_batch() for _ in range(9)]
    for (xa, ya, ea, ba), (xb, yb, eb, bb) in zip(expected, replay, strict=True):
        assert (ea, ba) == (eb, bb)
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_state_dict_is_a_copy_and_rewind_in_place():
    ds = small(n=30, f=2)
    loader = DataLoader(ds, batch_size=7, seed=2)
    loader.next_batch()
    loader.next_batch()
    state = loader.state_dict()
    saved_perm = state["perm"].copy()
    expected = [loader.next_batch()[0] for _ in range(8)]
    np.testing.assert_array_equal(state["perm"], saved_perm)  # not aliased to the live perm
    loader.load_state_dict(state)
    state["perm"][:] = 0  # the loader copied it on load too
    replay = [loader.next_batch()[0] for _ in range(8)]
    for a, b in zip(expected, replay, strict=True):
        np.testing.assert_array_equal(a, b)


def test_state_dict_before_first_batch_and_at_epoch_end():
    ds = small(n=12)
    loader = DataLoader(ds, batch_size=4, seed=0)
    start = loader.state_dict()
    assert start == {"epoch": 0, "batch": 0, "perm": None, "rng": start["rng"]}
    first = [loader.next_batch()[1].tolist() for _ in range(3)]
    end = loader.state_dict()
    assert end["batch"] == 3
    after = [loader.next_batch()[1].tolist() for _ in range(3)]
    loader.load_state_dict(start)
    assert [loader.next_batch()[1].tolist() for _ in range(3)] == first
    loader.load_state_dict(end)
    assert [loader.next_batch()[1].tolist() for _ in range(3)] == after


def test_load_state_dict_validates():
    loader = DataLoader(small(n=12), batch_size=4, seed=0)
    good = loader.state_dict()
    with pytest.raises(KeyError, match=r"missing keys \['perm'\]"):
        loader.load_state_dict({k: v for k, v in good.items() if k != "perm"})
    with pytest.raises(ValueError, match="out of range"):
        loader.load_state_dict({**good, "batch": 4 + 1})
    with pytest.raises(ValueError, match=r"perm must be an int array of shape \(12,\)"):
        loader.load_state_dict({**good, "perm": np.arange(5)})
    with pytest.raises(ValueError, match="has its own seed"):
        loader.load_state_dict({**good, "rng": None})
    unseeded = DataLoader(small(n=12), batch_size=4)
    with pytest.raises(ValueError, match="uses the library generator"):
        unseeded.load_state_dict(good)


def test_iter_does_not_move_next_batch_position():
    loader = DataLoader(small(n=12), batch_size=4, seed=0)
    loader.next_batch()
    before = loader.state_dict()
    list(loader)
    after = loader.state_dict()
    assert (before["epoch"], before["batch"]) == (after["epoch"], after["batch"])
    np.testing.assert_array_equal(before["perm"], after["perm"])


# ---------------------------------------------------------------- train_val_split
def test_split_sizes_disjoint_and_complete():
    ds = make_clusters(n_samples=203, num_features=4, num_classes=3, seed=0)
    train, val = train_val_split(ds, val_fraction=0.2, seed=0)
    assert (len(train), len(val)) == (162, 41)
    assert train.num_classes == val.num_classes == 3 and train.X.dtype == np.float32
    rows = {tuple(r) for r in np.concatenate([train.X, val.X])}
    assert len(rows) == 203 and rows == {tuple(r) for r in ds.X}
    assert not {tuple(r) for r in train.X} & {tuple(r) for r in val.X}
    again = train_val_split(ds, val_fraction=0.2, seed=0)[1]
    np.testing.assert_array_equal(again.X, val.X)
    other = train_val_split(ds, val_fraction=0.2, seed=1)[1]
    assert not np.array_equal(other.X, val.X)


def test_stratified_split_keeps_proportions():
    y = np.array([0] * 60 + [1] * 30 + [2] * 10)
    ds = ArrayDataset(np.arange(100, dtype=np.float32).reshape(100, 1), y)
    train, val = train_val_split(ds, val_fraction=0.2, seed=0, stratify=True)
    assert np.bincount(val.y).tolist() == [12, 6, 2]
    assert np.bincount(train.y).tolist() == [48, 24, 8]
    assert not set(train.X[:, 0]) & set(val.X[:, 0])
    # uneven class counts still give exactly round(n * fraction) validation samples
    ds = ArrayDataset(np.zeros((17, 1)), [0] * 7 + [1] * 5 + [2] * 5)
    _, val = train_val_split(ds, val_fraction=0.3, stratify=True)
    assert len(val) == 5


def test_split_errors():
    ds = small(n=4)
    with pytest.raises(ValueError, match=r"val_fraction must be in \(0, 1\), got 1.0"):
        train_val_split(ds, val_fraction=1.0)
    with pytest.raises(ValueError, match="gives 0 validation and 4 training samples"):
        train_val_split(ds, val_fraction=0.1)


# ---------------------------------------------------------------- data sets
def test_digits_bundled():
    ds = load_digits()
    assert ds.X.shape == (1797, 64) and ds.y.shape == (1797,)
    assert ds.X.dtype == np.float32 and ds.y.dtype == np.int64
    assert ds.num_classes == 10 and set(ds.y.tolist()) == set(range(10))
    assert ds.X.min() == 0 and ds.X.max() == 16
    assert np.array_equal(ds.X, np.round(ds.X))
    ds.X[0, 0] = 99  # a fresh copy each call: the cached table is not changed
    assert load_digits().X[0, 0] == 0


def test_clusters_shapes_dtypes_and_determinism():
    ds = make_clusters()
    assert ds.X.shape == (2000, 128) and ds.X.dtype == np.float32
    assert ds.y.shape == (2000,) and ds.y.dtype == np.int64 and ds.num_classes == 10
    assert np.bincount(ds.y).tolist() == [200] * 10
    assert 0.7 < float(ds.X.std()) < 1.3  # roughly unit scale
    np.testing.assert_array_equal(make_clusters(seed=0).X, ds.X)
    assert not np.array_equal(make_clusters(seed=1).X, ds.X)
    small_ds = make_clusters(n_samples=50, num_features=8, num_classes=3, seed=0)
    assert small_ds.X.shape == (50, 8) and small_ds.num_classes == 3


def test_clusters_are_learnable_by_the_lessons_mlp():
    sa.manual_seed(0)
    train = make_clusters(seed=0)
    model = sa.Sequential(sa.Linear(128, 64), sa.ReLU(), sa.Linear(64, 10))
    loss = sa.CrossEntropyLoss()
    loader = DataLoader(train, batch_size=32)
    lr = 0.1
    first = None
    for _ in range(300):
        xb, yb, _, _ = loader.next_batch()
        for p in model.parameters():
            p.zero_grad()
        value = float(loss(model(xb), yb))
        first = value if first is None else first
        model.backward(loss.backward())
        for p in model.parameters():
            p.data -= lr * p.grad
    with sa.no_grad():
        acc = float((model(train.X).argmax(axis=1) == train.y).mean())
    assert abs(first - np.log(10)) < 0.5  # starts near chance: not trivial
    assert acc >= 0.95


def test_spirals_shapes_and_dtypes():
    ds = make_spirals()
    assert ds.X.shape == (300, 2) and ds.X.dtype == np.float32
    assert ds.y.tolist() == [0] * 100 + [1] * 100 + [2] * 100 and ds.num_classes == 3
    radius = np.linalg.norm(ds.X, axis=1)
    assert radius.max() <= 1.0 + 1e-6
    assert make_spirals(n_per_class=20, num_classes=5).X.shape == (100, 2)


def test_real_valued_targets_for_a_regression_or_an_autoencoder():
    X = np.arange(12, dtype=np.float64).reshape(4, 3)
    auto = ArrayDataset(X, X)  # an autoencoder's targets: its inputs
    assert auto.targets == "values" and auto.y.shape == (4, 3) and auto.y.dtype == np.float32
    fractional = ArrayDataset(X, [0.5, 1.0, 1.5, 2.0])
    assert fractional.targets == "values" and fractional.y.dtype == np.float32
    labels = ArrayDataset(X, [0, 1, 1, 0])
    assert labels.targets == "labels" and labels.num_classes == 2
    with pytest.raises(ValueError, match="num_classes applies to class labels"):
        ArrayDataset(X, X, num_classes=3)
    with pytest.raises(ValueError, match=r"1 non-finite value"):
        ArrayDataset(X, np.array([[0.5], [np.inf], [1.0], [2.0]]), targets="values")
    train, val = train_val_split(auto, val_fraction=0.5, seed=0)
    assert train.targets == val.targets == "values" and val.y.shape == (2, 3)
