"""References and tools of chapter 10: every entry has a well-formed identifier, the essay's errors are
corrected as the issue states, and the tools the issue names are there with what each is for."""
import pytest

from utils import references as refs


def test_every_reference_has_an_identifier_and_each_is_well_formed():
    keys = [r.key for r in refs.REFERENCES]
    assert len(keys) == len(set(keys))
    for r in refs.REFERENCES:
        ids = refs.identifiers(r)
        assert ids, f"{r.key} has no DOI, arXiv id, ISBN or URL"
        for kind, value in ids.items():
            assert refs.check_identifier(kind, value) == value
        assert r.kind in refs.KINDS and r.authors and r.title and r.venue and 1980 < r.year < 2030


@pytest.mark.parametrize("kind, value", [("isbn", "978-0-262-03561-3"), ("isbn", "9787121385223"),
                                         ("doi", "10.1145/3298981"), ("arxiv", "1912.04977"), ("arxiv", "1412.6980"),
                                         ("url", "https://onnx.ai")])
def test_valid_identifiers(kind, value):
    assert refs.check_identifier(kind, value) == value


@pytest.mark.parametrize("kind, value", [("isbn", "978-0-262-03561-4"), ("doi", "11.1145/3298981"),
                                         ("arxiv", "1912.4977"), ("arxiv", "1412.06980"), ("url", "ftp://x.org")])
def test_malformed_identifiers_are_refused(kind, value):
    with pytest.raises(ValueError):
        refs.check_identifier(kind, value)


def test_the_essay_s_errors_are_corrected():
    book = refs.reference("yang2019book")
    assert book.authors == ("Qiang Yang", "Yang Liu", "Yong Cheng", "Yan Kang", "Tianjian Chen", "Han Yu")
    assert "Morgan & Claypool" in book.venue and book.isbn == "978-1-68173-697-6"
    assert refs.reference("yang2020book_zh").isbn == "978-7-121-38522-3"
    tist = refs.reference("yang2019tist")
    assert tist.title == "Federated Machine Learning: Concept and Applications" and tist.doi == "10.1145/3298981"
    assert [a.split()[-1] for a in tist.authors] == ["Yang", "Liu", "Chen", "Tong"]
    assert refs.reference("konecny2016").arxiv == "1610.05492"
    assert refs.reference("konecny2016").authors[0] == "Jakub Konečný"
    assert refs.reference("kairouz2021").arxiv == "1912.04977" and "Foundations and Trends" in \
        refs.reference("kairouz2021").venue
    said = " ".join(s for s, _, _ in refs.ESSAY_CITATIONS)
    assert "Abadi" in said and "Li et al." in said and "PyTorch Federated" in said
    for _, keys, why in refs.ESSAY_CITATIONS:
        assert why and all(k in [r.key for r in refs.REFERENCES] for k in keys)
    table = refs.corrections()
    assert "FLSim" in table.loc[table["the essay cites"].str.contains("PyTorch"), "what was wrong"].iloc[0]


def test_today_s_tools_each_say_what_they_are_for():
    names = " ".join(t.name for t in refs.TOOLS)
    for tool in ("TensorFlow Federated", "Flower", "NVIDIA FLARE", "FATE", "FedML", "PySyft", "Fed-BioMed", "Substra",
                 "FLSim"):
        assert tool in names, tool
    keys = {r.key for r in refs.REFERENCES}
    for t in refs.TOOLS:
        assert t.maintainer and len(t.what_for) > 30 and refs.check_identifier("url", t.url)
        assert not t.paper or t.paper in keys
    tff = next(t for t in refs.TOOLS if t.name.startswith("TensorFlow Federated"))
    assert "federated-language" in tff.note and "0.87" in tff.note


def test_cite_and_bibliography():
    line = refs.cite("kairouz2021")
    assert "https://doi.org/10.1561/2200000083" in line and "https://arxiv.org/abs/1912.04977" in line
    assert set(refs.bibliography(["book"]).index) == {r.key for r in refs.REFERENCES if r.kind == "book"}
    assert len(refs.tools_table()) == len(refs.TOOLS)


def test_the_works_chapter_08_cites_are_in_the_list():
    import re

    import nbformat

    from utils.download import repo_root

    nb = nbformat.read(repo_root() / "chapters" / "08_finance_and_energy.ipynb", as_version=4)
    text = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
    cited = {"Hardy et al. (2017": ("hardy2017", "arxiv", "1711.10677"),
             "Meadows 1986": ("meadows1986", "doi", "10.1109/SP.1986.10022"),
             "Franklin & Hogg 1999": ("huberman1999", "doi", "10.1145/336992.337012"),
             "Salam & El Hibaoui 2018": ("salam2018", "doi", "10.24432/C5B034"),
             "RFC 3526": ("rfc3526", "doi", "10.17487/RFC3526"),
             "Yeh & Lien 2009": ("yeh2009", "doi", "10.1016/j.eswa.2007.12.020"),
             "Reddi et al., 2021": ("reddi2021", "arxiv", "2003.00295")}
    for phrase, (key, kind, value) in cited.items():
        assert phrase in text, f"chapter 08 no longer cites {phrase!r}: update this test"
        assert getattr(refs.reference(key), kind) == value
    # the README of the shared Tetouan folder (when the data folder is set) names the same data-set DOI
    import os
    from pathlib import Path

    readme = Path(os.environ.get("FLCOURSE_DATA_DIR", "/nonexistent")) / "tetouan-power" / "README.md"
    if readme.exists():
        assert re.search(r"10\.24432/C5B034", readme.read_text(encoding="utf-8"))


def test_pytorch_federated_is_corrected_to_no_entry_and_names_flsim():
    row = [c for c in refs.ESSAY_CITATIONS if "PyTorch Federated" in c[0]][0]
    assert row[1] == () and "FLSim" in row[2] and "Opacus" in row[2] and "not FL" in row[2]
