"""utils.psi: hashing, the dictionary attack, the RFC 3526 group, Diffie-Hellman PSI."""
import hashlib
import random

import pytest

from utils.psi import (MODP_2048, PSIParty, dh_psi, dictionary_attack, hash_match, hash_to_group, phone_numbers,
                       salted_hashes)


def _probably_prime(n: int, rounds: int = 20) -> bool:
    """Miller-Rabin with fixed random bases (independent of the module under test)."""
    if n % 2 == 0:
        return n == 2
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    rng = random.Random(0)
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def test_modp_group_is_a_2048_bit_safe_prime():
    assert MODP_2048.bit_length() == 2048
    assert _probably_prime(MODP_2048) and _probably_prime((MODP_2048 - 1) // 2)
    assert not _probably_prime(MODP_2048 + 2)                        # the test can say no


def test_phone_numbers_are_distinct_and_well_formed():
    numbers = phone_numbers(5000, seed=1)
    assert len(set(numbers)) == 5000 and all(len(n) == 10 and n.startswith("09") and n.isdigit() for n in numbers)
    assert numbers == phone_numbers(5000, seed=1) != phone_numbers(5000, seed=2)


def test_salted_hashes_and_matching():
    assert salted_hashes(["0912345678"], b"s") == [hashlib.sha256(b"s0912345678").hexdigest()]
    assert salted_hashes(["0912345678"]) == [hashlib.sha256(b"0912345678").hexdigest()]
    mine, theirs = ["0900000001", "0900000002", "0900000003"], ["0900000003", "0900000001", "0999999999"]
    assert hash_match(mine, salted_hashes(theirs, b"k"), b"k") == ["0900000001", "0900000003"]
    assert hash_match(mine, salted_hashes(theirs, b"k"), b"other salt") == []


def test_dictionary_attack_recovers_every_key_in_the_searched_block():
    keys = ["0900000123", "0900000999", "0912345678"]
    hashes = salted_hashes(keys, b"secret salt")
    found = dictionary_attack(hashes, (f"09{n:08d}" for n in range(1000)), b"secret salt")
    assert sorted(found.values()) == ["0900000123", "0900000999"]
    assert dictionary_attack(hashes, (f"09{n:08d}" for n in range(1000)), b"wrong") == {}


def test_hash_to_group_lands_in_the_prime_order_subgroup():
    q = (MODP_2048 - 1) // 2
    for key in ("0912345678", "a", "0900000000"):
        h = hash_to_group(key)
        assert 1 < h < MODP_2048 and pow(h, q, MODP_2048) == 1      # a square: order divides q
    assert hash_to_group("x") == hash_to_group("x") != hash_to_group("y")


def test_blinding_commutes():
    a, b = PSIParty(["k"], seed=1), PSIParty(["k"], seed=2)
    assert b.reblind(a.blind()) == a.reblind(b.blind())
    assert PSIParty(["k"], seed=1).blind() == a.blind() != PSIParty(["k"]).blind()   # None: a fresh secret


def test_dh_psi_finds_exactly_the_intersection():
    bank = [f"09{n:08d}" for n in range(0, 30)]
    retailer = [f"09{n:08d}" for n in range(20, 45)]
    result = dh_psi(bank, retailer, seed_a=3, seed_b=4)
    assert result["intersection"] == [f"09{n:08d}" for n in range(20, 30)]
    assert result["sent_by_a"] == 30 and result["sent_by_b"] == 30 + 25
    assert dh_psi(bank, ["0999999999"], 1, 2)["intersection"] == []


def test_blinded_values_resist_the_dictionary():
    """Even the true keys, hashed into the group, match none of the values A sends."""
    keys = [f"09{n:08d}" for n in range(10)]
    sent = set(PSIParty(keys, seed=9).blind())
    assert not sent & {hash_to_group(k) for k in keys}
    with pytest.raises(ValueError, match="values"):
        PSIParty(keys, seed=9).reblind([0])


def test_the_output_party_learns_which_of_its_guesses_the_other_holds():
    """Input inflation: DH-PSI answers for every key A puts in, its own customers or guesses alike;
    B sees only how many keys A sent."""
    a, b = ["0900000001", "0900000002"], ["0900000002", "0900000003", "0900000004"]
    guesses = ["0900000003", "0900000009"]
    result = dh_psi(a + guesses, b, seed_a=3, seed_b=4)
    assert result["intersection"] == ["0900000002", "0900000003"]
    assert result["sent_by_a"] == len(a) + len(guesses)
