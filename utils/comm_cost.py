"""What a round costs: bytes counted from the tensors, the bytes TFF's computations declare, and the
time they take on a given link. Introduced in chapter 07.

* ``model_bytes``: the bytes of a model's parameters as sent (float32 unless told otherwise);
* ``tff_traffic``: every value a TFF computation moves between the server and the clients, read from
  the type signatures of its federated intrinsics (``federated_broadcast`` down; ``federated_sum``,
  ``federated_mean``, ``federated_aggregate``, ... up), with its size per client. TFF reports no
  byte counts in its measurements; its types say exactly which tensors cross, so we count those;
* ``tff_quantized_bytes``: what TFF's uniform quantiser sends for one tensor (its bit-packing puts 28
  bits in each int32, so that protocol buffers' varint encoding keeps every int32 at 4 bytes);
* ``Link``, ``LINKS`` and ``training_cost``: volume and time of a whole training on a link. The links'
  speeds and round-trip times are round illustrative assumptions, not measurements: change them.

TFF is imported inside the functions that need it, so importing this module stays cheap.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from utils import validate as v

__all__ = ["model_bytes", "Link", "LINKS", "transfer_seconds", "training_cost", "format_bytes", "format_seconds",
           "type_bytes", "tff_traffic", "tff_quantized_bytes", "UPLOAD", "DOWNLOAD"]

UPLOAD, DOWNLOAD = "each client → server", "server → each client"
_NO_TRAFFIC = ("federated_map", "federated_map_all_equal", "federated_apply", "federated_zip_at_server",
               "federated_zip_at_clients", "federated_value_at_server", "federated_value_at_clients",
               "federated_eval_at_server", "federated_eval_at_clients")


def model_bytes(weights, dtype=np.float32) -> int:
    """Bytes of a model's parameters sent as ``dtype`` (float32: 4 a number). ``weights``: a parameter
    vector theta, a list of arrays (Keras' ``get_weights()`` order), or a Keras model."""
    if hasattr(weights, "get_weights") and hasattr(weights, "count_params"):
        weights = weights.get_weights()
    if isinstance(dtype, type) and issubclass(dtype, np.generic):
        itemsize = np.dtype(dtype).itemsize
    else:
        raise TypeError(f"dtype must be a NumPy type such as np.float32, got {dtype!r}")
    arrays = [v.vector("weights", weights)] if isinstance(weights, np.ndarray) and weights.ndim == 1 \
        else v.weight_list("weights", weights)
    return int(sum(a.size for a in arrays) * itemsize)


@dataclass(frozen=True)
class Link:
    """A client's network link: download and upload rates (Mbit/s) and the round-trip time (ms)."""

    name: str
    down_mbit_s: float
    up_mbit_s: float
    rtt_ms: float = 0.0

    def __post_init__(self):
        v.text("name", self.name)
        v.positive("down_mbit_s", self.down_mbit_s)
        v.positive("up_mbit_s", self.up_mbit_s)
        v.nonneg("rtt_ms", self.rtt_ms)

    def describe(self) -> str:
        """One line: name, rates and round-trip time."""
        return (f"{self.name}: {self.down_mbit_s:g} Mbit/s down, {self.up_mbit_s:g} Mbit/s up, "
                f"{self.rtt_ms:g} ms round trip")


# Round numbers for illustration (assumptions, not measurements): a hospital's fibre line, an office's
# asymmetric broadband, a phone on 4G, a phone at the edge of coverage.
LINKS = {link.name: link for link in (
    Link("hospital fibre", 1000.0, 1000.0, 5.0),
    Link("office broadband", 100.0, 20.0, 20.0),
    Link("mobile 4G", 30.0, 5.0, 50.0),
    Link("weak mobile signal", 2.0, 0.5, 150.0),
)}


def transfer_seconds(nbytes, mbit_s: float) -> float:
    """Seconds to move ``nbytes`` at ``mbit_s`` megabits per second (10^6 bits, as links are sold)."""
    nbytes = v.nonneg("nbytes", nbytes)
    return 8.0 * nbytes / (v.positive("mbit_s", mbit_s) * 1e6)


def training_cost(down_bytes, up_bytes, clients_per_round: int, rounds: int, link: Link) -> dict:
    """Volume and time of a training: every round, each of ``clients_per_round`` clients downloads
    ``down_bytes`` and uploads ``up_bytes`` over its own ``link``, all in parallel; a round's
    communication then takes one round trip plus the download and upload times (the server's own
    link is assumed not to be the bottleneck, and computing time is not counted).

    Returns bytes per client per round, bytes through the server per round and in all, seconds of
    communication per round and in all.
    """
    down, up = v.nonneg("down_bytes", down_bytes), v.nonneg("up_bytes", up_bytes)
    m = v.integer("clients_per_round", clients_per_round, 1, v.MAX_CLIENTS)
    rounds = v.integer("rounds", rounds, 0, 10**9)
    if not isinstance(link, Link):
        raise TypeError(f"link must be a Link (e.g. LINKS['mobile 4G']), got {type(link).__name__}")
    per_round = link.rtt_ms / 1000 + transfer_seconds(down, link.down_mbit_s) + transfer_seconds(up, link.up_mbit_s)
    return {"client_bytes_per_round": down + up, "server_bytes_per_round": m * (down + up),
            "total_bytes": rounds * m * (down + up), "seconds_per_round": per_round,
            "total_seconds": rounds * per_round}


def format_bytes(nbytes) -> str:
    """A byte count for people: "56 B", "1.7 kB", "6.7 MB" (SI units, 1 kB = 1000 B, as links are sold)."""
    nbytes = v.nonneg("nbytes", nbytes)
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= size:
            return f"{nbytes / size:.3g} {unit}"
    return f"{nbytes:.0f} B"


def format_seconds(seconds) -> str:
    """A duration for people: "35 ms", "4.2 s", "3.5 min", "2.1 h", "1.5 days"."""
    seconds = v.nonneg("seconds", seconds)
    if seconds < 1:
        return f"{seconds * 1000:.3g} ms"
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} s"


# ---- what TFF's computations declare -------------------------------------------------------------------

def type_bytes(type_spec) -> int:
    """Bytes of a value of this TFF type: each tensor's elements × its dtype's size, summed over a
    structure (a federated type counts its member: one client's or the server's value)."""
    import tensorflow_federated as tff

    if isinstance(type_spec, tff.FederatedType):
        return type_bytes(type_spec.member)
    if isinstance(type_spec, tff.StructType):
        return sum(type_bytes(member) for _, member in tff.structure.iter_elements(type_spec))
    if isinstance(type_spec, tff.TensorType):
        if type_spec.shape is None or any(d is None for d in type_spec.shape):
            raise ValueError(f"type_spec {type_spec} has no fixed size (unknown dimension)")
        return int(np.dtype(type_spec.dtype).itemsize * math.prod(type_spec.shape))
    raise TypeError(f"type_spec must be a TFF tensor, structure or federated type, got {type_spec!r}")


def _placed(type_spec, placement) -> list:
    """The members of ``type_spec`` (or of its top-level structure) placed at ``placement``."""
    import tensorflow_federated as tff

    if isinstance(type_spec, tff.FederatedType):
        return [type_spec.member] if type_spec.placement == placement else []
    if isinstance(type_spec, tff.StructType):
        return [m for _, member in tff.structure.iter_elements(type_spec) for m in _placed(member, placement)]
    return []


def tff_traffic(computation):
    """Every value a TFF computation moves between placements, from its federated intrinsics.

    One row per intrinsic call: ``intrinsic`` (e.g. federated_broadcast), ``direction`` (``DOWNLOAD``:
    server → each client; ``UPLOAD``: each client → server), ``value`` (the TFF type that crosses) and
    ``bytes`` (per client). Intrinsics that stay on one side (federated_map, federated_zip, ...) move
    nothing between server and clients and are left out. Returns a pandas DataFrame.
    """
    import pandas as pd
    import tensorflow_federated as tff

    if not hasattr(computation, "to_building_block"):
        raise TypeError(f"computation must be a TFF computation (e.g. process.next), got {type(computation).__name__}")
    rows = []

    def walk(node):
        if isinstance(node, tff.framework.Intrinsic) and node.uri not in _NO_TRAFFIC:
            sig = node.type_signature
            result = sig.result
            if isinstance(result, tff.FederatedType) and result.placement == tff.SERVER:
                moved = _placed(sig.parameter, tff.CLIENTS)
                if moved:
                    rows.append({"intrinsic": node.uri, "direction": UPLOAD,
                                 "value": ", ".join(str(m) for m in moved),
                                 "bytes": sum(type_bytes(m) for m in moved)})
            elif isinstance(result, tff.FederatedType) and result.placement == tff.CLIENTS \
                    and _placed(sig.parameter, tff.SERVER):
                rows.append({"intrinsic": node.uri, "direction": DOWNLOAD, "value": str(result.member),
                             "bytes": type_bytes(result.member)})
        for child in node.children():
            walk(child)

    walk(computation.to_building_block())
    return pd.DataFrame(rows, columns=["intrinsic", "direction", "value", "bytes"])


def tff_quantized_bytes(n_elements: int, bits: int) -> int:
    """Bytes TFF's uniform quantiser (``EncodedSumFactory.quantize_above_threshold``) sends for one
    tensor of ``n_elements`` numbers: the levels bit-packed 28 bits to an int32 (4 bytes each), plus
    its minimum and maximum as two float32."""
    n = v.integer("n_elements", n_elements, 1)
    bits = v.integer("bits", bits, 1, 16)
    return 4 * math.ceil(n * bits / 28) + 8
