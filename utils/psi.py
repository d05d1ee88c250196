"""Private set intersection (PSI): which customers do a bank and a retailer share, without showing
each other the rest? Introduced in chapter 08.

Vertical federated learning starts by aligning the two parties' rows on a join key (here a mobile
phone number). Three ways, written out:

* **hashing**: each party sends SHA-256(salt ‖ key) of its keys and the other looks for matches.
  Both parties must use the same salt, so the receiver can hash *every possible* key and read the
  sender's list back: a dictionary attack (``dictionary_attack``). A key space of 10⁸ phone
  numbers is a few minutes of one laptop core;
* **Diffie-Hellman PSI** (Meadows 1986; Huberman, Franklin & Hogg 1999): each party raises the
  hashed keys to a secret exponent, H(x)^a and then (H(x)^a)^b = (H(x)^b)^a. Matching needs both
  secrets, so neither party can test guesses offline (``PSIParty``, ``dh_psi``). It runs in the
  2048-bit group of RFC 3526 (a safe prime p = 2q + 1; hashed keys are squared into the subgroup
  of order q). The party that receives the output learns the intersection of *its input* with the
  other list, so it can put guesses into its input and learn which of them the other party holds
  (input inflation; only the list's length shows it). A teaching version: exponents are seeded for
  reproducibility and nothing protects against a party that deviates from the protocol.
"""
from __future__ import annotations

import hashlib
import random
import secrets

import numpy as np

from utils import validate as v

__all__ = ["MODP_2048", "phone_numbers", "salted_hashes", "hash_match", "dictionary_attack", "hash_to_group",
           "PSIParty", "dh_psi"]

# RFC 3526, section 3: the 2048-bit MODP group (generator 2). p and (p - 1) / 2 are prime.
MODP_2048 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AACAA68FFFFFFFFFFFFFFFF", 16)
EXPONENT_BITS = 256


def _keys(name: str, keys) -> list:
    if isinstance(keys, (str, bytes)) or not isinstance(keys, (list, tuple)):
        raise TypeError(f"{name} must be a list of strings, got {type(keys).__name__}")
    bad = [k for k in keys if not isinstance(k, str) or not k]
    if bad:
        raise ValueError(f"{name} must hold non-empty strings, got {bad[0]!r}")
    return list(keys)


def _salt(salt) -> bytes:
    if not isinstance(salt, bytes):
        raise TypeError(f"salt must be bytes (e.g. secrets.token_bytes(16)), got {type(salt).__name__}")
    return salt


def phone_numbers(count: int, seed: int = 0) -> list:
    """``count`` distinct Taiwanese-style mobile numbers "09" + 8 digits (a key space of 10⁸), seeded."""
    count = v.integer("count", count, 1, 10_000_000)
    rng = np.random.default_rng(v.seed("seed", seed))
    return [f"09{n:08d}" for n in rng.choice(100_000_000, size=count, replace=False)]


def salted_hashes(keys, salt: bytes = b"") -> list:
    """SHA-256(salt ‖ key) of each key, as hex strings (``salt=b""``: plain hashes)."""
    salt = _salt(salt)
    return [hashlib.sha256(salt + k.encode()).hexdigest() for k in _keys("keys", keys)]


def hash_match(keys, their_hashes, salt: bytes = b"") -> list:
    """The keys of ours whose salted hash appears in ``their_hashes``: the hashing "PSI"."""
    if isinstance(their_hashes, (str, bytes)) or not isinstance(their_hashes, (list, tuple, set, frozenset)):
        raise TypeError(f"their_hashes must be a list of hex digests, got {type(their_hashes).__name__}")
    theirs = set(their_hashes)
    keys = _keys("keys", keys)
    return [k for k, h in zip(keys, salted_hashes(keys, salt)) if h in theirs]


def dictionary_attack(hashes, candidates, salt: bytes = b"") -> dict:
    """Invert salted hashes by brute force: hash every candidate key with the (shared) salt and look it
    up. Returns ``{hash: key}`` for every hash recovered. ``candidates``: any iterable of strings."""
    if isinstance(hashes, (str, bytes)) or not isinstance(hashes, (list, tuple, set, frozenset)):
        raise TypeError(f"hashes must be a list of hex digests, got {type(hashes).__name__}")
    if isinstance(candidates, (str, bytes)) or not hasattr(candidates, "__iter__"):
        raise TypeError(f"candidates must be an iterable of strings, got {type(candidates).__name__}")
    salt, wanted, found = _salt(salt), set(hashes), {}
    for key in candidates:
        h = hashlib.sha256(salt + key.encode()).hexdigest()
        if h in wanted:
            found[h] = key
    return found


def hash_to_group(key: str) -> int:
    """A key → an element of the order-q subgroup of Z_p* (p = ``MODP_2048``): expand SHA-512 to
    2304 bits, reduce mod p, square (squares of a safe prime's group form the order-q subgroup)."""
    (key,) = _keys("key", [key])
    digest = b"".join(hashlib.sha512(bytes([i]) + key.encode()).digest() for i in range(4))[:288]
    return pow(int.from_bytes(digest, "big") % MODP_2048, 2, MODP_2048)


class PSIParty:
    """One side of Diffie-Hellman PSI, holding a secret exponent a (``seed=None``: from ``secrets``)."""

    def __init__(self, keys, seed: int | None = None):
        self.keys = _keys("keys", keys)
        if seed is None:
            self._secret = secrets.randbits(EXPONENT_BITS) | 1
        else:
            self._secret = random.Random(v.seed("seed", seed)).getrandbits(EXPONENT_BITS) | 1

    def blind(self) -> list:
        """H(x)^a for each of our keys, in our order: what we send."""
        return [pow(hash_to_group(k), self._secret, MODP_2048) for k in self.keys]

    def reblind(self, values) -> list:
        """y^a for each received y (in the received order): applied to the other side's blinded keys."""
        if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
            raise TypeError(f"values must be a list of group elements, got {type(values).__name__}")
        bad = [x for x in values if not isinstance(x, int) or isinstance(x, bool) or not 1 < x < MODP_2048 - 1]
        if bad:
            raise ValueError(f"values must be integers in (1, p - 1), got {str(bad[0])[:20]!r}")
        return [pow(x, self._secret, MODP_2048) for x in values]


def dh_psi(keys_a, keys_b, seed_a: int | None = None, seed_b: int | None = None) -> dict:
    """Run DH-PSI between A (the bank) and B (the retailer); A learns the intersection of its input
    with B's keys (guesses A adds to its input included), and B learns only how many keys A sent.

    A → B: H(a_i)^α.  B → A: (H(a_i)^α)^β in A's order, and H(b_j)^β.  A computes (H(b_j)^β)^α and
    keeps its keys whose double-blinded value appears among them. Returns the intersection (A's
    keys, in A's order) and the number of group elements each party sent."""
    keys_a, keys_b = _keys("keys_a", keys_a), _keys("keys_b", keys_b)
    seed_a = None if seed_a is None else v.seed("seed_a", seed_a)
    seed_b = None if seed_b is None else v.seed("seed_b", seed_b)
    bank, retailer = PSIParty(keys_a, seed_a), PSIParty(keys_b, seed_b)
    to_b = bank.blind()
    back_to_a, from_b = retailer.reblind(to_b), retailer.blind()
    theirs = set(bank.reblind(from_b))
    shared = [k for k, x in zip(bank.keys, back_to_a) if x in theirs]
    return {"intersection": shared, "sent_by_a": len(to_b), "sent_by_b": len(back_to_a) + len(from_b)}
