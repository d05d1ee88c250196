"""Secure aggregation by pairwise masks (Bonawitz et al., CCS 2017), written out. Introduced in chapter 06.

The server must learn Σ_i x_i and nothing else about any hospital's update x_i. The protocol
works on fixed-point integers modulo 2^k (``encode``/``decode``), where adding a uniformly random
mask hides a value completely:

0. **Advertise keys**: each client i makes an X25519 key pair (``cryptography``) and publishes pk_i.
1. **Share keys**: each client draws a *self-mask* seed b_i and splits b_i and its private key
   sk_i into n Shamir shares (any t of them reconstruct, fewer reveal nothing), one per client.
   (In the real protocol the shares travel encrypted, through the server; here they are handed over.)
2. **Masked input**: clients i and j agree on a seed s_ij = HKDF(X25519(sk_i, pk_j)) without ever
   sending it; a PRG (AES-256 in counter mode) expands it into a mask p_ij. Client i sends
   y_i = x_i + PRG(b_i) + Σ_{j>i} p_ij − Σ_{j<i} p_ij (mod 2^k). In the sum, every p_ij appears once
   with + and once with −, so the pairwise masks cancel.
3. **Unmask**: the server announces who sent y_i. For every client that did, the others send their
   shares of b_i (so the server removes PRG(b_i)); for every client that dropped out, their shares
   of sk_i (so the server recomputes and removes the masks that dropped client shared with the
   survivors). An honest client never reveals both for the same client.

Why self-masks? A client that was only *late* was declared dropped, so its sk_i is reconstructed
and all its pairwise masks are known; when its y_i arrives after all, without b_i it would be
x_i in the clear. With b_i, whose shares nobody revealed, it stays masked. ``run_protocol(...,
self_masks=False)`` shows the leak. Not modelled: authentication, encryption of the shares, a
malicious server lying about who dropped (the paper's signatures and consistency checks).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import numpy as np

from utils import validate as v

__all__ = ["PRIME", "encode", "decode", "prg", "share_secret", "reconstruct_secret", "run_protocol", "ProtocolRun"]

PRIME = 2 ** 521 - 1  # a Mersenne prime larger than any 256-bit secret: Shamir's field
_SHARE_BYTES = 66 + 1  # one share: its y < 2^521 (66 bytes) and its x (1 byte)


def _bits(name, value, low, high):
    return v.integer(name, value, low, high)


def encode(values, scale_bits: int = 16, modulus_bits: int = 32) -> np.ndarray:
    """Fixed point: round(x · 2^scale_bits) modulo 2^modulus_bits, as unsigned 64-bit integers
    (negative numbers wrap around, as in two's complement). Refuses values outside the range
    ±2^(modulus_bits − 1 − scale_bits), which would wrap."""
    x = v.finite("values", v.array("values", values))
    f, k = _bits("scale_bits", scale_bits, 0, 40), _bits("modulus_bits", modulus_bits, 2, 63)
    if f >= k:
        raise ValueError(f"scale_bits ({f}) must be smaller than modulus_bits ({k})")
    limit = 2.0 ** (k - 1 - f)
    if x.size and np.abs(x).max() >= limit:
        raise ValueError(f"values must lie within ±{limit:g} for scale_bits={f}, modulus_bits={k}; "
                         f"got {np.abs(x).max():g}")
    return (np.round(x * 2.0 ** f).astype(np.int64) % (1 << k)).astype(np.uint64)


def decode(encoded, scale_bits: int = 16, modulus_bits: int = 32) -> np.ndarray:
    """The inverse of ``encode`` (also for a sum of encoded values, as long as it did not overflow)."""
    f, k = _bits("scale_bits", scale_bits, 0, 40), _bits("modulus_bits", modulus_bits, 2, 63)
    z = np.asarray(encoded)
    if z.dtype.kind not in "iu" or (z.size and (z.min() < 0 or int(z.max()) >= 1 << k)):
        raise ValueError(f"encoded must hold integers in [0, 2^{k}), got {z!r}"[:200])
    signed = z.astype(np.int64) - np.where(z >= (1 << (k - 1)), 1 << k, 0).astype(np.int64)
    return signed / 2.0 ** f


def prg(seed: bytes, length: int, modulus_bits: int = 32) -> np.ndarray:
    """``length`` pseudo-random integers in [0, 2^modulus_bits) from a 32-byte ``seed``: the
    keystream of AES-256 in counter mode (``cryptography``), 8 bytes per integer."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    if not isinstance(seed, bytes) or len(seed) != 32:
        raise TypeError(f"seed must be 32 bytes, got {seed!r}"[:120])
    length = v.integer("length", length, 0, 10**8)
    k = _bits("modulus_bits", modulus_bits, 2, 63)
    encryptor = Cipher(algorithms.AES(seed), modes.CTR(b"\0" * 16)).encryptor()
    stream = encryptor.update(b"\0" * (8 * length)) + encryptor.finalize()
    return np.frombuffer(stream, dtype=np.uint64) & np.uint64((1 << k) - 1)


def share_secret(secret: int, threshold: int, n_shares: int, prime: int = PRIME) -> list:
    """Shamir's t-of-n sharing: a random polynomial f of degree t − 1 over GF(prime) with
    f(0) = ``secret``; share j is (j, f(j)) for j = 1..n. Any ``threshold`` shares give f(0)."""
    if not isinstance(prime, int) or prime < 3:
        raise TypeError(f"prime must be a (large) prime integer, got {prime!r}"[:120])
    if not isinstance(secret, int) or isinstance(secret, bool) or not 0 <= secret < prime:
        raise ValueError(f"secret must be an integer in [0, prime), got {secret!r}"[:120])
    n_shares = v.integer("n_shares", n_shares, 1, 255)
    threshold = v.integer("threshold", threshold, 1, n_shares)
    coefficients = [secret] + [secrets.randbelow(prime) for _ in range(threshold - 1)]
    return [(j, _poly(coefficients, j, prime)) for j in range(1, n_shares + 1)]


def _poly(coefficients, x, prime):
    out = 0
    for c in reversed(coefficients):
        out = (out * x + c) % prime
    return out


def reconstruct_secret(shares, prime: int = PRIME) -> int:
    """f(0) by Lagrange interpolation from distinct shares (x, y). With fewer shares than the
    threshold the result is a meaningless number, not an error: nothing tells you."""
    if not isinstance(prime, int) or prime < 3:
        raise TypeError(f"prime must be a (large) prime integer, got {prime!r}"[:120])
    if not isinstance(shares, (list, tuple)) or not shares:
        raise TypeError(f"shares must be a non-empty list of (x, y) pairs, got {shares!r}"[:120])
    xs = [s[0] if isinstance(s, tuple) and len(s) == 2 else None for s in shares]
    if None in xs or len(set(xs)) != len(xs) or not all(isinstance(x, int) and 0 < x < prime for x in xs):
        raise ValueError(f"shares must be distinct (x, y) pairs with integer x in (0, prime), got x = {xs}")
    total = 0
    for i, (xi, yi) in enumerate(shares):
        num = den = 1
        for j, xj in enumerate(xs):
            if j != i:
                num = num * -xj % prime
                den = den * (xi - xj) % prime
        total = (total + yi * num * pow(den, -1, prime)) % prime
    return total


@dataclass
class ProtocolRun:
    """What one run of ``run_protocol`` did and what the server saw.

    ``total``: Σ_{survivors} encode(x_i) mod 2^k as the server computed it; ``plain_total``: the same
    sum computed in the clear (for checking only); ``sum``: ``total`` decoded. ``server_view[i]``:
    the masked input y_i the server received from client i. ``late_unmasked``: for each late client,
    y_i minus every mask the server can remove (with self-masks, still masked; without, x_i).
    ``bytes_sent``: bytes each client sent per round; ``survivors``/``dropped``/``late``: indices.
    """

    total: np.ndarray
    plain_total: np.ndarray
    sum: np.ndarray
    server_view: dict
    late_unmasked: dict
    bytes_sent: dict
    survivors: list
    dropped: list
    late: list
    settings: dict = field(default_factory=dict)


def _pair_seed(private_key, public_bytes, i, j):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    shared = private_key.exchange(X25519PublicKey.from_public_bytes(public_bytes))
    a, b = min(i, j), max(i, j)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"flcourse pair {a}-{b}".encode()).derive(shared)


def _indices(name, values, K):
    if isinstance(values, (int, np.integer)) and not isinstance(values, bool):
        values = (values,)
    if not isinstance(values, (list, tuple, set, range)):
        raise TypeError(f"{name} must be a list of client indices, got {values!r}"[:120])
    out = sorted({v.integer(f"{name}[{n}]", x, 0, K - 1) for n, x in enumerate(values)})
    if len(out) != len(list(values)):
        raise ValueError(f"{name} repeats a client: {list(values)}")
    return out


def run_protocol(updates, dropped=(), late=(), threshold: int | None = None, scale_bits: int = 16,
                 modulus_bits: int = 32, self_masks: bool = True) -> ProtocolRun:
    """Secure aggregation of the rows of ``updates`` (K clients × p numbers), with the clients in
    ``dropped`` failing before they send their masked input and those in ``late`` sending it only
    after the server has finished unmasking (both are treated as dropped out). ``threshold``: t of
    Shamir's t-of-K sharing (default: a majority, K // 2 + 1); the survivors must number at least t.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    X = v.array("updates", updates)
    if X.ndim != 2 or len(X) < 2:
        raise ValueError(f"updates must be 2-D with at least 2 clients (rows), got shape {X.shape}")
    K, p = X.shape
    encoded = encode(X, scale_bits, modulus_bits)  # validates the numbers and the bit widths
    mask = np.uint64((1 << modulus_bits) - 1)
    dropped, late = _indices("dropped", dropped, K), _indices("late", late, K)
    if set(dropped) & set(late):
        raise ValueError(f"a client cannot be both dropped and late: {sorted(set(dropped) & set(late))}")
    t = K // 2 + 1 if threshold is None else v.integer("threshold", threshold, 2, K)
    self_masks = v.flag("self_masks", self_masks)
    survivors = [i for i in range(K) if i not in dropped and i not in late]
    if len(survivors) < t:
        raise ValueError(f"only {len(survivors)} client(s) survive, fewer than the threshold t = {t}: "
                         "the server cannot unmask, the round is lost")
    raw = serialization.Encoding.Raw
    sent = {i: {"advertise": 0, "share": 0, "masked": 0, "unmask": 0} for i in range(K)}

    # Round 0: every client makes a key pair and publishes the public half.
    keys = [X25519PrivateKey.generate() for _ in range(K)]
    public = [k.public_key().public_bytes(raw, serialization.PublicFormat.Raw) for k in keys]
    for i in range(K):
        sent[i]["advertise"] = len(public[i])
    # Round 1: self-mask seeds; Shamir shares of each b_i and each private key, share j goes to client j.
    b = [secrets.token_bytes(32) for _ in range(K)]
    sk_int = [int.from_bytes(k.private_bytes(raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()), "big")
              for k in keys]
    b_shares = [share_secret(int.from_bytes(b[i], "big"), t, K) for i in range(K)]
    sk_shares = [share_secret(sk_int[i], t, K) for i in range(K)]
    for i in range(K):
        sent[i]["share"] = 2 * (K - 1) * _SHARE_BYTES

    def masked_input(i):
        y = encoded[i].copy()
        if self_masks:
            y = (y + prg(b[i], p, modulus_bits)) & mask
        for j in range(K):
            if j != i:
                m = prg(_pair_seed(keys[i], public[j], i, j), p, modulus_bits)
                y = (y + m) & mask if j > i else (y - m) & mask
        return y

    # Round 2: the survivors send masked inputs; the dropped and the late send nothing (yet).
    view = {i: masked_input(i) for i in survivors}
    for i in survivors:
        sent[i]["masked"] = p * ((modulus_bits + 7) // 8)
    total = np.zeros(p, dtype=np.uint64)
    for y in view.values():
        total = (total + y) & mask
    # Round 3: for each survivor the others reveal shares of b_i; for each non-survivor, shares of sk_i.
    gone = dropped + late
    for j in survivors:
        sent[j]["unmask"] = (len(survivors) - 1 + len(gone)) * _SHARE_BYTES
    helpers = survivors[:t]  # the server needs any t of them
    for i in survivors:
        if self_masks:
            seed = reconstruct_secret([b_shares[i][j] for j in helpers]).to_bytes(32, "big")
            total = (total - prg(seed, p, modulus_bits)) & mask
    recovered_keys = {}
    for i in gone:
        sk = X25519PrivateKey.from_private_bytes(reconstruct_secret([sk_shares[i][j] for j in helpers]).to_bytes(32, "big"))
        recovered_keys[i] = sk
        for j in survivors:  # survivor j added −p_ij if i < j, +p_ij if i > j: undo it
            m = prg(_pair_seed(sk, public[j], i, j), p, modulus_bits)
            total = (total + m) & mask if j > i else (total - m) & mask
    plain = np.zeros(p, dtype=np.uint64)
    for i in survivors:
        plain = (plain + encoded[i]) & mask
    # A late client's masked input arrives now: the server strips every pairwise mask it can.
    late_unmasked = {}
    for i in late:
        y = masked_input(i)
        view[i] = y
        sent[i]["masked"] = p * ((modulus_bits + 7) // 8)
        for j in range(K):
            if j != i:
                m = prg(_pair_seed(recovered_keys[i], public[j], i, j), p, modulus_bits)
                y = (y - m) & mask if j > i else (y + m) & mask
        late_unmasked[i] = y
    return ProtocolRun(total=total, plain_total=plain, sum=decode(total, scale_bits, modulus_bits), server_view=view,
                       late_unmasked=late_unmasked, bytes_sent=sent, survivors=survivors, dropped=dropped, late=late,
                       settings={"threshold": t, "scale_bits": scale_bits, "modulus_bits": modulus_bits,
                                 "self_masks": self_masks})
