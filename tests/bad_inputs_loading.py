"""Bad inputs for the loaders' shared policy and the URL check (run by tests/test_validation.py)."""
from __future__ import annotations

from badinput import NAN, case
from utils import download, validate

case("validate.url", lambda name="base_url", value="https://example.org/": validate.url(name, value),
     value=[("ftp://example.org/", ValueError, "base_url"), (7, ValueError, "7"), (NAN, ValueError, "nan")])

_GOOD = dict(source="auto", fetch=lambda: "path", real=lambda p: p, stand_in=lambda note: note,
             requested="asked for the stand-in", fallback="stand-in because {reason}")
case("download.real_or_stand_in",
     lambda source="auto", fetch=_GOOD["fetch"], real=_GOOD["real"], stand_in=_GOOD["stand_in"],
     requested=_GOOD["requested"], fallback=_GOOD["fallback"]:
     download.real_or_stand_in(source, fetch, real, stand_in, requested, fallback),
     source=[("cached", ValueError, "'cached'")], fetch=[(None, TypeError, "fetch")], real=[(3, TypeError, "real")],
     stand_in=[("x", TypeError, "stand_in")], requested=[(None, TypeError, "requested")],
     fallback=[("no reason given", ValueError, "{reason}"), (5, TypeError, "fallback")])
case("download.fetch_dataset_file",
     lambda dataset="credit-default", file="f.csv", md5="0" * 32, data_dir="/nonexistent", base_url="http://127.0.0.1:1/",
     timeout=1.0: download.fetch_dataset_file(dataset, file, md5, data_dir, base_url, timeout),
     dataset=[("../x", ValueError, "'../x'")], file=[(None, TypeError, "file")], md5=[(None, TypeError, "md5")], data_dir=[(3, TypeError)],
     base_url=[("ftp://x", ValueError, "base_url")], timeout=[(0, ValueError, "timeout")])
