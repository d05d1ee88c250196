"""utils.domains: the comparison row against a hand computation; the hospitals' scores have the right shape."""
import numpy as np
import pandas as pd
import pytest

from utils.domains import LONG_COLUMNS, hospital_scores, summarize_domain


def _long():
    rows = []
    for seed, shift in ((1, 0.0), (2, 0.02)):
        for client, (local, fed, pooled) in {"a": (0.70, 0.75, 0.76), "b": (0.80, 0.78, 0.81)}.items():
            for method, score in (("local", local), ("FedAvg", fed + shift), ("pooled", pooled)):
                rows.append({"method": method, "seed": seed, "client": client, "score": score})
    return pd.DataFrame(rows)


def test_summary_by_hand():
    s = summarize_domain(_long())
    # per seed: local 0.75; FedAvg 0.765 / 0.785; pooled 0.785
    assert s["clients"] == 2 and s["seeds"] == 2
    assert s["gain over local"] == pytest.approx(np.mean([0.015, 0.035]))
    assert s["gain std"] == pytest.approx(np.std([0.015, 0.035], ddof=1))
    assert s["loss against pooled"] == pytest.approx(np.mean([0.02, 0.0]))
    assert s["clients that gain"] == 1                                  # a gains, b loses (0.79 < 0.80)
    errors = summarize_domain(_long(), higher_is_better=False)           # the same numbers read as errors
    assert errors["gain over local"] == pytest.approx(-s["gain over local"])
    assert errors["clients that gain"] == 1
    with pytest.raises(ValueError, match="FedProx"):
        summarize_domain(_long(), federated="FedProx")


def test_hospital_scores_shape():
    from utils.data import load_heart_disease

    scores = hospital_scores((42,), load_heart_disease("synthetic"), lrs=(0.003,), l2s=(0.1,))
    assert list(scores.columns) == list(LONG_COLUMNS)
    assert set(scores["method"]) == {"local", "pooled", "FedAvg"} and set(scores["seed"]) == {42}
    assert set(scores["client"]) == {"cleveland", "hungarian", "switzerland", "va"}
    assert scores["score"].between(0, 1).all() and scores.attrs["fedavg_lr"] == 0.003
