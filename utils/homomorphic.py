"""Adding encrypted model updates with Paillier's cryptosystem (the ``phe`` library). Introduced in chapter 06.

Paillier (1999) encryption is *additively homomorphic*: multiplying two ciphertexts modulo n²
gives an encryption of the sum of the plaintexts. So the hospitals can encrypt their updates
under a public key, the server can add the ciphertexts without being able to read any of them,
and only the holder of the private key can decrypt, and then only the total.

``phe`` (python-paillier, CSIRO Data61) provides the key pair, the encryption, the homomorphic
addition (``EncryptedNumber + EncryptedNumber``) and the decryption. It encrypts one number per
ciphertext; a ciphertext of an n-bit key is 2n bits, so a 2048-bit key makes every 4-byte float a
512-byte ciphertext, and each encryption costs a 2048-bit modular exponentiation.

``pack``/``unpack`` put a whole update into *one* plaintext (fixed-point slots of ``slot_bits``
bits each, with headroom so that adding ``clients`` of them cannot carry from one slot into the
next; the idea of BatchCrypt, Zhang et al., USENIX ATC 2020); ``encrypted_sum`` encrypts each
client's packed update with ``phe``, adds the ciphertexts with ``phe`` and decrypts the total.
"""
from __future__ import annotations

import math
import time

import numpy as np

from utils import validate as v

__all__ = ["slot_layout", "pack", "unpack", "encrypted_sum", "ciphertext_bytes"]


def slot_layout(count: int, clients: int, value_bits: int = 32, key_bits: int = 2048) -> dict:
    """How ``count`` values of ``value_bits`` bits each fit into one plaintext of a ``key_bits``
    key when ``clients`` packed plaintexts will be added: each slot gets ⌈log2(clients)⌉ extra
    bits of headroom. Raises if they do not fit (the plaintext must stay below n)."""
    count = v.integer("count", count, 1)
    clients = v.integer("clients", clients, 1, 1_000_000)
    value_bits = v.integer("value_bits", value_bits, 2, 62)
    key_bits = v.integer("key_bits", key_bits, 256, 16384)
    slot = value_bits + max(1, math.ceil(math.log2(clients)))
    if count * slot >= key_bits - 1:
        raise ValueError(f"{count} slots of {slot} bits do not fit in a {key_bits}-bit plaintext; "
                         "use fewer values per ciphertext")
    return {"count": count, "clients": clients, "value_bits": value_bits, "slot_bits": slot, "key_bits": key_bits}


def pack(values, layout: dict, scale_bits: int = 16) -> int:
    """One non-negative integer holding ``values`` as fixed-point numbers round(x · 2^scale_bits),
    each shifted by 2^(value_bits − 1) so it is non-negative, in consecutive slots."""
    x = v.vector("values", values)
    layout = _layout(layout)
    f = v.integer("scale_bits", scale_bits, 0, layout["value_bits"] - 2)
    if len(x) != layout["count"]:
        raise ValueError(f"values has {len(x)} entries, the layout {layout['count']}")
    offset = 1 << (layout["value_bits"] - 1)
    q = np.round(x * 2.0 ** f).astype(np.int64)
    if (np.abs(q) >= offset).any():
        raise ValueError(f"values must lie within ±{offset / 2 ** f:g} for value_bits={layout['value_bits']}, "
                         f"scale_bits={f}")
    out = 0
    for j, qj in enumerate(q):
        out |= (int(qj) + offset) << (j * layout["slot_bits"])
    return out


def unpack(total: int, layout: dict, clients: int, scale_bits: int = 16) -> np.ndarray:
    """The sum of ``clients`` packed vectors, back as floats (removes ``clients`` offsets per slot)."""
    layout = _layout(layout)
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise TypeError(f"total must be a non-negative integer, got {total!r}"[:120])
    clients = v.integer("clients", clients, 1, layout["clients"])
    f = v.integer("scale_bits", scale_bits, 0, layout["value_bits"] - 2)
    width, offset = layout["slot_bits"], 1 << (layout["value_bits"] - 1)
    slots = [(total >> (j * width)) & ((1 << width) - 1) for j in range(layout["count"])]
    return np.array([s - clients * offset for s in slots], dtype=float) / 2.0 ** f


def _layout(layout):
    need = {"count", "clients", "value_bits", "slot_bits", "key_bits"}
    if not isinstance(layout, dict) or not need <= set(layout):
        raise TypeError(f"layout must be the dict that slot_layout() returns, got {layout!r}"[:120])
    return layout


def ciphertext_bytes(public_key) -> int:
    """Bytes of one Paillier ciphertext under ``public_key``: a number modulo n², 2 × key bits."""
    if not hasattr(public_key, "nsquare"):
        raise TypeError(f"public_key must be a phe PaillierPublicKey, got {type(public_key).__name__}")
    return (public_key.nsquare.bit_length() + 7) // 8


def encrypted_sum(updates, public_key, private_key, scale_bits: int = 16, value_bits: int = 32) -> dict:
    """Σ_k updates[k], computed on Paillier ciphertexts: each client packs and encrypts its update
    (one ciphertext), the server adds the ciphertexts, the key holder decrypts and unpacks.

    Returns ``sum``, the ``ciphertexts`` the server held (phe EncryptedNumbers), the CPU seconds (process
    time, unaffected by other programs) spent encrypting (all clients), adding and decrypting, and the
    ``bytes`` uploaded."""
    import phe

    U = v.array("updates", updates)
    if U.ndim != 2 or len(U) == 0:
        raise ValueError(f"updates must be 2-D (clients × parameters), got shape {U.shape}")
    v.finite("updates", U)
    if not isinstance(public_key, phe.PaillierPublicKey):
        raise TypeError(f"public_key must be a phe PaillierPublicKey, got {type(public_key).__name__}")
    if not isinstance(private_key, phe.PaillierPrivateKey) or private_key.public_key != public_key:
        raise TypeError("private_key must be the phe PaillierPrivateKey of public_key")
    layout = slot_layout(U.shape[1], len(U), value_bits, public_key.n.bit_length())
    t0 = time.process_time()
    plaintexts = [pack(u, layout, scale_bits) for u in U]
    ciphertexts = [phe.EncryptedNumber(public_key, public_key.raw_encrypt(m), 0) for m in plaintexts]
    t1 = time.process_time()
    total = ciphertexts[0]
    for c in ciphertexts[1:]:
        total = total + c                      # phe: multiplies the ciphertexts modulo n²
    t2 = time.process_time()
    plain_total = private_key.raw_decrypt(total.ciphertext(be_secure=False))
    result = unpack(plain_total, layout, len(U), scale_bits)
    t3 = time.process_time()
    return {"sum": result, "ciphertexts": ciphertexts, "encrypt_s": t1 - t0, "add_s": t2 - t1, "decrypt_s": t3 - t2,
            "bytes": len(U) * ciphertext_bytes(public_key), "layout": layout}
