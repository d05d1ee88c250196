"""Bad inputs for every parameter of chapter 08's modules (run by tests/test_validation.py)."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from badinput import EXEMPT, NAN, X, XN, Y, case
from utils import banks, credit, credit_standin, domains, forecast, power, power_standin, psi, vertical

# Containers that functions return (their methods are registered below all the same).
EXEMPT.update({"credit.CreditData", "power.PowerData", "banks.BankSplit", "forecast.ZoneSplit", "vertical.SplitRun"})

URL_BAD = "ftp://example.org/"


@lru_cache(maxsize=1)
def _credit():
    return credit.load_credit("synthetic")


@lru_cache(maxsize=1)
def _banks():
    return banks.bank_split(_credit())


@lru_cache(maxsize=1)
def _power():
    return power.load_power("synthetic")


@lru_cache(maxsize=1)
def _zones():
    return forecast.zone_split(_power())


class _FakeProcess:
    """Looks like build_bank_process()'s result to the argument checks (which run before any TFF work)."""

    n_features = 28

    def next(self, *args):
        raise AssertionError("a bad input must be refused before training starts")


def _frame_without(column):
    return _credit().frame.drop(columns=column)


# ---- credit ------------------------------------------------------------------------------------------------
case("credit.education_group", lambda codes: credit.education_group(codes),
     codes=[([1, 9], ValueError, "9"), ("12", TypeError, "codes")])
case("credit.fetch_credit", lambda data_dir="/nonexistent", base_url=credit.BASE_URL, timeout=1.0:
     credit.fetch_credit(data_dir, base_url, timeout),
     data_dir=[(3, TypeError)], base_url=[(URL_BAD, ValueError, "base_url")], timeout=[(0, ValueError)])
case("credit.parse_credit_csv", lambda path: credit.parse_credit_csv(path), path=[(None, TypeError)])
case("credit.load_credit", lambda source="synthetic", data_dir=None, seed=0, base_url=credit.BASE_URL, timeout=1.0:
     credit.load_credit(source, data_dir, seed, base_url, timeout),
     source=[("web", ValueError, "'web'")], data_dir=[(5, TypeError)], seed=[(-1, ValueError)],
     base_url=[(URL_BAD, ValueError, "base_url")], timeout=[(-2, ValueError)])
case("credit.model_features", lambda frame: credit.model_features(frame),
     frame=[(np.ones((2, 3)), TypeError, "frame"), (pd.DataFrame({"AGE": [30]}), ValueError, "LIMIT_BAL")])

# ---- credit_standin ------------------------------------------------------------------------------------------
case("credit_standin.calibrate_credit", lambda frame: credit_standin.calibrate_credit(frame),
     frame=[("table", TypeError, "frame"), (pd.DataFrame({"ID": [1]}), ValueError, "columns")])
case("credit_standin.CreditStandIn", lambda params: credit_standin.CreditStandIn(params),
     params=[({"groups": {}}, ValueError, "params"), ([1, 2], ValueError, "params")])
case("credit_standin.CreditStandIn.sample", lambda seed: credit_standin.CreditStandIn().sample(seed),
     seed=[(1.5, ValueError, "seed"), ("1", TypeError, "seed")])

# ---- power ---------------------------------------------------------------------------------------------------
case("power.fetch_power", lambda data_dir="/nonexistent", base_url=power.BASE_URL, timeout=1.0:
     power.fetch_power(data_dir, base_url, timeout),
     data_dir=[([], TypeError)], base_url=[(URL_BAD, ValueError, "base_url")], timeout=[(NAN, ValueError)])
case("power.parse_power_zip", lambda path: power.parse_power_zip(path), path=[(3.0, TypeError)])
case("power.load_power", lambda source="synthetic", data_dir=None, seed=0, base_url=power.BASE_URL, timeout=1.0:
     power.load_power(source, data_dir, seed, base_url, timeout),
     source=[("cache", ValueError, "'cache'")], data_dir=[(1, TypeError)], seed=[(2**33, ValueError)],
     base_url=[(7, ValueError, "base_url")], timeout=[(0, ValueError)])
case("power.hourly", lambda frame: power.hourly(frame),
     frame=[([1, 2], TypeError, "frame"), (pd.DataFrame({"time": []}), ValueError, "lacks")])

# ---- power_standin -------------------------------------------------------------------------------------------
case("power_standin.calibrate_power", lambda frame: power_standin.calibrate_power(frame),
     frame=[(None, TypeError, "frame"), (pd.DataFrame({"time": [1]}), ValueError, "lacks")])
case("power_standin.PowerStandIn", lambda params: power_standin.PowerStandIn(params),
     params=[({"weather": {}}, ValueError, "params"), ("x", ValueError, "params")])
case("power_standin.PowerStandIn.sample", lambda seed: power_standin.PowerStandIn().sample(seed),
     seed=[(-3, ValueError, "seed")])

# ---- banks ---------------------------------------------------------------------------------------------------
case("banks.bank_split", lambda data=None, fractions=(0.6, 0.2, 0.2), seed=0:
     banks.bank_split(_credit() if data is None else data, fractions, seed),
     data=[(pd.DataFrame(), TypeError, "CreditData")], fractions=[((0.5, 0.5), ValueError, "3 entries"),
                                                                   ((0.6, 0.6, -0.2), ValueError, "sum to 1")],
     seed=[(True, TypeError, "seed")])
case("banks.BankSplit.part", lambda name: _banks().part(name), name=[("test2", ValueError, "'test2'")])
case("banks.BankSplit.pooled", lambda name: _banks().pooled(name), name=[("all", ValueError, "'all'")])
case("banks.auc", lambda y=Y, scores=X[:, 0]: banks.auc(y, scores),
     y=[(Y * 3, ValueError, "0 or 1")], scores=[(X[:3, 0], ValueError, "5 entries"), ([NAN] * 5, ValueError, "NaN")])
case("banks.recall_at_fpr", lambda y=Y, scores=X[:, 0], fpr=0.1: banks.recall_at_fpr(y, scores, fpr),
     y=[("y", TypeError)], scores=[(np.ones((5, 2)), ValueError, "1-dimensional")], fpr=[(1.0, ValueError, "fpr"),
                                                                                        (0, ValueError, "fpr")])
case("banks.bank_metrics", lambda model=None, split=None, part="test", fpr=0.1:
     banks.bank_metrics(np.zeros(29) if model is None else model, _banks() if split is None else split, part, fpr),
     model=[(np.zeros(5), ValueError, "columns"), ({"graduate": np.zeros(29)}, ValueError, "no entry")],
     split=[({"a": 1}, TypeError, "BankSplit")], part=[("holdout", ValueError, "'holdout'")], fpr=[(1.5, ValueError)])
case("banks.train_logistic", lambda X=X, y=Y, l2=0.1: banks.train_logistic(X, y, l2),
     X=[(XN, ValueError, "NaN")], y=[(Y + 1, ValueError, "0 or 1")], l2=[(-1, ValueError, "l2")])
case("banks.run_numpy_banks",
     lambda split=None, rounds=1, client_lr=0.1, server="sgd", server_lr=1.0, epsilon=1e-3, batch_size=4096, epochs=1,
     seed=0, part="train", shuffle=True:
     banks.run_numpy_banks(_banks() if split is None else split, rounds, client_lr, server, server_lr, epsilon,
                           batch_size, epochs, seed, part, shuffle),
     split=[("banks", TypeError, "BankSplit")], rounds=[(0, ValueError, "rounds")], client_lr=[(0, ValueError)],
     server=[("yogi", ValueError, "'yogi'")], server_lr=[(-1, ValueError)], epsilon=[(0, ValueError, "epsilon")],
     batch_size=[(0, ValueError)], epochs=[(2.5, ValueError)], seed=[(-1, ValueError)], part=[("x", ValueError)],
     shuffle=[("yes", TypeError)])
case("banks.build_bank_process", lambda n_features=28, client_lr=0.1, server="sgd", server_lr=1.0, epsilon=1e-3:
     banks.build_bank_process(n_features, client_lr, server, server_lr, epsilon),
     n_features=[(0, ValueError)], client_lr=[("0.1", TypeError)], server=[("adagrad", ValueError)],
     server_lr=[(0, ValueError)], epsilon=[(-1e-3, ValueError)])
case("banks.run_tff_banks",
     lambda process=None, split=None, rounds=1, batch_size=64, epochs=1, seed=0, shuffle=True, part="train",
     progress=None: banks.run_tff_banks(_FakeProcess() if process is None else process,
                                        _banks() if split is None else split, rounds, batch_size, epochs, seed, shuffle,
                                        part, progress),
     process=[("fedavg", TypeError, "process")], split=[({}, TypeError, "BankSplit")],
     rounds=[(0, ValueError)], batch_size=[(-1, ValueError)], epochs=[(0, ValueError)], seed=[(1.5, ValueError)],
     shuffle=[(1, TypeError)], part=[("everything", ValueError)], progress=[(3, TypeError, "progress")])

# ---- psi -------------------------------------------------------------------------------------------------------
case("psi.phone_numbers", lambda count=3, seed=0: psi.phone_numbers(count, seed),
     count=[(0, ValueError), (2.0, ValueError)], seed=[(-1, ValueError)])
case("psi.salted_hashes", lambda keys=("0912345678",), salt=b"": psi.salted_hashes(list(keys), salt),
     keys=[(("",), ValueError, "non-empty"), ((5,), ValueError, "5")], salt=[("salt", TypeError, "bytes")])
case("psi.hash_match", lambda keys=["09"], their_hashes=[], salt=b"": psi.hash_match(keys, their_hashes, salt),
     keys=[("0912345678", TypeError, "keys")], their_hashes=[("abc", TypeError, "their_hashes")],
     salt=[(None, TypeError, "salt")])
case("psi.dictionary_attack", lambda hashes=[], candidates=("09",), salt=b"": psi.dictionary_attack(hashes, candidates, salt),
     hashes=[({"a": 1}.keys(), TypeError, "hashes")], candidates=[(3, TypeError, "candidates")],
     salt=[(1, TypeError, "salt")])
case("psi.hash_to_group", lambda key: psi.hash_to_group(key), key=[("", ValueError), (b"09", ValueError)])
case("psi.PSIParty", lambda keys=["09"], seed=0: psi.PSIParty(keys, seed),
     keys=[("09", TypeError, "keys")], seed=[(-5, ValueError, "seed")])
case("psi.PSIParty.reblind", lambda values: psi.PSIParty(["09"], seed=0).reblind(values),
     values=[([psi.MODP_2048], ValueError, "values"), ((x for x in [3]), TypeError, "values")])
case("psi.dh_psi", lambda keys_a=["09"], keys_b=["09"], seed_a=0, seed_b=0: psi.dh_psi(keys_a, keys_b, seed_a, seed_b),
     keys_a=[([""], ValueError)], keys_b=[(None, TypeError)], seed_a=[(0.5, ValueError)], seed_b=[("1", TypeError)])

# ---- vertical --------------------------------------------------------------------------------------------------
case("vertical.split_logistic_regression", lambda XA=X, XB=X, y=Y, steps=2, lr=0.1, record=True:
     vertical.split_logistic_regression(XA, XB, y, steps, lr, record),
     XA=[(XN, ValueError, "NaN")], XB=[(X[:3], ValueError, "align")], y=[(Y * 2, ValueError, "0 or 1")],
     steps=[(0, ValueError)], lr=[(0, ValueError)], record=[("no", TypeError)])
case("vertical.labels_from_residuals", lambda residuals: vertical.labels_from_residuals(residuals),
     residuals=[([[0.1]], ValueError, "1-dimensional"), ([], ValueError, "empty")])
case("vertical.reconstruct_columns", lambda received=np.ones((2, 5)), known=np.arange(3), targets=np.ones((3, 2)):
     vertical.reconstruct_columns(received, known, targets),
     received=[(np.ones(5), ValueError, "received"), ([[NAN] * 5], ValueError, "NaN")],
     known=[(np.array([0, 9]), ValueError, "known"), (np.array([0, 0, 1]), ValueError, "distinct")],
     targets=[(np.ones((2, 2)), ValueError, "targets")])
case("vertical.r_squared", lambda actual=X, predicted=X: vertical.r_squared(actual, predicted),
     actual=[(X[:, 0], ValueError, "2-dimensional")], predicted=[(X[:2], ValueError, "rows"), (X[:, :1], ValueError, "columns")])

# ---- forecast --------------------------------------------------------------------------------------------------
case("forecast.zone_split", lambda data=None, lags=24: forecast.zone_split(_power() if data is None else data, lags),
     data=[(pd.DataFrame(), TypeError, "PowerData")], lags=[(0, ValueError, "lags"), (24.0, ValueError, "lags")])
case("forecast.ZoneSplit.part", lambda name: _zones().part(name), name=[("valid", ValueError, "'valid'")])
case("forecast.ZoneSplit.actual", lambda name="test", zone="zone1": _zones().actual(name, zone),
     name=[("x", ValueError)], zone=[("zone4", ValueError, "'zone4'")])
case("forecast.ZoneSplit.with_history", lambda zone="zone3", days=7, end=None: _zones().with_history(zone, days, end),
     zone=[("Zone 3", ValueError, "'Zone 3'")], days=[(0, ValueError, "days"), (400, ValueError, "days")],
     end=[("2018-01-01", ValueError, "end"), ("not a date", ValueError, "end")])
case("forecast.forecasts", lambda model=None, split=None, part="test":
     forecast.forecasts(np.zeros(54) if model is None else model, _zones() if split is None else split, part),
     model=[(np.zeros(3), ValueError, "54 entries"), ({"zone1": np.zeros(54)}, ValueError, "no entry")],
     split=[(_zones, TypeError, "ZoneSplit")], part=[("future", ValueError)])
case("forecast.zone_errors", lambda predicted=None, split=None, part="test":
     forecast.zone_errors({z: np.ones(1440) for z in power.ZONES} if predicted is None else predicted,
                          _zones() if split is None else split, part),
     predicted=[({"zone1": np.ones(1440)}, TypeError, "zones"), ({z: np.ones(3) for z in power.ZONES}, ValueError, "entries")],
     split=[("zones", TypeError, "ZoneSplit")], part=[(1, ValueError)])
case("forecast.weeks_of", lambda split=None, part="test": forecast.weeks_of(_zones() if split is None else split, part),
     split=[([], TypeError, "ZoneSplit")], part=[("week", ValueError)])

# ---- domains ---------------------------------------------------------------------------------------------------
_LONG = pd.DataFrame({"method": ["local", "FedAvg", "pooled"], "seed": [1, 1, 1], "client": ["a"] * 3, "score": [0.5] * 3})
case("domains.summarize_domain", lambda scores=_LONG, higher_is_better=True, local="local", federated="FedAvg",
     pooled="pooled": domains.summarize_domain(scores, higher_is_better, local, federated, pooled),
     scores=[(_LONG.drop(columns="seed"), ValueError, "columns"), ([1], TypeError, "scores")],
     higher_is_better=[(1, TypeError)], local=[("alone", ValueError, "'alone'")], federated=[(3, TypeError)],
     pooled=[("", ValueError, "pooled")])
case("domains.hospital_scores", lambda seeds=(42,), split=None, lrs=(0.01,), l2s=(0.1,):
     domains.hospital_scores(seeds, "no split" if split is None else split, lrs, l2s),
     seeds=[(42, TypeError, "seeds"), ((-1,), ValueError, "seeds[0]")], split=[(pd.DataFrame(), TypeError, "split")],
     lrs=[((0,), ValueError, "lrs[0]"), (0.1, TypeError, "lrs")], l2s=[((-1,), ValueError, "l2s[0]")])
