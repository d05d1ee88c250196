"""Secure aggregation (utils.secure_agg): fixed point, the PRG, Shamir sharing checked with a small
prime by brute force, and the protocol's sums under dropouts and late clients."""
import itertools

import numpy as np
import pytest

from utils import secure_agg as sa

rng = np.random.default_rng(0)
UPDATES = rng.normal(0, 0.2, size=(5, 9))


def test_fixed_point_round_trip_and_wrapping_sums():
    x = np.array([0.5, -0.25, 1e-3, -3.0])
    assert np.allclose(sa.decode(sa.encode(x)), x, atol=2**-17)
    assert sa.encode([-1.0])[0] == 2**32 - 2**16  # two's complement
    total = np.bitwise_and(sa.encode(UPDATES).sum(axis=0, dtype=np.uint64), np.uint64(2**32 - 1))
    assert np.allclose(sa.decode(total), UPDATES.sum(axis=0), atol=5 * 2**-17)


def test_prg_is_deterministic_in_range_and_roughly_uniform():
    a, b = sa.prg(b"a" * 32, 20000, 16), sa.prg(b"a" * 32, 20000, 16)
    assert np.array_equal(a, b) and not np.array_equal(a, sa.prg(b"b" * 32, 20000, 16))
    assert a.max() < 2**16 and abs(a.mean() / 2**15 - 1) < 0.02


@pytest.mark.parametrize("t, n", [(2, 3), (3, 5)])
def test_shamir_any_t_shares_reconstruct_fewer_do_not(t, n):
    prime = 257
    secret = 123
    shares = sa.share_secret(secret, t, n, prime)
    for subset in itertools.combinations(shares, t):
        assert sa.reconstruct_secret(list(subset), prime) == secret
    # t − 1 shares reveal nothing: the first share is uniform over the field whatever the secret.
    for s in (5, 200):
        first = [sa.share_secret(s, t, n, prime)[0][1] for _ in range(4000)]
        counts = np.bincount(first, minlength=prime)
        assert abs(np.mean(first) - (prime - 1) / 2) < 6 and counts.max() < 40
    big = sa.share_secret(2**255 + 17, 3, 4)
    assert sa.reconstruct_secret(big[1:], sa.PRIME) == 2**255 + 17


def plain(clients):
    return np.bitwise_and(sa.encode(UPDATES[clients]).sum(axis=0, dtype=np.uint64), np.uint64(2**32 - 1))


@pytest.mark.parametrize("dropped, late", [((), ()), ((1,), ()), ((0, 4), ()), ((), (2,)), ((3,), (0,))])
def test_the_masked_sum_is_the_plain_sum_of_the_survivors(dropped, late):
    run = sa.run_protocol(UPDATES, dropped=dropped, late=late, threshold=3)
    survivors = [i for i in range(5) if i not in dropped and i not in late]
    assert run.survivors == survivors
    assert np.array_equal(run.total, plain(survivors))
    for i, y in run.late_unmasked.items():
        assert (y != sa.encode(UPDATES[i])).mean() > 0.9


def test_without_self_masks_a_late_client_is_exposed():
    run = sa.run_protocol(UPDATES, late=(2,), self_masks=False)
    assert np.array_equal(run.late_unmasked[2], sa.encode(UPDATES[2]))
    assert np.array_equal(run.total, plain([0, 1, 3, 4]))


def test_what_the_server_receives_does_not_look_like_the_updates():
    run = sa.run_protocol(UPDATES)
    seen = np.array([run.server_view[i] for i in range(5)], dtype=float)
    assert abs(np.corrcoef(seen.ravel(), UPDATES.ravel())[0, 1]) < 0.5
    assert seen.mean() / 2**31 == pytest.approx(1.0, abs=0.25)


def test_too_few_survivors_lose_the_round():
    with pytest.raises(ValueError, match="threshold"):
        sa.run_protocol(UPDATES, dropped=(0, 1, 2), threshold=3)
