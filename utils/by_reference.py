"""Data by reference: each site keeps its rows in its own folder, the driver sends only client ids, and
a TFF computation running on the site's worker turns an id into a dataset. Introduced in chapter 09.

A site's folder holds ``data/<client id>.f32``: the client's training rows as float32, row after row,
the features then the label (``n_features + 1`` numbers per row). float32 is what TFF trains on, so
the rows read back are bit for bit those a single-process run feeds TFF from memory.

``dataset_by_reference`` reads the file with a *relative* path, so it opens the file of whichever
worker runs it (its working directory is its site's folder, see ``utils.tff_workers.WorkerPool``);
``tff.simulation.compose_dataset_computation_with_learning_process`` puts it in front of a learning
process, whose ``next`` then takes ``{str}@CLIENTS`` (ids) instead of datasets.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from utils import validate as v
from utils.download import write_atomically

__all__ = ["client_file", "write_client_rows", "read_client_rows", "prepare_sites", "dataset_by_reference",
           "payload_bytes"]

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _client_id(client_id) -> str:
    client_id = v.text("client_id", client_id)
    if not _ID.match(client_id):
        raise ValueError(f"client_id must be 1-64 letters, digits, '_' or '-' (it names a file), got {client_id!r}")
    return client_id


def client_file(folder, client_id) -> Path:
    """Where a site keeps a client's rows: ``folder/data/<client_id>.f32``."""
    return v.path("folder", folder) / "data" / f"{_client_id(client_id)}.f32"


def write_client_rows(folder, client_id, X, y) -> Path:
    """Store one client's rows (features ``X``, labels ``y``) in the site ``folder``; returns the file."""
    path = client_file(folder, client_id)
    X, y = v.xy(X, y, f"client {client_id!r}")
    rows = np.hstack([X, y.reshape(-1, 1)]).astype(np.float32)
    write_atomically(path, rows.tobytes())
    return path


def read_client_rows(path, n_features: int):
    """The (X, y) stored in ``path`` by ``write_client_rows`` (float32), for checks in Python."""
    path = v.path("path", path)
    n_features = v.integer("n_features", n_features, 1, 100_000)
    flat = np.fromfile(path, dtype=np.float32)
    if flat.size % (n_features + 1):
        raise ValueError(f"{path} holds {flat.size} numbers, not whole rows of {n_features} features + 1 label")
    rows = flat.reshape(-1, n_features + 1)
    return rows[:, :n_features], rows[:, n_features]


def prepare_sites(clients: dict, root, sites: dict | None = None) -> dict:
    """Write each client's rows into its site's folder under ``root``; returns {site: folder}.

    ``clients`` is ``{client id: (X, y)}``; ``sites`` maps a site name to the client ids it holds
    (default: one site per client, named after it). Each folder receives only its own clients' files.
    """
    names, pairs = v.clients(clients)
    root = v.path("root", root)
    if sites is None:
        sites = {name: [name] for name in names}
    if not isinstance(sites, dict) or not sites:
        raise TypeError(f"sites must be a non-empty dict {{site: [client ids]}}, got {sites!r}")
    folders = {}
    for site, ids in sites.items():
        site = _client_id(site)
        if isinstance(ids, str) or not isinstance(ids, (list, tuple)) or not ids:
            raise TypeError(f"sites[{site!r}] must be a non-empty list of client ids, got {ids!r}")
        unknown = [i for i in ids if i not in clients]
        if unknown:
            raise ValueError(f"sites[{site!r}] names clients {unknown} that are not in clients")
        folders[site] = root / site
        for i in ids:
            write_client_rows(folders[site], i, *clients[i])
    return folders


def dataset_by_reference(n_features: int, batch_size: int):
    """A ``tff.tensorflow.computation`` (client id → dataset) that reads ``data/<id>.f32`` relative to
    the working directory of the process running it and yields ``(x, y)`` batches in file order:
    the same element type as ``utils.tff_learning.client_datasets``."""
    n_features = v.integer("n_features", n_features, 1, 100_000)
    batch_size = v.integer("batch_size", batch_size, 1)
    import tensorflow as tf
    import tensorflow_federated as tff

    @tff.tensorflow.computation(np.str_)
    def dataset_from_id(client_id):
        raw = tf.io.read_file(tf.strings.join(["data/", client_id, ".f32"]))
        rows = tf.reshape(tf.io.decode_raw(raw, tf.float32), [-1, n_features + 1])
        return tf.data.Dataset.from_tensor_slices((rows[:, :n_features], rows[:, n_features])).batch(batch_size)

    return dataset_from_id


def payload_bytes(value) -> int:
    """Bytes of the serialized value TFF sends to a worker for one client: a client id (str) or a
    ``tf.data.Dataset`` of rows (what a driver sends when the data is passed by value)."""
    import tensorflow as tf
    import tensorflow_federated as tff

    if isinstance(value, str):
        type_spec = tff.TensorType(np.str_)
    elif isinstance(value, tf.data.Dataset):
        type_spec = tff.SequenceType(tff.types.tensorflow_to_type(value.element_spec))
    else:
        raise TypeError(f"value must be a client id (str) or a tf.data.Dataset, got {type(value).__name__}")
    proto, _ = tff.framework.serialize_value(value, type_spec)
    return int(proto.ByteSize())
