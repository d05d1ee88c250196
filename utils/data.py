"""Loading the four hospitals, real or synthetic, in one call. Introduced in chapter 00.

``load_raw`` returns the raw tables (``utils.heart``): the real UCI files when they are cached or
can be downloaded and verified (``utils.download``), else the synthetic twin (``utils.twin``), and
its ``note`` says which and why. ``load_heart_disease`` adds FLamby's preprocessing
(``utils.flamby``).
"""
from __future__ import annotations

from utils import validate as v
from utils.download import SOURCES, real_or_stand_in
from utils.flamby import STANDARDIZE_CHOICES, FederatedSplit, flamby_split
from utils.heart import BASE_URL, RawHeartData, check_hospitals, fetch_heart_disease, parse_raw_file
from utils.twin import HeartDiseaseTwin

__all__ = ["SOURCES", "load_raw", "load_heart_disease"]


def _synthetic(seed: int, hospitals, note: str) -> RawHeartData:
    return RawHeartData(frames=HeartDiseaseTwin().sample(None, hospitals=hospitals, seed=seed),
                        source="synthetic", note=note)


def load_raw(source: str = "auto", data_dir=None, seed: int = 0, base_url: str = BASE_URL,
             hospitals=None, timeout: float = 10.0) -> RawHeartData:
    """The raw tables of the four hospitals.

    source="real": the UCI files (cached or downloaded, md5-verified), else ``DataUnavailable``.
    source="synthetic": the twin with the real sizes (seeded). source="auto": real if possible,
    else the twin, and ``note`` says why.
    """
    v.choice("source", source, SOURCES)
    hospitals = check_hospitals(hospitals)
    seed = v.seed("seed", seed)
    data_dir = None if data_dir is None else v.path("data_dir", data_dir)
    v.positive("timeout", timeout)
    v.url("base_url", base_url)

    def real(paths):
        folder = next(iter(paths.values())).parent
        return RawHeartData(frames={h: parse_raw_file(p) for h, p in paths.items()}, source="real",
                            note=f"Real UCI Heart Disease files (md5-verified) from {folder}.")

    return real_or_stand_in(
        source, lambda: fetch_heart_disease(data_dir, base_url=base_url, timeout=timeout, hospitals=hospitals),
        real, lambda note: _synthetic(seed, hospitals, note),
        requested="Synthetic twin of the four hospitals (requested with source='synthetic'): "
                  "same sizes and per-hospital statistics as the real files, but not real patients.",
        fallback="Using the synthetic twin instead of the real UCI files because {reason}. "
                 "It mimics each hospital's statistics, so exercises run, but numbers will differ "
                 "from the real data and from FLamby's published results.")


def load_heart_disease(source: str = "auto", standardize="center", data_dir=None, seed: int = 0,
                       **kwargs) -> FederatedSplit:
    """Raw files (or the twin) → FLamby's split, in one call. See ``load_raw`` and ``flamby_split``."""
    v.choice("standardize", standardize, STANDARDIZE_CHOICES)
    data_dir = None if data_dir is None else v.path("data_dir", data_dir)
    return flamby_split(load_raw(source, data_dir=data_dir, seed=seed, **kwargs), standardize)
