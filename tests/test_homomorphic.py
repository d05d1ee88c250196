"""Paillier sums (utils.homomorphic): packing against plain integer arithmetic, and phe's encrypted sum
against the fixed-point sum computed in the clear."""
import numpy as np
import phe
import pytest

from utils import homomorphic as hm

rng = np.random.default_rng(0)
U = rng.normal(0, 0.3, size=(4, 10))


@pytest.fixture(scope="module")
def keys():
    return phe.generate_paillier_keypair(n_length=512)


def test_packed_integers_add_slot_by_slot():
    layout = hm.slot_layout(10, 4, value_bits=24, key_bits=512)
    total = sum(hm.pack(u, layout, scale_bits=12) for u in U)
    expected = np.round(U * 2**12).sum(axis=0) / 2**12
    assert np.array_equal(hm.unpack(total, layout, clients=4, scale_bits=12), expected)
    assert np.array_equal(hm.unpack(hm.pack(U[0], layout, 12), layout, 1, 12), np.round(U[0] * 2**12) / 2**12)
    assert layout["slot_bits"] == 24 + 2


def test_encrypted_sum_is_the_fixed_point_sum(keys):
    pk, sk = keys
    out = hm.encrypted_sum(U, pk, sk, scale_bits=16, value_bits=32)
    assert np.array_equal(out["sum"], np.round(U * 2**16).sum(axis=0) / 2**16)
    assert out["bytes"] == 4 * hm.ciphertext_bytes(pk) == 4 * 128
    assert len(out["ciphertexts"]) == 4 and out["encrypt_s"] > 0


def test_each_ciphertext_alone_hides_nothing_from_the_key_holder(keys):
    pk, sk = keys
    out = hm.encrypted_sum(U, pk, sk)
    alone = hm.unpack(sk.raw_decrypt(out["ciphertexts"][2].ciphertext(be_secure=False)), out["layout"], 1)
    assert np.allclose(alone, U[2], atol=2**-16)
    other_pk, _ = phe.generate_paillier_keypair(n_length=512)
    with pytest.raises(TypeError, match="private_key"):
        hm.encrypted_sum(U, other_pk, sk)
