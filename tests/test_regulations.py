"""The law table of chapter 01: official citations and the 'who is involved' logic."""
import re

from utils import regulations

OFFICIAL = {"GDPR": "eur-lex.europa.eu", "FADP": "www.fedlex.admin.ch", "HIPAA": "www.ecfr.gov",
            "PIPL": "www.npc.gov.cn", "PDPA-TW": "law.moj.gov.tw"}


def test_the_issue_s_laws_are_all_there_with_official_urls_and_articles():
    assert set(OFFICIAL) == {x.key for x in regulations.LAWS}
    for x in regulations.LAWS:
        assert x.url.split("/")[2] == OFFICIAL[x.key], x.key
        assert re.search(r"\bArts?\.|\b164\.\d+", x.cross_border + x.sensitive_data), x.key
        assert x.citation and x.jurisdiction and x.not_covered
    assert "Art. 9" in regulations.law("GDPR").sensitive_data and "Chapter V" in regulations.law("GDPR").cross_border
    assert "Art. 38" in regulations.law("PIPL").cross_border and "Art. 39" in regulations.law("PIPL").cross_border
    assert "SR 235.1" in regulations.law("FADP").citation and "Arts. 16-17" in regulations.law("FADP").cross_border
    assert "45 CFR" in regulations.law("HIPAA").citation


def test_it_says_it_is_not_legal_advice():
    assert "not legal advice" in regulations.NOT_LEGAL_ADVICE
    assert "not legal advice" in regulations.__doc__


def test_who_is_involved():
    assert regulations.regimes_involved("Hungary", "Cleveland") == ("GDPR", "HIPAA")
    assert regulations.regimes_involved("Cleveland", "VA Long Beach") == ("HIPAA",)
    # HIPAA covers health information only: bank records arriving at a hospital do not involve it.
    assert regulations.regimes_involved("Taiwan bank", "Cleveland") == ("PDPA-TW",)
    assert regulations.regimes_involved("Taiwan bank", "Hungary") == ("PDPA-TW", "GDPR")
    assert regulations.regimes_involved("Tetouan", "Hungary") == ()


def test_transfer_matrix():
    m = regulations.transfer_matrix(["Cleveland", "Hungary", "VA Long Beach"])
    assert list(m.index) == list(m.columns) == ["Cleveland", "Hungary", "VA Long Beach"]
    assert all(m.loc[n, n] == "–" for n in m.index)
    assert m.loc["Cleveland", "VA Long Beach"] == "HIPAA" and m.loc["Hungary", "Cleveland"] == "GDPR + HIPAA ↗"
    table = regulations.law_table(("url",))
    assert list(table.columns) == ["url"] and len(table) == len(regulations.LAWS)
    assert len(regulations.parties_table()) == len(regulations.PARTIES)
