"""Bad inputs for every parameter of chapter 06's modules (and the two hooks chapter 06 added to
``fedcore.run_fedavg``). Imported by tests/test_validation.py, which checks the table is complete."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from badinput import CL, EXEMPT, NAN, TH, X, XN, Y, _split, case
from utils import (accounting, client_dp, dpsgd, fedcore, homomorphic, mlp, privacy_attacks, robust, secure_agg,
                   tff_privacy)

# Containers that functions return.
EXEMPT.update({"client_dp.ClinicFederation", "secure_agg.ProtocolRun"})

G = np.array([[3.0, 4.0], [0.5, 0.0], [0.0, 0.0]])
RNG = np.random.default_rng(0)
U = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0], [-1.0, 0.5]])
S = np.full(4, 0.25)
MLP_W = mlp.init_mlp(2, (3,), seed=0)
DP = dpsgd.DPSGD(clip=1.0, noise_multiplier=0.5, sampling_rate=0.5, steps=2, lr=0.1)
LAYOUT = homomorphic.slot_layout(2, 2, 16, 256)


class _Keys:
    """A small real Paillier key pair, made once (key generation takes a moment)."""
    pair = None

    @classmethod
    def get(cls):
        if cls.pair is None:
            import phe

            cls.pair = phe.generate_paillier_keypair(n_length=512)
        return cls.pair


# ---- fedcore: the two hooks ------------------------------------------------------------------------
case("fedcore.run_fedavg", lambda client_update=None, cohort=None:
     fedcore.run_fedavg(CL, 1, lr=0.1, client_update=client_update, cohort=cohort),
     client_update=[(3, TypeError, "client_update")],
     cohort=[("all", TypeError, "cohort"), (lambda rng, K: [0, 0], ValueError, "cohort"),
             (lambda rng, K: [5], ValueError, "cohort")])
# ---- dpsgd -------------------------------------------------------------------------------------------
case("dpsgd.clip_rows", lambda G=G, clip=1.0: dpsgd.clip_rows(G, clip),
     G=[(G[0], ValueError, "2-dimensional"), ("g", TypeError)], clip=[(0, ValueError, "clip")])
case("dpsgd.noisy_clipped_sum", lambda G=G, clip=1.0, noise_multiplier=1.0, rng=RNG:
     dpsgd.noisy_clipped_sum(G, clip, noise_multiplier, rng),
     G=[(np.full((2, 2), NAN), ValueError, "NaN")], clip=[(-1, ValueError)], noise_multiplier=[(-0.5, ValueError)],
     rng=[(0, TypeError, "rng")])
case("dpsgd.logistic_example_gradients", lambda theta=TH, X=X, y=Y: dpsgd.logistic_example_gradients(theta, X, y),
     theta=[(np.zeros(2), ValueError)], X=[(XN, ValueError, "NaN")], y=[(Y * 3, ValueError, "0 or 1")])
case("dpsgd.DPSGD", lambda clip=1.0, noise_multiplier=1.0, sampling_rate=0.2, steps=5, lr=0.1:
     dpsgd.DPSGD(clip, noise_multiplier, sampling_rate, steps, lr),
     clip=[(0.0, ValueError)], noise_multiplier=[(-1, ValueError)], sampling_rate=[(0.0, ValueError), (1.5, ValueError)],
     steps=[(0, ValueError), (2.5, ValueError)], lr=[("fast", TypeError)])
case("dpsgd.DPSGD.total_steps", lambda rounds: DP.total_steps(rounds), rounds=[(-1, ValueError), (1.5, ValueError)])
case("dpsgd.DPSGD.client_update", lambda theta=TH, X=X, y=Y, rng=RNG: DP.client_update(theta, X, y, rng),
     theta=[(np.zeros(4), ValueError)], X=[(XN, ValueError, "NaN")], y=[(Y[:2], ValueError, "rows")],
     rng=[(None, TypeError, "rng")])
case("dpsgd.mean_per_centre_accuracy", lambda theta=TH, clients=CL: dpsgd.mean_per_centre_accuracy(theta, clients),
     theta=[(np.zeros(5), ValueError)], clients=[({}, ValueError, "empty")])
case("dpsgd.dp_fedavg_accuracy", lambda split=None, dp=DP, rounds=1, seeds=(0,):
     dpsgd.dp_fedavg_accuracy(_split() if split is None else split, dp, rounds, seeds),
     split=[(CL, TypeError, "split")], dp=[("dp", TypeError, "dp")], rounds=[(0, ValueError)],
     seeds=[(3, TypeError, "seeds"), ((-1,), ValueError, "seeds[0]")])
# ---- mlp ---------------------------------------------------------------------------------------------
case("mlp.init_mlp", lambda n_features=2, hidden=(3,), seed=0: mlp.init_mlp(n_features, hidden, seed),
     n_features=[(0, ValueError)], hidden=[("wide", TypeError), ((0,), ValueError, "hidden[0]")], seed=[(-1, ValueError)])
case("mlp.mlp_proba", lambda weights=MLP_W, X=X: mlp.mlp_proba(weights, X),
     weights=[(MLP_W[:3], ValueError, "weights"), ("w", TypeError)], X=[(np.ones((2, 3)), ValueError, "3")])
case("mlp.mlp_loss", lambda weights=MLP_W, X=X, y=Y, per_example=False: mlp.mlp_loss(weights, X, y, per_example),
     weights=[([np.ones((2, 3)), np.ones(2)], ValueError, "chain")], X=[(XN, ValueError, "NaN")],
     y=[(Y[:3], ValueError, "entries")], per_example=[("yes", TypeError)])
case("mlp.mlp_gradient", lambda weights=MLP_W, X=X, y=Y: mlp.mlp_gradient(weights, X, y),
     weights=[([np.ones((2, 2)), np.ones(2)], ValueError, "one output")], X=[("X", TypeError)], y=[(Y + 2, ValueError)])
case("mlp.train_mlp", lambda X=X, y=Y, hidden=(3,), steps=2, sampling_rate=0.5, lr=0.01, seed=0, clip=None,
     noise_multiplier=0.0, weights=None, progress=False:
     mlp.train_mlp(X, y, hidden, steps, sampling_rate, lr, seed, clip, noise_multiplier, weights, progress),
     X=[(XN, ValueError, "NaN")], y=[(Y[:4], ValueError, "rows")], hidden=[({"a": 1}, TypeError)],
     steps=[(0, ValueError)], sampling_rate=[(0, ValueError)], lr=[(-1, ValueError)], seed=[(2**40, ValueError)],
     clip=[(0, ValueError)], noise_multiplier=[(1.0, ValueError, "clip norm"), (-1.0, ValueError)],
     weights=[(mlp.init_mlp(3, (2,)), ValueError, "features")], progress=[(1, TypeError)])
# ---- accounting ----------------------------------------------------------------------------------------
case("accounting.poisson_epsilon", lambda noise_multiplier=1.0, sampling_rate=0.1, steps=10, delta=1e-5, accountant="rdp":
     accounting.poisson_epsilon(noise_multiplier, sampling_rate, steps, delta, accountant),
     noise_multiplier=[(0, ValueError)], sampling_rate=[(1.5, ValueError)], steps=[(0, ValueError)],
     delta=[(0, ValueError), (1.0, ValueError)], accountant=[("moments", ValueError, "moments")])
case("accounting.fixed_size_epsilon", lambda noise_multiplier=1.0, sample_size=10, population=100, steps=10, delta=1e-5,
     accountant="rdp": accounting.fixed_size_epsilon(noise_multiplier, sample_size, population, steps, delta, accountant),
     noise_multiplier=[(-1, ValueError)], sample_size=[(101, ValueError), (0, ValueError)], population=[(0, ValueError)],
     steps=[(1.5, ValueError)], delta=[(NAN, ValueError)], accountant=[("pld", ValueError, "pld")])
case("accounting.wbk_fixed_size_rdp", lambda noise_multiplier=1.0, sampling_rate=0.1, orders=(2, 3):
     accounting.wbk_fixed_size_rdp(noise_multiplier, sampling_rate, orders),
     noise_multiplier=[(0, ValueError)], sampling_rate=[(0, ValueError)], orders=[((1.5, 2), ValueError, "orders")])
case("accounting.noise_for_epsilon", lambda target_epsilon=1.0, sampling_rate=0.1, steps=10, delta=1e-5, accountant="rdp",
     tolerance=1e-3: accounting.noise_for_epsilon(target_epsilon, sampling_rate, steps, delta, accountant, tolerance),
     target_epsilon=[(0, ValueError)], sampling_rate=[(-0.1, ValueError)], steps=[(0, ValueError)],
     delta=[(2.0, ValueError)], accountant=[("rpd", ValueError)], tolerance=[(0, ValueError)])
# ---- client_dp --------------------------------------------------------------------------------------
case("client_dp.ClientDP", lambda clip=1.0, noise_multiplier=1.0, expected_clients=4, seed=0:
     client_dp.ClientDP(clip, noise_multiplier, expected_clients, seed),
     clip=[(0, ValueError)], noise_multiplier=[(NAN, ValueError)], expected_clients=[(0, ValueError)],
     seed=[(-2, ValueError)])
case("client_dp.ClientDP.aggregate", lambda updates=U, shares=S: client_dp.ClientDP(1.0, 0.0, 4).aggregate(updates, shares),
     updates=[(U[0], ValueError, "2-D"), (np.full((2, 2), NAN), ValueError, "NaN")], shares=[("s", TypeError)])
case("client_dp.poisson_cohort", lambda rate: client_dp.poisson_cohort(rate), rate=[(0, ValueError), (2, ValueError)])
case("client_dp.fixed_cohort", lambda size: client_dp.fixed_cohort(size), size=[(0, ValueError), (1.5, ValueError)])
case("client_dp.twin_clinics", lambda clinics_per_hospital=2, patients_per_hospital=50, seed=0:
     client_dp.twin_clinics(clinics_per_hospital, patients_per_hospital, seed),
     clinics_per_hospital=[(0, ValueError), (200, ValueError, "too few")], patients_per_hospital=[(5, ValueError)],
     seed=[("s", TypeError)])
# ---- privacy_attacks --------------------------------------------------------------------------------
case("privacy_attacks.invert_one_row_gradient", lambda gradient: privacy_attacks.invert_one_row_gradient(gradient),
     gradient=[([1.0], ValueError), ([1.0, 0.0], ValueError, "bias"), ("g", TypeError)])
case("privacy_attacks.class_means_from_gradients", lambda grad_a=(0.1, -0.2), grad_b=(0.3, 0.1), bias_a=0.0, bias_b=1.0:
     privacy_attacks.class_means_from_gradients(grad_a, grad_b, bias_a, bias_b),
     grad_a=[((0.1,), ValueError)], grad_b=[((0.1, 0.2, 0.3), ValueError, "entries")], bias_a=[(1.0, ValueError, "differ")],
     bias_b=[("b", TypeError)])
case("privacy_attacks.label_share_from_update", lambda update=(0.0, 0.01), lr=0.1, steps=1:
     privacy_attacks.label_share_from_update(update, lr, steps),
     update=[([], ValueError, "empty")], lr=[(0, ValueError)], steps=[(0, ValueError)])
case("privacy_attacks.same_gradient_batch", lambda theta=TH, X=X, y=Y, distance=0.1, seed=0, iterations=50:
     privacy_attacks.same_gradient_batch(theta, X, y, distance, seed, iterations),
     theta=[(np.zeros(4), ValueError)], X=[(X[:1], ValueError, "rows")], y=[(Y - 1, ValueError, "0 or 1")],
     distance=[(0, ValueError)], seed=[(-1, ValueError)], iterations=[(0, ValueError)])
case("privacy_attacks.first_layer_inversion", lambda grad_weights=np.ones((2, 3)), grad_bias=np.ones(3), tiny=1e-12:
     privacy_attacks.first_layer_inversion(grad_weights, grad_bias, tiny),
     grad_weights=[(np.ones(3), ValueError, "2-D")], grad_bias=[(np.ones(2), ValueError, "entries")], tiny=[(0, ValueError)])
case("privacy_attacks.matched_rows", lambda candidates=np.ones((1, 2)), X=X, tolerance=1e-6:
     privacy_attacks.matched_rows(candidates, X, tolerance),
     candidates=[(np.ones((1, 3)), ValueError, "columns")], X=[(XN, ValueError, "NaN")], tolerance=[(-1, ValueError)])
for name in ("roc_auc", "roc_points"):
    f = getattr(privacy_attacks, name)
    case(f"privacy_attacks.{name}", lambda member_scores=(0.1, 0.9), nonmember_scores=(0.2, 0.3), f=f:
         f(member_scores, nonmember_scores),
         member_scores=[([], ValueError, "empty")], nonmember_scores=[([0.1, NAN], ValueError, "NaN")])
case("privacy_attacks.auc_interval", lambda member_scores=(0.1, 0.9), nonmember_scores=(0.2, 0.3), n_boot=20, level=0.9,
     seed=0: privacy_attacks.auc_interval(member_scores, nonmember_scores, n_boot, level, seed),
     member_scores=[("abc", TypeError)], nonmember_scores=[([[0.1]], ValueError)], n_boot=[(5, ValueError)],
     level=[(1.0, ValueError)], seed=[(0.5, ValueError)])
case("privacy_attacks.attack_features", lambda probabilities=(0.2, 0.9), labels=(0, 1):
     privacy_attacks.attack_features(probabilities, labels),
     probabilities=[((0.2, 1.5), ValueError, "[0, 1]")], labels=[((0, 2), ValueError, "0 or 1")])
case("privacy_attacks.shadow_attack", lambda shadow_features=np.eye(4)[:, :3], shadow_membership=(1, 0, 1, 0),
     target_features=np.ones((2, 3)): privacy_attacks.shadow_attack(shadow_features, shadow_membership, target_features),
     shadow_features=[(np.ones(4), ValueError)], shadow_membership=[((1, 1, 1, 1), ValueError, "both")],
     target_features=[(np.ones((2, 2)), ValueError, "3 columns")])
# ---- robust --------------------------------------------------------------------------------------------
case("robust.norm_clipped_mean", lambda updates=U, shares=S, clip=1.0: robust.norm_clipped_mean(updates, shares, clip),
     updates=[(np.ones(3), ValueError, "2-D")], shares=[([1, -1, 1, 1], ValueError, "shares")], clip=[(0, ValueError)])
case("robust.coordinate_median", lambda updates=U, shares=None: robust.coordinate_median(updates, shares),
     updates=[(np.full((2, 2), NAN), ValueError, "NaN")], shares=[([1, 1], ValueError, "entries")])
case("robust.trimmed_mean", lambda updates=U, shares=S, trim=1: robust.trimmed_mean(updates, shares, trim),
     updates=[("u", TypeError)], shares=[([0, 0, 0, 0], ValueError, "positive")], trim=[(2, ValueError, "2·trim"), (-1, ValueError)])
case("robust.scaled_update", lambda factor: robust.scaled_update(factor), factor=[(NAN, ValueError), ("x", TypeError)])
case("robust.directed_update", lambda direction: robust.directed_update(direction),
     direction=[((0.0, 0.0), ValueError, "zero"), ("d", TypeError)])
case("robust.with_attack", lambda aggregate=None, attacker=0, attack=lambda u: u: robust.with_attack(aggregate, attacker, attack),
     aggregate=[("mean", TypeError)], attacker=[(-1, ValueError)], attack=[(2.0, TypeError)])
case("robust.extreme_share", lambda updates=U, client=0, trim=1: robust.extreme_share(updates, client, trim),
     updates=[(U[:1, :1].ravel(), ValueError)], client=[(4, ValueError)], trim=[(0, ValueError), (2, ValueError, "2·trim")])
# ---- secure_agg ------------------------------------------------------------------------------------------
case("secure_agg.encode", lambda values=(0.5, -0.25), scale_bits=8, modulus_bits=16:
     secure_agg.encode(values, scale_bits, modulus_bits),
     values=[((1000.0,), ValueError, "within"), ((NAN,), ValueError, "NaN")], scale_bits=[(16, ValueError, "smaller")],
     modulus_bits=[(64, ValueError), (2.5, ValueError)])
case("secure_agg.decode", lambda encoded=np.array([1, 2], dtype=np.uint64), scale_bits=8, modulus_bits=16:
     secure_agg.decode(encoded, scale_bits, modulus_bits),
     encoded=[(np.array([0.5]), ValueError, "integers"), (np.array([2**20]), ValueError, "integers")],
     scale_bits=[(-1, ValueError)], modulus_bits=[(1, ValueError)])
case("secure_agg.prg", lambda seed=b"k" * 32, length=3, modulus_bits=32: secure_agg.prg(seed, length, modulus_bits),
     seed=[(b"short", TypeError, "32 bytes"), ("s" * 32, TypeError)], length=[(-1, ValueError)], modulus_bits=[(0, ValueError)])
case("secure_agg.share_secret", lambda secret=5, threshold=2, n_shares=3, prime=secure_agg.PRIME:
     secure_agg.share_secret(secret, threshold, n_shares, prime),
     secret=[(-1, ValueError, "secret"), (1.5, ValueError, "secret")], threshold=[(4, ValueError)], n_shares=[(0, ValueError)],
     prime=[(2.0, TypeError, "prime")])
case("secure_agg.reconstruct_secret", lambda shares=[(1, 5), (2, 7)], prime=secure_agg.PRIME:
     secure_agg.reconstruct_secret(shares, prime),
     shares=[([(1, 5), (1, 7)], ValueError, "distinct"), ([], TypeError)], prime=[("p", TypeError)])
case("secure_agg.run_protocol", lambda updates=U, dropped=(), late=(), threshold=None, scale_bits=8, modulus_bits=24,
     self_masks=True: secure_agg.run_protocol(updates, dropped, late, threshold, scale_bits, modulus_bits, self_masks),
     updates=[(U[:1], ValueError, "2 clients")], dropped=[((0, 1, 2), ValueError, "threshold"), ((7,), ValueError)],
     late=[("all", TypeError)], threshold=[(1, ValueError), (5, ValueError)], scale_bits=[(30, ValueError)],
     modulus_bits=[(70, ValueError)], self_masks=[("yes", TypeError)])
# ---- homomorphic -------------------------------------------------------------------------------------------
case("homomorphic.slot_layout", lambda count=2, clients=2, value_bits=16, key_bits=256:
     homomorphic.slot_layout(count, clients, value_bits, key_bits),
     count=[(100, ValueError, "do not fit"), (0, ValueError)], clients=[(0, ValueError)], value_bits=[(1, ValueError)],
     key_bits=[(100, ValueError)])
case("homomorphic.pack", lambda values=(0.5, -0.5), layout=LAYOUT, scale_bits=8: homomorphic.pack(values, layout, scale_bits),
     values=[((0.5,), ValueError, "layout"), ((1e6, 0.0), ValueError, "within")], layout=[({}, TypeError, "layout")],
     scale_bits=[(20, ValueError)])
case("homomorphic.unpack", lambda total=0, layout=LAYOUT, clients=1, scale_bits=8: homomorphic.unpack(total, layout, clients, scale_bits),
     total=[(-1, TypeError), (1.5, TypeError)], layout=[(None, TypeError)], clients=[(3, ValueError)], scale_bits=[(-1, ValueError)])
case("homomorphic.ciphertext_bytes", lambda public_key: homomorphic.ciphertext_bytes(public_key),
     public_key=[("key", TypeError)])
case("homomorphic.encrypted_sum", lambda updates=U[:2], public_key=None, private_key=None, scale_bits=8, value_bits=16:
     homomorphic.encrypted_sum(updates, _Keys.get()[0] if public_key is None else public_key,
                               _Keys.get()[1] if private_key is None else private_key, scale_bits, value_bits),
     updates=[(np.ones(2), ValueError, "2-D")], public_key=[("pk", TypeError)], private_key=[("sk", TypeError)],
     scale_bits=[(15, ValueError)], value_bits=[(100, ValueError)])
# ---- tff_privacy (bad values are refused before any TFF computation is built) ----------------------------
FAKE_PROCESS = SimpleNamespace(get_hparams=None, set_hparams=None, get_model_weights=None, set_model_weights=None)
FAKE_STATE = SimpleNamespace(global_model_weights=None, client_work=None)
case("tff_privacy.logistic_model_fn", lambda n_features=2, batched_labels=True:
     tff_privacy.logistic_model_fn(n_features, batched_labels),
     n_features=[(0, ValueError)], batched_labels=[("yes", TypeError)])
case("tff_privacy.dp_sgd_client_work", lambda model_fn=lambda: None, dp=DP, n_features=2:
     tff_privacy.dp_sgd_client_work(model_fn, dp, n_features),
     model_fn=[(3, TypeError)], dp=[({"clip": 1}, TypeError, "DPSGD")], n_features=[(0, ValueError)])
case("tff_privacy.build_dp_sgd_process", lambda model_fn=lambda: None, client_work="work":
     tff_privacy.build_dp_sgd_process(model_fn, client_work),
     model_fn=[(None, TypeError)], client_work=[("work", TypeError, "client_work")])
case("tff_privacy.with_dp_settings", lambda process=FAKE_PROCESS, state=FAKE_STATE, dp=DP:
     tff_privacy.with_dp_settings(process, state, dp),
     process=[(3, TypeError)], state=[({}, TypeError, "state")], dp=[(0.5, TypeError)])
case("tff_privacy.dp_client_data", lambda clients=CL, round_number=0, seed=0: tff_privacy.dp_client_data(clients, round_number, seed),
     clients=[({"a": (X, Y * 2)}, ValueError, "0 or 1")], round_number=[(-1, ValueError)], seed=[(-1, ValueError)])
case("tff_privacy.build_client_dp_process", lambda model_fn=lambda: None, noise_multiplier=1.0, clients_per_round=4,
     clip=1.0, client_lr=0.1: tff_privacy.build_client_dp_process(model_fn, noise_multiplier, clients_per_round, clip, client_lr),
     model_fn=[("m", TypeError)], noise_multiplier=[(-1, ValueError)], clients_per_round=[(0, ValueError)],
     clip=[(0, ValueError)], client_lr=[(NAN, ValueError)])
case("tff_privacy.aggregate_in_tff", lambda factory=None, updates=U, weights=None, rounds=1:
     tff_privacy.aggregate_in_tff(__import__("tensorflow_federated").aggregators.UnweightedMeanFactory()
                                  if factory is None else factory, updates, weights, rounds),
     factory=[("mean", TypeError)], updates=[(np.ones(3), ValueError, "2-D")], weights=[(S, ValueError, "unweighted")],
     rounds=[(0, ValueError)])
case("tff_privacy.global_weights", lambda process=FAKE_PROCESS, state=FAKE_STATE: tff_privacy.global_weights(process, state),
     process=[(None, TypeError)], state=[(None, TypeError, "state")])
case("tff_privacy.set_global_weights", lambda process=FAKE_PROCESS, state=FAKE_STATE, theta=(1.0,):
     tff_privacy.set_global_weights(process, state, theta),
     process=[("p", TypeError)], state=[(1, TypeError)], theta=[((1.0,), ValueError, "at least one weight")])
