"""Times FLamby's own Fed-Heart-Disease benchmark code (FedAdam, FedAvg; 15 rounds x 100 updates x batch 4,
seed 42): the reference that ``python -m tools.bench_tff --against CMD`` alternates with ours.

Mirrors flamby/benchmarks/fed_benchmark.py (see the protocol notes): set_seed(seed), Baseline(), the
strategies built with the config's hyper-parameters, set_seed(seed) again, then s.run(). Prints one JSON
line of seconds ({"fedadam": wall, "fedadam_cpu": cpu, "fedavg": ..., ...}).
Usage: python flamby_timing.py [--whole]   (--whole adds pooled + 4 local trainings with their evaluation)

It runs in FLamby's own environment, not the course's: a separate venv with PyTorch (CPU) and FLamby's
dependencies (issue 18 used torch 2.13.0+cpu, numpy 2.4.6, pandas 3.1.1, scikit-learn, tqdm, opacus 1.6.0),
and FLamby's source (owkin/FLamby at edacf54) on PYTHONPATH, e.g.::

    make bench-tff BENCH_TFF_ARGS='--against "cd build/flamby-src && PYTHONPATH=. \
        ../flamby-venv/bin/python ../../tools/flamby_timing.py"'

Data: $FLAMBY_HEART_DIR, else $FLCOURSE_DATA_DIR/heart-disease (the same md5-verified UCI files).
"""
import json, os, sys, time, copy
T0 = time.perf_counter()
import resource
import numpy as np
if not hasattr(np, "NaN"): np.NaN = np.nan  # FLamby (2024) uses np.NaN, removed in NumPy 2
import torch
import flamby.strategies as strats
from flamby.benchmarks.benchmark_utils import set_seed, train_single_centric, evaluate_model_on_local_and_pooled_tests, set_dataset_specific_config
from flamby.datasets.fed_heart_disease import (BATCH_SIZE, LR, NUM_CLIENTS, NUM_EPOCHS_POOLED, Baseline, BaselineLoss,
                                               Optimizer, get_nb_max_rounds, metric, FedHeartDisease)
DATA = os.environ.get("FLAMBY_HEART_DIR") or os.path.join(os.environ.get("FLCOURSE_DATA_DIR", "data"), "heart-disease")
SEED = 42
whole = "--whole" in sys.argv
t_import = time.perf_counter() - T0

def dl(center, train, pooled=False, bs=BATCH_SIZE, shuffle=True):
    ds = FedHeartDisease(center=center, train=train, pooled=pooled, data_path=DATA)
    return torch.utils.data.DataLoader(ds, batch_size=bs, shuffle=shuffle, num_workers=0)

t = time.perf_counter()
set_seed(SEED)
global_init = Baseline()
training_dls = [dl(i, True) for i in range(NUM_CLIENTS)]
test_dls = [dl(i, False, bs=BATCH_SIZE, shuffle=False) for i in range(NUM_CLIENTS)]
train_pooled, test_pooled = dl(0, True, pooled=True), dl(0, False, pooled=True, shuffle=False)
evaluate_func, _, _ = set_dataset_specific_config("fed_heart_disease", compute_ensemble_perf=False)
t_data = time.perf_counter() - t
out = {"import": round(t_import, 3), "data": round(t_data, 3)}
nrounds = get_nb_max_rounds(100)
assert nrounds == 15
if whole:
    t = time.perf_counter()
    m = copy.deepcopy(global_init); set_seed(SEED)
    m = train_single_centric(m, train_pooled, False, "Pooled", Optimizer, LR, BaselineLoss, NUM_EPOCHS_POOLED, seed=SEED)
    evaluate_model_on_local_and_pooled_tests(m, test_dls, test_pooled, metric, evaluate_func)
    for i in range(NUM_CLIENTS):
        m = copy.deepcopy(global_init); set_seed(SEED)
        m = train_single_centric(m, training_dls[i], False, f"Local {i}", Optimizer, LR, BaselineLoss, NUM_EPOCHS_POOLED, seed=SEED)
        evaluate_model_on_local_and_pooled_tests(m, test_dls, test_pooled, metric, evaluate_func)
    out["baselines"] = round(time.perf_counter() - t, 3)
hp = {"FedAdam": dict(beta1=0.9, beta2=0.999, learning_rate=0.01, server_learning_rate=0.01, tau=1e-8),
      "FedAvg": dict(learning_rate=0.001)}
for sname in ("FedAdam", "FedAvg"):
    args = dict(training_dataloaders=training_dls, model=copy.deepcopy(global_init), loss=BaselineLoss(),
                optimizer_class=torch.optim.SGD, learning_rate=LR, num_updates=100, nrounds=nrounds)
    args.update(hp[sname])
    t, c = time.perf_counter(), time.process_time()
    s = getattr(strats, sname)(**args, log=False)
    set_seed(SEED)
    m = s.run()[0]
    out[sname.lower()] = round(time.perf_counter() - t, 3)
    out[sname.lower() + "_cpu"] = round(time.process_time() - c, 3)
    if whole:
        perf, *_ = evaluate_model_on_local_and_pooled_tests(m, test_dls, test_pooled, metric, evaluate_func)
        out[sname.lower() + "_acc"] = round(float(np.mean(list(perf.values()))), 4)
out["total"] = round(time.perf_counter() - T0, 3)
ru = resource.getrusage(resource.RUSAGE_SELF)
out["cpu"] = round(ru.ru_utime + ru.ru_stime, 3)
out["maxrss_mb"] = round(ru.ru_maxrss / 1024, 1)
print(json.dumps(out))
