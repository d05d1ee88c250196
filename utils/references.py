"""The course's references and today's federated-learning tools, each with an identifier a reader can
follow (DOI, arXiv id, ISBN or URL), and the essay's citation errors beside the correct entries.
Introduced in chapter 10.

Identifiers are checked by form (``check_identifier``): a DOI starts with ``10.``, an arXiv id is
``YYMM.NNNNN``, an ISBN-13 must pass its check digit, a URL must be http(s). That check catches typing
errors in the form of an identifier; it does not show that an identifier names the right work (nothing here
looks an identifier up: the course runs offline).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from utils import validate as v

__all__ = ["Reference", "Tool", "REFERENCES", "TOOLS", "ESSAY_CITATIONS", "check_identifier", "identifiers",
           "reference", "cite", "bibliography", "tools_table", "corrections"]

KINDS = ("book", "article", "preprint", "standard", "dataset", "software")


@dataclass(frozen=True)
class Reference:
    key: str
    kind: str
    authors: tuple
    title: str
    venue: str
    year: int
    doi: str = ""
    arxiv: str = ""
    isbn: str = ""
    url: str = ""
    note: str = ""


@dataclass(frozen=True)
class Tool:
    name: str
    maintainer: str
    what_for: str
    frameworks: str
    url: str
    paper: str = ""  # key into REFERENCES
    note: str = ""


REFERENCES = (
    Reference("goodfellow2016", "book", ("Ian Goodfellow", "Yoshua Bengio", "Aaron Courville"), "Deep Learning",
              "MIT Press", 2016, isbn="978-0-262-03561-3", url="https://www.deeplearningbook.org"),
    Reference("yang2019book", "book", ("Qiang Yang", "Yang Liu", "Yong Cheng", "Yan Kang", "Tianjian Chen", "Han Yu"),
              "Federated Learning",
              "Synthesis Lectures on Artificial Intelligence and Machine Learning, Lecture #43. Morgan & Claypool",
              2019, doi="10.2200/S00960ED2V01Y201910AIM043", isbn="978-1-68173-697-6",
              note="Published December 2019 (copyright 2020); reissued by Springer, doi:10.1007/978-3-031-01585-4."),
    Reference("yang2020book_zh", "book", ("杨强 Qiang Yang", "刘洋 Yang Liu", "程勇 Yong Cheng", "康焱 Yan Kang",
                                          "陈天健 Tianjian Chen", "于涵 Han Yu"),
              "联邦学习 (Federated Learning, Chinese edition)", "电子工业出版社 (Publishing House of Electronics "
              "Industry), Beijing", 2020, isbn="978-7-121-38522-3", note="April 2020."),
    Reference("yang2019tist", "article", ("Qiang Yang", "Yang Liu", "Tianjian Chen", "Yongxin Tong"),
              "Federated Machine Learning: Concept and Applications",
              "ACM Transactions on Intelligent Systems and Technology 10(2), Article 12", 2019,
              doi="10.1145/3298981", arxiv="1902.04885"),
    Reference("konecny2016", "preprint", ("Jakub Konečný", "H. Brendan McMahan", "Felix X. Yu", "Peter Richtárik",
                                          "Ananda Theertha Suresh", "Dave Bacon"),
              "Federated Learning: Strategies for Improving Communication Efficiency",
              "NIPS 2016 Workshop on Private Multi-Party Machine Learning", 2016, arxiv="1610.05492"),
    Reference("mcmahan2017", "article", ("H. Brendan McMahan", "Eider Moore", "Daniel Ramage", "Seth Hampson",
                                         "Blaise Agüera y Arcas"),
              "Communication-Efficient Learning of Deep Networks from Decentralized Data",
              "AISTATS 2017, PMLR 54:1273-1282", 2017, arxiv="1602.05629",
              url="https://proceedings.mlr.press/v54/mcmahan17a.html", note="FedAvg (chapters 02-05)."),
    Reference("kairouz2021", "article", ("Peter Kairouz", "H. Brendan McMahan", "et al. (58 authors)"),
              "Advances and Open Problems in Federated Learning",
              "Foundations and Trends in Machine Learning 14(1-2):1-210", 2021, doi="10.1561/2200000083",
              arxiv="1912.04977"),
    Reference("li2020challenges", "article", ("Tian Li", "Anit Kumar Sahu", "Ameet Talwalkar", "Virginia Smith"),
              "Federated Learning: Challenges, Methods, and Future Directions",
              "IEEE Signal Processing Magazine 37(3):50-60", 2020, doi="10.1109/MSP.2020.2975749",
              arxiv="1908.07873"),
    Reference("li2020fedprox", "article", ("Tian Li", "Anit Kumar Sahu", "Manzil Zaheer", "Maziar Sanjabi",
                                           "Ameet Talwalkar", "Virginia Smith"),
              "Federated Optimization in Heterogeneous Networks", "MLSys 2020", 2020, arxiv="1812.06127",
              note="FedProx (chapter 05)."),
    Reference("reddi2021", "article", ("Sashank J. Reddi", "Zachary Charles", "Manzil Zaheer", "Zachary Garrett",
                                       "Keith Rush", "Jakub Konečný", "Sanjiv Kumar", "H. Brendan McMahan"),
              "Adaptive Federated Optimization", "ICLR 2021", 2021, arxiv="2003.00295",
              note="FedAdam, FedYogi (chapter 05)."),
    Reference("abadi2016", "article", ("Martín Abadi", "Andy Chu", "Ian Goodfellow", "H. Brendan McMahan",
                                       "Ilya Mironov", "Kunal Talwar", "Li Zhang"),
              "Deep Learning with Differential Privacy", "ACM CCS 2016", 2016, doi="10.1145/2976749.2978318",
              arxiv="1607.00133", note="DP-SGD; the only 'Abadi et al.' in this list."),
    Reference("bonawitz2017", "article", ("Keith Bonawitz", "Vladimir Ivanov", "Ben Kreuter", "Antonio Marcedone",
                                          "H. Brendan McMahan", "Sarvar Patel", "Daniel Ramage", "Aaron Segal",
                                          "Karn Seth"),
              "Practical Secure Aggregation for Privacy-Preserving Machine Learning", "ACM CCS 2017", 2017,
              doi="10.1145/3133956.3133982"),
    Reference("zhu2019", "article", ("Ligeng Zhu", "Zhijian Liu", "Song Han"), "Deep Leakage from Gradients",
              "NeurIPS 2019", 2019, arxiv="1906.08935"),
    Reference("hard2018", "preprint", ("Andrew Hard", "Kanishka Rao", "Rajiv Mathews", "et al."),
              "Federated Learning for Mobile Keyboard Prediction", "arXiv preprint", 2018, arxiv="1811.03604"),
    Reference("duterrail2022", "article", ("Jean Ogier du Terrail", "et al."),
              "FLamby: Datasets and Benchmarks for Cross-Silo Federated Learning in Realistic Healthcare Settings",
              "NeurIPS 2022 Datasets and Benchmarks Track", 2022, arxiv="2210.04620"),
    Reference("janosi1988", "dataset", ("Andras Janosi", "William Steinbrunn", "Matthias Pfisterer", "Robert Detrano"),
              "Heart Disease", "UCI Machine Learning Repository", 1988, doi="10.24432/C52P4X"),
    Reference("yeh2009", "article", ("I-Cheng Yeh", "Che-hui Lien"),
              "The comparisons of data mining techniques for the predictive accuracy of probability of default of "
              "credit card clients", "Expert Systems with Applications 36(2):2473-2480", 2009,
              doi="10.1016/j.eswa.2007.12.020"),
    Reference("ieee3652", "standard", ("IEEE Computer Society, Artificial Intelligence Standards Committee",),
              "IEEE 3652.1-2020: IEEE Guide for Architectural Framework and Application of Federated Machine Learning",
              "IEEE Standards Association", 2021, url="https://standards.ieee.org/ieee/3652.1/7453/",
              note="Approved 2020-09-24, published 2021-03-19."),
    Reference("sc42", "standard", ("ISO/IEC JTC 1/SC 42",), "Artificial intelligence (committee and its standards, "
              "e.g. ISO/IEC 22989:2022 concepts and terminology, ISO/IEC 23053:2022 framework for ML systems, "
              "ISO/IEC 23894:2023 risk management, ISO/IEC 42001:2023 management system)", "ISO and IEC", 2018,
              url="https://www.iso.org/committee/6794475.html"),
    Reference("onnx", "software", ("ONNX community, LF AI & Data Foundation",), "Open Neural Network Exchange (ONNX)",
              "onnx.ai", 2017, url="https://onnx.ai"),
    Reference("beutel2020", "preprint", ("Daniel J. Beutel", "Taner Topal", "Akhil Mathur", "et al."),
              "Flower: A Friendly Federated Learning Research Framework", "arXiv preprint", 2020, arxiv="2007.14390"),
    Reference("roth2022", "preprint", ("Holger R. Roth", "Yan Cheng", "Yuhong Wen", "et al."),
              "NVIDIA FLARE: Federated Learning from Simulation to Real-World", "arXiv preprint", 2022,
              arxiv="2210.13291"),
    Reference("liu2021fate", "article", ("Yang Liu", "Tao Fan", "Tianjian Chen", "Qian Xu", "Qiang Yang"),
              "FATE: An Industrial Grade Platform for Collaborative Learning With Data Protection",
              "Journal of Machine Learning Research 22(226):1-6", 2021, url="https://jmlr.org/papers/v22/20-815.html"),
    Reference("he2020fedml", "preprint", ("Chaoyang He", "Songze Li", "Jinhyun So", "et al."),
              "FedML: A Research Library and Benchmark for Federated Machine Learning", "arXiv preprint", 2020,
              arxiv="2007.13518"),
    Reference("ryffel2018", "preprint", ("Theo Ryffel", "Andrew Trask", "Morten Dahl", "et al."),
              "A generic framework for privacy preserving deep learning", "NeurIPS 2018 Workshop on Privacy Preserving "
              "Machine Learning", 2018, arxiv="1811.04017", note="PySyft."),
    Reference("cremonesi2023", "preprint", ("Francesco Cremonesi", "Marc Vesin", "Sergen Cansiz", "et al."),
              "Fed-BioMed: Open, Transparent and Trusted Federated Learning for Real-world Healthcare Applications",
              "arXiv preprint", 2023, arxiv="2304.12012"),
    Reference("galtier2019", "preprint", ("Mathieu N. Galtier", "Camille Marini"),
              "Substra: a framework for privacy-preserving, traceable and collaborative Machine Learning",
              "arXiv preprint", 2019, arxiv="1910.11567"),
    Reference("hardy2017", "preprint", ("Stephen Hardy", "Wilko Henecka", "Hamish Ivey-Law", "Richard Nock",
                                        "Giorgio Patrini", "Guillaume Smith", "Brian Thorne"),
              "Private federated learning on vertically partitioned data via entity resolution and additively "
              "homomorphic encryption", "arXiv preprint", 2017, arxiv="1711.10677",
              note="Vertical FL with Paillier-encrypted intermediate values (chapter 08)."),
    Reference("meadows1986", "article", ("Catherine Meadows",),
              "A more efficient cryptographic matchmaking protocol for use in the absence of a continuously available "
              "third party", "IEEE Symposium on Security and Privacy 1986", 1986, doi="10.1109/SP.1986.10022",
              note="Diffie-Hellman private set intersection (chapter 08)."),
    Reference("huberman1999", "article", ("Bernardo A. Huberman", "Matt Franklin", "Tad Hogg"),
              "Enhancing privacy and trust in electronic communities",
              "ACM Conference on Electronic Commerce (EC '99)", 1999, doi="10.1145/336992.337012",
              note="Diffie-Hellman private set intersection (chapter 08)."),
    Reference("rfc3526", "standard", ("Tero Kivinen", "Mika Kojo"),
              "More Modular Exponential (MODP) Diffie-Hellman groups for Internet Key Exchange (IKE)",
              "IETF, RFC 3526", 2003, doi="10.17487/RFC3526", url="https://www.rfc-editor.org/rfc/rfc3526",
              note="The 2048-bit group of chapter 08's Diffie-Hellman PSI."),
    Reference("salam2018", "dataset", ("A. Salam", "A. El Hibaoui"), "Power Consumption of Tetouan City",
              "UCI Machine Learning Repository, data set 849", 2023, doi="10.24432/C5B034",
              note="The data set's record (2023); its authors describe it in 'Comparison of Machine Learning "
                   "Algorithms for the Power Consumption Prediction: Case Study of Tetouan city', 6th International "
                   "Renewable and Sustainable Energy Conference (IRSEC), 2018, which chapter 08 cites as Salam & El "
                   "Hibaoui 2018. CC BY 4.0."),
    Reference("yousefpour2021", "preprint", ("Ashkan Yousefpour", "Igor Shilov", "Alexandre Sablayrolles", "et al."),
              "Opacus: User-Friendly Differential Privacy Library in PyTorch", "arXiv preprint", 2021,
              arxiv="2109.12298"),
)

_KEYS = tuple(r.key for r in REFERENCES)

TOOLS = (
    Tool("TensorFlow Federated (TFF)", "Google", "Simulating and researching federated computations: the "
         "learning API and the Federated Core this course uses (chapters 00, 04, 05, 09).", "TensorFlow, JAX",
         "https://github.com/google-parfait/tensorflow-federated",
         note="Last PyPI release 0.87.0, which no longer installs with plain pip (the course's lock works around "
              "it). Its language core is moving to Federated Language (github.com/google-parfait/"
              "federated-language); Google's production cross-device stack is Federated Compute "
              "(github.com/google-parfait/federated-compute)."),
    Tool("Flower", "Flower Labs", "A framework-agnostic FL framework, from simulation on one machine to deployment "
         "on phones and servers, cross-device and cross-silo.", "PyTorch, TensorFlow, JAX, scikit-learn, ...",
         "https://flower.ai", paper="beutel2020"),
    Tool("NVIDIA FLARE", "NVIDIA", "An SDK for real cross-silo deployments: provisioning, TLS between sites, "
         "privacy filters, homomorphic encryption, a simulator for development.", "any (PyTorch, TensorFlow, "
         "XGBoost, NumPy)", "https://github.com/NVIDIA/NVFlare", paper="roth2022"),
    Tool("FATE", "WeBank; LF AI & Data Foundation", "An industrial platform for horizontal and vertical FL across "
         "organisations (finance first), with homomorphic encryption and secure computation.", "its own "
         "algorithms; PyTorch for deep models", "https://github.com/FederatedAI/FATE", paper="liu2021fate"),
    Tool("FedML", "FedML (TensorOpera)", "A research library and benchmark (simulation, distributed, on-device) "
         "grown into an MLOps platform.", "PyTorch, TensorFlow, JAX", "https://github.com/FedML-AI/FedML",
         paper="he2020fedml"),
    Tool("PySyft", "OpenMined", "Remote data science: run approved code on data you cannot see, with privacy "
         "controls; the data owner reviews requests.", "NumPy, PyTorch, ...", "https://github.com/OpenMined/PySyft",
         paper="ryffel2018"),
    Tool("Fed-BioMed", "Inria", "FL for biomedical research in hospitals, with governance: each site approves the "
         "training plans that may run on its data.", "PyTorch, scikit-learn", "https://fedbiomed.org",
         paper="cremonesi2023"),
    Tool("Substra", "Owkin; LF AI & Data Foundation", "FL with traceability for healthcare: permissions per data "
         "set and a record of every computation.", "any Python (PyTorch via SubstraFL)",
         "https://github.com/Substra/substra", paper="galtier2019"),
    Tool("FLSim", "Meta (facebookresearch)", "A PyTorch library that *simulates* cross-device FL, with differential "
         "privacy, secure aggregation and compression. The nearest thing to the essay's 'PyTorch Federated' by "
         "Facebook.", "PyTorch", "https://github.com/facebookresearch/FLSim"),
    Tool("Opacus", "Meta", "Differentially private training (DP-SGD) for PyTorch models; a building block, not an "
         "FL framework.", "PyTorch", "https://opacus.ai", paper="yousefpour2021"),
)

# What the essay's §7 cites, the entries it should have cited, and what was wrong.
ESSAY_CITATIONS = (
    ("《深度学习》, Goodfellow et al.", ("goodfellow2016",), "Correct."),
    ("《联邦学习》, 'Abadi et al.'", ("yang2020book_zh", "yang2019book"),
     "The book is by Qiang Yang, Yang Liu, Yong Cheng, Yan Kang, Tianjian Chen and Han Yu (English 2019, Chinese "
     "2020). Abadi et al. wrote 'Deep Learning with Differential Privacy' (2016), a different work."),
    ("'Federated Learning: Concept and Applications', 'Abadi et al.'", ("yang2019tist",),
     "The title is 'Federated Machine Learning: Concept and Applications' and the authors are Yang, Liu, Chen and "
     "Tong (ACM TIST, 2019)."),
    ("'Federated Learning: Strategies for Improving Communication Efficiency', 'Li et al.'", ("konecny2016",),
     "The authors are Konečný, McMahan, Yu, Richtárik, Suresh and Bacon (2016). Tian Li et al. wrote a later "
     "survey, 'Federated Learning: Challenges, Methods, and Future Directions' (2020)."),
    ("'TensorFlow Federated', Google", (), "Correct as a name; see the tools table for its state today."),
    ("'PyTorch Federated', Facebook", (),
     "PyTorch has no federated-learning module of that name (torch.distributed is data-centre training). "
     "The nearest is Meta's FLSim, a PyTorch library that "
     "simulates FL (tools table); Meta's Opacus is DP-SGD for PyTorch, not FL. PyTorch users train federatedly "
     "with the frameworks of the tools table (Flower, PySyft, NVIDIA FLARE, FedML, Fed-BioMed, Substra)."),
)

_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_ARXIV = re.compile(r"^\d{4}\.\d{4,5}$")
_URL = re.compile(r"^https?://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(/\S*)?$")


def check_identifier(kind: str, value: str) -> str:
    """``value`` if it is a well-formed identifier of ``kind`` ("doi", "arxiv", "isbn", "url"), else ValueError."""
    v.choice("kind", kind, ("doi", "arxiv", "isbn", "url"))
    value = v.text("value", value)
    if kind == "doi" and not _DOI.match(value):
        raise ValueError(f"value {value!r} is not a DOI (10.<registrant>/<suffix>)")
    if kind == "arxiv" and not _ARXIV.match(value):
        raise ValueError(f"value {value!r} is not a new-style arXiv id (YYMM.NNNNN)")
    if kind == "arxiv" and not (1 <= int(value[2:4]) <= 12 and int(value[:2]) >= 7):
        raise ValueError(f"value {value!r} is not a new-style arXiv id: month {value[2:4]} or year {value[:2]}")
    if kind == "arxiv" and len(value.split(".")[1]) != (5 if int(value[:4]) >= 1501 else 4):
        raise ValueError(f"value {value!r} is not an arXiv id: numbers from 2015 on have 5 digits, before 4")
    if kind == "url" and not _URL.match(value):
        raise ValueError(f"value {value!r} is not an http(s) URL")
    if kind == "isbn":
        digits = value.replace("-", "")
        if not re.fullmatch(r"\d{13}", digits):
            raise ValueError(f"value {value!r} is not an ISBN-13 (13 digits, hyphens allowed)")
        total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits[:12]))
        if (10 - total % 10) % 10 != int(digits[12]):
            raise ValueError(f"value {value!r} fails the ISBN-13 check digit")
    return value


def identifiers(ref: Reference) -> dict:
    """The identifiers of a reference that are set: {"doi": ..., "arxiv": ..., "isbn": ..., "url": ...}."""
    if not isinstance(ref, Reference):
        raise TypeError(f"ref must be a Reference, got {type(ref).__name__}")
    return {k: getattr(ref, k) for k in ("doi", "arxiv", "isbn", "url") if getattr(ref, k)}


def reference(key: str) -> Reference:
    v.choice("key", key, _KEYS)
    return REFERENCES[_KEYS.index(key)]


def _link(kind: str, value: str) -> str:
    return {"doi": f"[doi:{value}](https://doi.org/{value})", "arxiv": f"[arXiv:{value}](https://arxiv.org/abs/{value})",
            "isbn": f"ISBN {value}", "url": f"<{value}>"}[kind]


def cite(key: str) -> str:
    """One reference as a Markdown line: authors (year). Title. Venue. Identifiers."""
    r = reference(key)
    authors = ", ".join(r.authors)
    ids = "; ".join(_link(k, val) for k, val in identifiers(r).items())
    note = f" {r.note}" if r.note else ""
    return f"{authors} ({r.year}). *{r.title}*. {r.venue}. {ids}.{note}"


def bibliography(kinds=KINDS):
    """A DataFrame of the references of the chosen kinds, with their identifiers."""
    import pandas as pd

    kinds = v.names("kinds", kinds, KINDS)
    return pd.DataFrame([{"key": r.key, "kind": r.kind, "authors": ", ".join(r.authors), "year": r.year,
                          "title": r.title, "venue": r.venue,
                          "identifiers": "; ".join(f"{k}:{val}" for k, val in identifiers(r).items())}
                         for r in REFERENCES if r.kind in kinds]).set_index("key")


def tools_table():
    """Today's FL tools: maintainer, what each is for, frameworks, URL, paper."""
    import pandas as pd

    return pd.DataFrame([{"tool": t.name, "maintainer": t.maintainer, "what it is for": t.what_for,
                          "works with": t.frameworks, "url": t.url,
                          "paper": cite(t.paper) if t.paper else "", "note": t.note} for t in TOOLS]).set_index("tool")


def corrections():
    """The essay's §7 citations beside the correct ones."""
    import pandas as pd

    return pd.DataFrame([{"the essay cites": said, "correct entry": "<br>".join(cite(k) for k in keys) or "–",
                          "what was wrong": why} for said, keys, why in ESSAY_CITATIONS])
