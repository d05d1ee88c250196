"""Smaller updates: quantisation, sign, sparsification and error feedback, written out once in NumPy.
Introduced in chapter 07.

TFF 0.87 ships one update compressor, uniform quantisation (``tff.aggregators.EncodedSumFactory``);
it has no sign, top-k, random-k or error feedback. Each compressor here turns a client's update
(a vector of p numbers) into a ``Message``: the arrays that would actually be sent. Its ``nbytes`` is
the sum of those arrays' sizes, so the bytes are counted from real tensors, not estimated. What both
sides agree on before training (the method, p, bits, k, how tensors are cut) is not sent.

* ``quantize``: min-max uniform quantisation to ``bits`` per number, levels bit-packed, plus the
  minimum and maximum as float32 (TFF's encoder, minus its 28-bits-per-int32 packing). Stochastic
  rounding (TFF's default) is unbiased; deterministic rounding rounds half to even, as ``tf.round``.
  ``segments`` quantises consecutive pieces separately, as TFF does for each tensor of a model;
* ``sign``: one bit per number and one float32 scale, mean |x| (scaled sign: Karimireddy et al., 2019);
* ``top_k``: the k largest |x| as float32 values with their indices;
* ``random_k``: k coordinates drawn from a seed the message carries, so only the values and the
  seed travel (the trick of Konečný et al.'s random masks, 2016); ``unbiased`` scales them by p/k,
  their unbiased random subsampling.

``Uplink`` is the ``aggregate=`` hook of ``utils.fedcore.run_fedavg``: each client's update goes
through a compressor (with error feedback if asked: what compression dropped is kept by the client
and added to its next update), the server averages the decoded updates with FedAvg's shares, and every
message's bytes are recorded.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from utils import validate as v

__all__ = ["Message", "quantize", "sign", "top_k", "random_k", "identity", "decode", "index_dtype",
           "quantization_step", "Compressor", "Uplink", "METHODS"]

METHODS = ("none", "quantize", "sign", "top_k", "random_k")
FLOAT_BYTES = 4  # every value travels as float32


@dataclass(frozen=True)
class Message:
    """What one client sends: ``arrays`` (name → array, exactly the payload) plus what the protocol
    fixes in advance (``method``, ``size`` p, ``params``), which is not sent."""

    method: str
    size: int
    arrays: dict
    params: dict = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        """Bytes of the payload: the sum of its arrays' sizes."""
        return int(sum(a.nbytes for a in self.arrays.values()))


def _x(x) -> np.ndarray:
    return v.vector("x", x)


def index_dtype(p: int):
    """The smallest unsigned integer type that holds every index 0..p-1 (uint8 up to p = 256)."""
    p = v.integer("p", p, 1)
    for dtype in (np.uint8, np.uint16, np.uint32, np.uint64):
        if p - 1 <= np.iinfo(dtype).max:
            return dtype
    raise ValueError(f"p={p} is too large for any index type")


def _k(k, p: int) -> int:
    return v.integer("k", k, 1, p)


def identity(x) -> Message:
    """No compression: the update as float32 (4 bytes a number)."""
    x = _x(x)
    return Message("none", len(x), {"values": x.astype(np.float32)})


# ---- quantisation ---------------------------------------------------------------------------------

def _pack(levels: np.ndarray, bits: int) -> np.ndarray:
    """Levels 0..2^bits-1 → their bits, least significant first, packed 8 to a byte."""
    if 8 % bits == 0:  # 1, 2, 4 or 8 bits: whole levels per byte, the same bytes as the general case
        per = 8 // bits
        padded = np.zeros(-(-len(levels) // per) * per, dtype=np.uint16)
        padded[:len(levels)] = levels
        return (padded.reshape(-1, per) << (bits * np.arange(per, dtype=np.uint16))).sum(axis=1).astype(np.uint8)
    planes = (levels.astype(np.uint16)[:, None] >> np.arange(bits, dtype=np.uint16)) & 1
    return np.packbits(planes.astype(np.uint8).reshape(-1), bitorder="little")


def _unpack(packed: np.ndarray, n: int, bits: int) -> np.ndarray:
    if 8 % bits == 0:
        per = 8 // bits
        fields = (packed[:, None].astype(np.int64) >> (bits * np.arange(per))) & (2 ** bits - 1)
        return fields.reshape(-1)[:n]
    planes = np.unpackbits(packed, count=n * bits, bitorder="little").reshape(n, bits)
    return planes @ (1 << np.arange(bits, dtype=np.int64))


def _quantize_piece(x, bits, stochastic, rng):
    lo, hi = np.float32(x.min()), np.float32(x.max())
    top = 2 ** bits - 1
    span = float(hi) - float(lo)
    scaled = np.zeros(len(x)) if span == 0 else np.clip((x - float(lo)) / span * top, 0, top)
    if stochastic:  # round up with probability equal to the fractional part: unbiased
        levels = np.floor(scaled + rng.random(len(x)))
    else:
        levels = np.round(scaled)  # half to even, as tf.round
    return np.minimum(levels, top).astype(np.int64), np.array([lo, hi], dtype=np.float32)


def _segments(segments, p: int) -> tuple:
    if segments is None:
        return (p,)
    if isinstance(segments, (str, bytes)) or not isinstance(segments, (list, tuple)) or not segments:
        raise TypeError(f"segments must be None or a list of piece lengths, got {segments!r}")
    sizes = tuple(v.integer(f"segments[{i}]", s, 1) for i, s in enumerate(segments))
    if sum(sizes) != p:
        raise ValueError(f"segments must add up to the vector's length {p}, got {list(sizes)} (sum {sum(sizes)})")
    return sizes


def quantize(x, bits: int = 8, stochastic: bool = True, rng=None, segments=None) -> Message:
    """Min-max uniform quantisation: each number becomes one of 2^bits evenly spaced levels between
    the piece's minimum and maximum; sent as bit-packed levels plus (min, max) as float32 per piece.

    ``stochastic``: round up with probability equal to the remainder (unbiased; needs ``rng``), else
    to the nearest level. ``segments``: lengths of consecutive pieces quantised separately (TFF
    quantises each tensor of the model on its own); None = one piece.
    """
    x = _x(x)
    bits = v.integer("bits", bits, 1, 16)
    stochastic = v.flag("stochastic", stochastic)
    rng = v.generator("rng", rng)
    if stochastic and rng is None:
        raise ValueError("rng is needed for stochastic rounding: pass np.random.default_rng(seed)")
    return _quantize(x, bits, stochastic, rng, _segments(segments, len(x)))


def _quantize(x, bits, stochastic, rng, sizes):
    pieces = np.split(x, np.cumsum(sizes)[:-1]) if len(sizes) > 1 else [x]
    levels, ranges = zip(*(_quantize_piece(piece, bits, stochastic, rng) for piece in pieces))
    return Message("quantize", len(x), {"levels": _pack(np.concatenate(levels), bits),
                                        "min_max": np.concatenate(ranges)},
                   {"bits": bits, "segments": sizes})


def quantization_step(x, bits: int = 8, segments=None) -> np.ndarray:
    """Per number, the gap between two adjacent levels, (max − min) / (2^bits − 1) of its piece:
    stochastic rounding errs by less than one step, deterministic rounding by at most half."""
    x = _x(x)
    bits = v.integer("bits", bits, 1, 16)
    sizes = _segments(segments, len(x))
    return np.concatenate([np.full(len(piece), (float(np.float32(piece.max())) - float(np.float32(piece.min())))
                                   / (2 ** bits - 1))
                           for piece in np.split(x, np.cumsum(sizes)[:-1])])


# ---- sign and sparsification ---------------------------------------------------------------------

def sign(x) -> Message:
    """Scaled sign: one bit per number (x ≥ 0) and one float32 scale, the mean |x|."""
    return _sign(_x(x))


def _sign(x):
    return Message("sign", len(x), {"signs": np.packbits(x >= 0, bitorder="little"),
                                    "scale": np.array([np.abs(x).mean()], dtype=np.float32)})


def top_k(x, k: int) -> Message:
    """The k numbers of largest magnitude (ties: the lower index) as float32, with their indices."""
    x = _x(x)
    return _top_k(x, _k(k, len(x)))


def _top_k(x, k):
    keep = np.sort(np.argsort(-np.abs(x), kind="stable")[:k])
    return Message("top_k", len(x), {"values": x[keep].astype(np.float32),
                                     "indices": keep.astype(index_dtype(len(x)))}, {"k": k})


def _mask(seed: int, p: int, k: int) -> np.ndarray:
    return np.sort(np.random.default_rng(int(seed)).choice(p, size=k, replace=False))


def random_k(x, k: int, rng=None, unbiased: bool = False) -> Message:
    """k coordinates chosen at random; the message carries their values and the 4-byte seed that
    chose them (the server redraws the same indices). ``unbiased`` multiplies the values by p/k, so
    the decoded vector equals x on average (at the price of a much larger variance)."""
    x = _x(x)
    k = _k(k, len(x))
    rng = v.generator("rng", rng)
    if rng is None:
        raise ValueError("rng is needed to draw the coordinates: pass np.random.default_rng(seed)")
    return _random_k(x, k, rng, v.flag("unbiased", unbiased))


def _random_k(x, k, rng, unbiased):
    seed = rng.integers(0, 2**32, dtype=np.uint64)
    keep = _mask(seed, len(x), k)
    scale = len(x) / k if unbiased else 1.0
    return Message("random_k", len(x), {"values": (x[keep] * scale).astype(np.float32),
                                        "seed": np.array([seed], dtype=np.uint32)},
                   {"k": k, "unbiased": unbiased})


# ---- decoding --------------------------------------------------------------------------------------

def decode(message) -> np.ndarray:
    """The vector the server reads from a ``Message`` (float64)."""
    if not isinstance(message, Message):
        raise TypeError(f"message must be a Message (from quantize, sign, ...), got {type(message).__name__}")
    v.choice("message.method", message.method, METHODS)
    return _decode(message)


def _decode(message):
    p, a = message.size, message.arrays
    if message.method == "none":
        return a["values"].astype(np.float64)
    if message.method == "quantize":
        bits, sizes = message.params["bits"], message.params["segments"]
        levels = _unpack(a["levels"], p, bits)
        lo, hi = a["min_max"][0::2].astype(np.float64), a["min_max"][1::2].astype(np.float64)
        step = np.repeat((hi - lo) / (2 ** bits - 1), sizes)
        return np.repeat(lo, sizes) + levels * step
    if message.method == "sign":
        bits = np.unpackbits(a["signs"], count=p, bitorder="little")
        return float(a["scale"][0]) * (2.0 * bits - 1.0)
    out = np.zeros(p)
    if message.method == "top_k":
        out[a["indices"].astype(np.int64)] = a["values"]
    else:
        out[_mask(a["seed"][0], p, message.params["k"])] = a["values"]
    return out


# ---- one object for a run ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Compressor:
    """A compressor with its settings, e.g. ``Compressor("quantize", bits=4)`` or
    ``Compressor("top_k", k=2)``; ``encode(x, rng)`` → Message, ``decode(message)`` → vector."""

    method: str = "none"
    bits: int = 8
    k: int | None = None
    stochastic: bool = True
    unbiased: bool = False
    segments: tuple | None = None

    def __post_init__(self):
        v.choice("method", self.method, METHODS)
        v.integer("bits", self.bits, 1, 16)
        if self.method in ("top_k", "random_k") and self.k is None:
            raise ValueError(f"method {self.method!r} needs k, the number of coordinates to keep")
        if self.k is not None:
            v.integer("k", self.k, 1)
        v.flag("stochastic", self.stochastic)
        v.flag("unbiased", self.unbiased)
        if self.segments is not None:
            if isinstance(self.segments, (str, bytes)) or not isinstance(self.segments, (list, tuple)):
                raise TypeError(f"segments must be None or a list of piece lengths, got {self.segments!r}")
            sizes = tuple(v.integer(f"segments[{i}]", s, 1) for i, s in enumerate(self.segments))
            if not sizes:
                raise ValueError("segments is empty: give the length of each piece, or None")
            object.__setattr__(self, "segments", sizes)

    @property
    def label(self) -> str:
        """A short name for tables and legends."""
        return {"none": "float32", "quantize": f"{self.bits}-bit", "sign": "1-bit sign",
                "top_k": f"top-{self.k}", "random_k": f"random-{self.k}"}[self.method]

    def encode(self, x, rng=None) -> Message:
        """The message for update ``x`` (``rng``: for stochastic rounding and random coordinates)."""
        x = _x(x)
        rng = v.generator("rng", rng)
        if rng is None and ((self.method == "quantize" and self.stochastic) or self.method == "random_k"):
            raise ValueError(f"rng is needed for {self.label}: pass np.random.default_rng(seed)")
        if self.segments is not None and sum(self.segments) != len(x):
            raise ValueError(f"segments {list(self.segments)} must add up to the vector's length {len(x)}")
        return self._encode(x, rng)

    def _encode(self, x, rng):
        if self.method == "none":
            return Message("none", len(x), {"values": x.astype(np.float32)})
        if self.method == "quantize":
            return _quantize(x, self.bits, self.stochastic, rng, self.segments or (len(x),))
        if self.method == "sign":
            return _sign(x)
        if self.method == "top_k":
            return _top_k(x, min(self.k, len(x)))
        return _random_k(x, min(self.k, len(x)), rng, self.unbiased)

    def decode(self, message) -> np.ndarray:
        """The vector the server reads (see ``decode``)."""
        return decode(message)

    def nbytes(self, p: int) -> int:
        """Bytes of one message for a vector of ``p`` numbers (the payload ``encode`` builds)."""
        p = v.integer("p", p, 1)
        if self.method == "none":
            return FLOAT_BYTES * p
        if self.method == "quantize":
            pieces = 1 if self.segments is None else len(self.segments)
            return math.ceil(p * self.bits / 8) + 2 * FLOAT_BYTES * pieces
        if self.method == "sign":
            return math.ceil(p / 8) + FLOAT_BYTES
        k = min(self.k, p)
        if self.method == "top_k":
            return k * (FLOAT_BYTES + np.dtype(index_dtype(p)).itemsize)
        return k * FLOAT_BYTES + 4


class Uplink:
    """The clients' compressed uploads, as the ``aggregate=`` hook of ``run_fedavg``.

    Called with the round's updates (K, p) and FedAvg's shares (K,), it encodes each client's update
    (plus, with ``error_feedback``, the residual that client's earlier compressions dropped), decodes
    it as the server would, and returns the shares-weighted mean of the decoded updates. Clients are
    identified by their position, or by the ids given to ``bind(ids)`` when the participants change
    from round to round (client sampling). ``sent`` holds one list of message sizes (bytes) per round.
    """

    def __init__(self, compressor: Compressor, error_feedback: bool = False, seed: int = 0):
        if not isinstance(compressor, Compressor):
            raise TypeError(f"compressor must be a Compressor, got {type(compressor).__name__}")
        self.compressor = compressor
        self.error_feedback = v.flag("error_feedback", error_feedback)
        self.rng = np.random.default_rng(v.seed("seed", seed))
        self.memory: dict = {}
        self.sent: list = []

    @property
    def label(self) -> str:
        """The compressor's label, with "+ EF" when error feedback is on."""
        return self.compressor.label + (" + EF" if self.error_feedback else "")

    def __call__(self, updates, shares):
        return self._aggregate(updates, shares, None)

    def bind(self, client_ids) -> callable:
        """The hook for one round whose participants are ``client_ids`` (in the order of the updates)."""
        if isinstance(client_ids, (str, bytes)) or not isinstance(client_ids, (list, tuple)) or not client_ids:
            raise TypeError(f"client_ids must be a non-empty list of ids, got {client_ids!r}")
        ids = list(client_ids)
        return lambda updates, shares: self._aggregate(updates, shares, ids)

    def _aggregate(self, updates, shares, ids):
        U = v.matrix("updates", updates)
        w = v.vector("shares", shares, len(U))
        if ids is not None and len(ids) != len(U):
            raise ValueError(f"{len(ids)} client ids bound, but {len(U)} updates arrived")
        ids = list(range(len(U))) if ids is None else ids
        segments = self.compressor.segments
        if segments is not None and sum(segments) != U.shape[1]:
            raise ValueError(f"the compressor's segments {list(segments)} must add up to the update's length {U.shape[1]}")
        decoded, sizes = [], []
        for cid, u in zip(ids, U):
            target = u + self.memory.get(cid, 0.0) if self.error_feedback else u
            message = self.compressor._encode(target, self.rng)
            d = _decode(message)
            if self.error_feedback:
                self.memory[cid] = target - d
            decoded.append(d)
            sizes.append(message.nbytes)
        self.sent.append(sizes)
        return np.tensordot(w / w.sum(), np.array(decoded), axes=1)
