"""The glossary: one data file, every term used in a chapter other than 10, GLOSSARY.md generated from it."""
import re

import pytest

from utils import course, glossary

TERMS = glossary.load_glossary()
USAGE = glossary.usage(TERMS)
PRESENT = set(USAGE.columns)


def test_every_term_appears_in_a_chapter_other_than_10():
    others = [n for n in USAGE.columns if n != 10]
    assert others, "no chapter other than 10 exists"
    unused = [t for t in USAGE.index if not USAGE.loc[t, others].any()]
    assert unused == [], f"glossary terms used in no chapter other than 10: {unused}"


def test_the_introducing_chapter_uses_the_term_when_it_exists():
    missing = [(t.term, t.chapter) for t in TERMS if t.chapter in PRESENT and not USAGE.loc[t.term, t.chapter]]
    assert missing == [], f"terms whose introducing chapter does not mention them: {missing}"


def test_each_term_has_english_chinese_definition_and_a_unique_anchor():
    anchors = [glossary.anchor(t.term) for t in TERMS]
    assert len(anchors) == len(set(anchors))
    for t in TERMS:
        assert re.search(r"[\u3400-\u9fff]", t.zh) and t.definition.endswith((".", ")")) and t.regex().pattern


def test_the_course_s_own_vocabulary_is_in_it():
    names = {t.term.split(" (")[0] for t in TERMS}
    for term in ("FedAvg", "FedSGD", "FedProx", "Non-IID data", "Client drift", "Differential privacy",
                 "Secure aggregation", "ONNX", "GDPR", "PIPL", "Horizontal FL", "Vertical FL"):
        assert term in names, term


def test_glossary_md_is_generated_from_the_data_file():
    assert glossary.GLOSSARY_MD.read_text(encoding="utf-8") == glossary.markdown(TERMS), "run python -m tools.glossary"


def test_links_resolve_to_an_anchor_in_glossary_md():
    text = glossary.GLOSSARY_MD.read_text(encoding="utf-8")
    link = glossary.link("FedAvg (federated averaging)")
    target = re.fullmatch(r"\[.+\]\(\.\./(GLOSSARY\.md)#([\w-]+)\)", link)
    assert target and (course.ROOT / target.group(1)).exists() and f'id="{target.group(2)}"' in text


def test_spaces_in_patterns_match_line_breaks_and_emphasis():
    term = next(t for t in TERMS if t.term == "Horizontal FL")
    assert term.regex().search("the **horizontal**\nfederated setting")
    assert not term.regex().search("horizontal axis")


@pytest.mark.parametrize("content, message", [
    ("term,zh,chapter,patterns\nA,甲,1,a\n", "columns"),
    ("term,zh,chapter,patterns,definition\nA,,1,a,d\n", "every column"),
    ("term,zh,chapter,patterns,definition\nA,alpha,1,a,d\n", "no Chinese"),
    ("term,zh,chapter,patterns,definition\nA,甲,11,a,d\n", "chapter must be"),
    ("term,zh,chapter,patterns,definition\nA,甲,1,(a,d\n", "regular expression"),
    ("term,zh,chapter,patterns,definition\nA,甲,1,a,d\na,乙,2,b,e\n", "twice"),
    ("term,zh,chapter,patterns,definition\n", "no terms"),
])
def test_a_bad_glossary_file_is_refused(tmp_path, content, message):
    path = tmp_path / "g.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        glossary.load_glossary(path)


def test_usage_reads_only_existing_notebooks(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("We train with FedAvg.")])
    nbformat.write(nb, tmp_path / "03_x.ipynb")
    used = glossary.usage(TERMS, tmp_path)
    assert list(used.columns) == [3]
    assert used.loc["FedAvg (federated averaging)", 3] and not used.loc["FedSGD", 3]
