"""utils.by_reference: a site's rows written as float32 files, read back in Python and, by a TFF computation
running on the site's own worker, from that worker's folder; ids cost a few bytes, rows many."""
import numpy as np
import pytest

from utils import by_reference


@pytest.fixture
def clients():
    rng = np.random.default_rng(9)
    return {name: (rng.normal(size=(n, 3)), rng.integers(0, 2, n).astype(float)) for name, n in
            [("a", 7), ("b", 12), ("c", 5)]}


def test_rows_round_trip_as_float32(tmp_path, clients):
    X, y = clients["a"]
    path = by_reference.write_client_rows(tmp_path, "a", X, y)
    assert path == tmp_path / "data" / "a.f32" and path.stat().st_size == X.size * 4 + y.size * 4
    X_back, y_back = by_reference.read_client_rows(path, 3)
    assert np.array_equal(X_back, X.astype(np.float32)) and np.array_equal(y_back, y.astype(np.float32))


def test_a_file_of_partial_rows_is_refused(tmp_path):
    path = tmp_path / "odd.f32"
    np.arange(10, dtype=np.float32).tofile(path)
    with pytest.raises(ValueError, match="not whole rows of 3 features"):
        by_reference.read_client_rows(path, 3)


def test_each_site_folder_holds_only_its_own_clients(tmp_path, clients):
    folders = by_reference.prepare_sites(clients, tmp_path, sites={"north": ["a", "c"], "south": ["b"]})
    assert {s: sorted(p.name for p in (f / "data").iterdir()) for s, f in folders.items()} == \
        {"north": ["a.f32", "c.f32"], "south": ["b.f32"]}
    default = by_reference.prepare_sites(clients, tmp_path / "one-each")
    assert {s: sorted(p.name for p in (f / "data").iterdir()) for s, f in default.items()} == \
        {"a": ["a.f32"], "b": ["b.f32"], "c": ["c.f32"]}


def test_an_id_costs_bytes_a_dataset_costs_its_rows(clients):
    from utils.tff_learning import client_datasets

    X, y = clients["b"]
    dataset = client_datasets({"b": (X, y)}, 4)[0]
    by_id, by_value = by_reference.payload_bytes("b"), by_reference.payload_bytes(dataset)
    assert by_id < 40
    assert by_value > X.size * 4 + y.size * 4  # at least the float32 rows themselves


def test_the_worker_reads_its_own_folder(tmp_path, clients):
    import tensorflow_federated as tff

    from utils.tff_workers import WorkerPool, connect

    folders = by_reference.prepare_sites(clients, tmp_path)
    read = by_reference.dataset_by_reference(3, 4)
    with WorkerPool([folders["b"], folders["a"]]) as pool:
        for i, name in enumerate(["b", "a"]):
            remote = connect(pool.addresses[i])
            try:
                with tff.framework.get_context_stack().install(remote.context):
                    batches = list(read(name))
                    with pytest.raises(Exception, match="a.f32|No such file|NOT_FOUND"):
                        read("a" if name == "b" else "b")  # the other site's file is not in this worker's folder
            finally:
                remote.close()
            X, y = clients[name]
            assert [len(b[1]) for b in batches] == [len(y[s:s + 4]) for s in range(0, len(y), 4)]
            assert np.array_equal(np.concatenate([np.asarray(b[0]) for b in batches]), X.astype(np.float32))
            assert np.array_equal(np.concatenate([np.asarray(b[1]) for b in batches]), y.astype(np.float32))
