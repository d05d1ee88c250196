"""Bad inputs for the modules of chapters 01 and 10 (ecosystem, interop, regulations, references, glossary)
and for setup()'s ``tensorflow`` flag. Imported by tests/test_validation.py."""
from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from badinput import EXEMPT, NAN, X, Y, case
from utils import ecosystem, glossary, interop, references, regulations, setup

# Data containers the course builds (not entry points a learner calls with their own values).
EXEMPT.update({"ecosystem.Node", "regulations.Law", "references.Reference", "references.Tool", "glossary.Term"})


@lru_cache(maxsize=1)
def _model():
    """A tiny untrained Keras model (2 features), built only when a case needs a valid model."""
    import tensorflow as tf

    return tf.keras.Sequential([tf.keras.Input(shape=(2,), name=interop.INPUT_NAME), tf.keras.layers.Dense(1)])


@lru_cache(maxsize=1)
def _files():
    folder = Path(tempfile.mkdtemp(prefix="bad_inputs_interop_"))
    return (interop.export_onnx(_model(), folder / "m.onnx"), interop.export_tflite(_model(), folder / "m.tflite"),
            interop.export_savedmodel(_model(), folder / "m_saved"))


def _tmp(name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix="bad_inputs_")) / name


# ---- setup's new flag ---------------------------------------------------------------------------------
case("setup.setup", lambda seed=0, tff=False, quiet=True, tensorflow=True: setup.setup(seed, tff, quiet, tensorflow),
     tensorflow=[("no", TypeError)])
case("setup.setup", lambda tff: setup.setup(0, tff, True, False), tff=[(True, ValueError, "tensorflow=False")])

# ---- ecosystem ----------------------------------------------------------------------------------------
case("ecosystem.node", lambda node_id: ecosystem.node(node_id), node_id=[("gpu", ValueError, "gpu"), (3, ValueError)])
case("ecosystem.neighbours", lambda node_id="fl", edges=ecosystem.EDGES: ecosystem.neighbours(node_id, edges),
     node_id=[("nope", ValueError, "nope")], edges=[("a->b", TypeError, "edges"), ([("a",)], ValueError, "edges[0]")])
case("ecosystem.find_cycle", lambda edges: ecosystem.find_cycle(edges),
     edges=[(None, TypeError, "edges"), ([("a", 1)], ValueError, "edges[0]")])
case("ecosystem.parse_mermaid", lambda text: ecosystem.parse_mermaid(text),
     text=[(5, TypeError, "text"), ("A --> B", ValueError, "graph TD"), ("graph TD\n  A -- B", ValueError, "line 2")])
case("ecosystem.chapter_link", lambda number=1, prefix="", chapters=None: ecosystem.chapter_link(number, prefix, chapters),
     number=[(1.5, ValueError), (42, ValueError, "PLAN"), ("1", TypeError)], prefix=[(None, TypeError)],
     chapters=[(7, TypeError), ("/no/such/folder", ValueError, "/no/such/folder")])
case("ecosystem.describe", lambda node_id="fl", prefix="": ecosystem.describe(node_id, prefix),
     node_id=[("FL", ValueError, "FL")], prefix=[(0, TypeError)])
case("ecosystem.network_figure", lambda selected=None, height=500: ecosystem.network_figure(selected, height),
     selected=[("everything", ValueError, "everything")], height=[(50, ValueError), (500.0, ValueError)])

# ---- interop ------------------------------------------------------------------------------------------
case("interop.train_keras", lambda X=X, y=Y, hidden=2, epochs=1, batch_size=2, lr=0.01, seed=0:
     interop.train_keras(X, y, hidden, epochs, batch_size, lr, seed),
     X=[(np.array([[NAN, 1.0]] * 5), ValueError, "NaN")], y=[(Y * 3, ValueError, "0 or 1")], hidden=[(0, ValueError)],
     epochs=[(1.5, ValueError)], batch_size=[(0, ValueError)], lr=[(-1, ValueError)], seed=[(-1, ValueError)])
case("interop.with_standardization", lambda model=None, mean=np.zeros(2), std=np.ones(2):
     interop.with_standardization(_model() if model is None else model, mean, std),
     model=[("keras", TypeError, "model")], mean=[(np.zeros(3), ValueError, "mean")],
     std=[(np.array([1.0, 0.0]), ValueError, "std")])
case("interop.export_onnx", lambda model=None, path=None, opset=17:
     interop.export_onnx(_model() if model is None else model, _tmp("m.onnx") if path is None else path, opset),
     model=[(3, TypeError, "model")], path=[(42, TypeError, "path")], opset=[(99, ValueError, "opset")])
case("interop.export_tflite", lambda model=None, path=None:
     interop.export_tflite(_model() if model is None else model, _tmp("m.tflite") if path is None else path),
     model=[([], TypeError, "model")], path=[("", TypeError, "path")])
case("interop.export_savedmodel", lambda model=None, path=None:
     interop.export_savedmodel(_model() if model is None else model, _tmp("saved") if path is None else path),
     model=[("m", TypeError, "model")], path=[(42, TypeError, "path")])
for _name, _i in (("run_onnx", 0), ("run_tflite", 1), ("run_savedmodel", 2)):
    _f = getattr(interop, _name)
    case(f"interop.{_name}", lambda path=None, X=X, f=_f, i=_i: f(_files()[i] if path is None else path, X),
         path=[("/no/such/model", ValueError, "does not exist")], X=[(np.ones((2, 3)), ValueError, "3"),
                                                                    ("x", TypeError, "X")])
case("interop.onnx_summary", lambda path: interop.onnx_summary(path), path=[("/no/such.onnx", ValueError, "does not exist")])
case("interop.export_and_run", lambda model=None, X=X, folder=None:
     interop.export_and_run(_model() if model is None else model, X, _tmp("all") if folder is None else folder),
     model=[(1.0, TypeError, "model")], X=[(np.ones((2, 5)), ValueError, "5")], folder=[(3, TypeError, "folder")])

# ---- regulations --------------------------------------------------------------------------------------
case("regulations.law", lambda key: regulations.law(key), key=[("CCPA", ValueError, "CCPA")])
case("regulations.law_table", lambda columns: regulations.law_table(columns),
     columns=[("url", TypeError, "columns"), (("url", "penalties"), ValueError, "penalties"), ((), TypeError)])
case("regulations.regimes_involved", lambda sender="Hungary", receiver="Cleveland":
     regulations.regimes_involved(sender, receiver),
     sender=[("Budapest", ValueError, "Budapest"), ("Cleveland", ValueError, "same party")],
     receiver=[(None, ValueError, "receiver")])
case("regulations.transfer_matrix", lambda parties: regulations.transfer_matrix(parties),
     parties=[(["Mars"], ValueError, "Mars"), (5, TypeError, "parties"), ([], ValueError, "empty")])

# ---- references ---------------------------------------------------------------------------------------
case("references.check_identifier", lambda kind="doi", value="10.1145/3298981": references.check_identifier(kind, value),
     kind=[("pmid", ValueError, "pmid")],
     value=[("", ValueError, "value"), (3298981, TypeError, "value"), ("doi:10.1145/3298981", ValueError, "DOI")])
case("references.check_identifier", lambda value: references.check_identifier("isbn", value),
     value=[("978-1-68173-697-5", ValueError, "check digit"), ("978-1-68173", ValueError, "ISBN-13")])
case("references.check_identifier", lambda value: references.check_identifier("arxiv", value),
     value=[("1610.5492", ValueError, "arXiv"), ("1613.05492", ValueError, "month")])
case("references.check_identifier", lambda value: references.check_identifier("url", value),
     value=[("www.example.org", ValueError, "URL")])
case("references.identifiers", lambda ref: references.identifiers(ref), ref=[("kairouz2021", TypeError, "Reference")])
case("references.reference", lambda key: references.reference(key), key=[("abadi2019", ValueError, "abadi2019")])
case("references.cite", lambda key: references.cite(key), key=[(None, ValueError)])
case("references.bibliography", lambda kinds: references.bibliography(kinds),
     kinds=[(["poem"], ValueError, "poem"), (7, TypeError, "kinds")])

# ---- glossary -----------------------------------------------------------------------------------------
case("glossary.load_glossary", lambda path: glossary.load_glossary(path),
     path=[("/no/such/glossary.csv", ValueError, "not a file"), (None, TypeError, "path")])
case("glossary.anchor", lambda term: glossary.anchor(term),
     term=[("", ValueError, "term"), ("中文", ValueError, "anchor"), (5, TypeError, "term")])
case("glossary.link", lambda term="FedSGD", prefix="../": glossary.link(term, prefix),
     term=[("FedMagic", ValueError, "FedMagic")], prefix=[(None, TypeError, "prefix")])
case("glossary.chapter_text", lambda path: glossary.chapter_text(path),
     path=[("/no/such.ipynb", ValueError, "not a notebook"), (1, TypeError, "path")])
case("glossary.usage", lambda terms=None, chapters=None: glossary.usage(terms, chapters),
     terms=[(["FedAvg"], TypeError, "terms"), ((), TypeError, "terms")],
     chapters=[("/no/such/folder", ValueError, "/no/such/folder")])
case("glossary.markdown", lambda terms: glossary.markdown(terms), terms=[("FedAvg", TypeError, "terms")])
