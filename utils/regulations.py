"""Why the data cannot simply be pooled: the data-protection laws that bind the course's data holders,
each with its official citation. Introduced in chapter 01.

This is a map for reading, **not legal advice**: which text applies to a given transfer, and whether
one of its permissions (adequacy decisions, contracts, consent, research exemptions) covers it, is a
question for a lawyer and the data-protection officer of each institution. The table says which
texts they would open and which articles deal with health data and with moving data abroad.
"""
from __future__ import annotations

from dataclasses import dataclass

from utils import validate as v

__all__ = ["Law", "LAWS", "PARTIES", "NOT_LEGAL_ADVICE", "law", "law_table", "parties_table",
           "regimes_involved", "transfer_matrix"]

NOT_LEGAL_ADVICE = ("This is not legal advice: it names the texts and articles a lawyer would read; whether a "
                    "particular transfer is allowed depends on facts and permissions it does not cover.")


@dataclass(frozen=True)
class Law:
    key: str
    jurisdiction: str
    name: str
    citation: str
    url: str
    sensitive_data: str
    cross_border: str
    not_covered: str
    scope: str = "personal"  # "personal": all personal data; "health": health information only


LAWS = (
    Law("GDPR", "European Union and EEA (Hungary)",
        "General Data Protection Regulation",
        "Regulation (EU) 2016/679 of 27 April 2016, OJ L 119, 4.5.2016; applies since 25 May 2018",
        "https://eur-lex.europa.eu/eli/reg/2016/679/oj",
        "Art. 9(1): data concerning health is a special category whose processing is prohibited unless an "
        "Art. 9(2) condition applies, e.g. explicit consent (a), health care (h), public health (i), or "
        "scientific research with the safeguards of Art. 89 (j).",
        "Chapter V (Arts. 44-50): personal data may leave the EU/EEA only on an adequacy decision (Art. 45), "
        "with appropriate safeguards such as standard contractual clauses or binding corporate rules "
        "(Arts. 46-47), or under narrow derogations such as explicit consent (Art. 49).",
        "Anonymous information is outside the Regulation (Recital 26); pseudonymised data is still personal "
        "data."),
    Law("FADP", "Switzerland",
        "Federal Act on Data Protection (Data Protection Act, FADP / DSG)",
        "Federal Act of 25 September 2020, SR 235.1; in force since 1 September 2023",
        "https://www.fedlex.admin.ch/eli/cc/2022/491/en",
        "Art. 5 let. c: data relating to health is sensitive personal data; disclosing it to third parties "
        "needs a justification (Arts. 30-31), and consent to process it must be explicit (Art. 6(7)).",
        "Arts. 16-17: disclosure abroad if the Federal Council has found the destination's legislation "
        "adequate (Art. 16(1)), otherwise with appropriate safeguards such as approved contractual clauses "
        "(Art. 16(2)), or under exceptions such as explicit consent (Art. 17).",
        "Data that no longer relates to an identifiable person is not personal data (Art. 5 let. a)."),
    Law("HIPAA", "United States (Cleveland, VA Long Beach)",
        "HIPAA Privacy Rule (Health Insurance Portability and Accountability Act of 1996)",
        "45 CFR Part 160 and Part 164, Subparts A and E",
        "https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-E",
        "Protected health information held by covered entities (health plans, clearinghouses, providers) "
        "and their business associates may be used or disclosed only as the Rule permits (45 CFR 164.502), "
        "e.g. with the patient's authorization (164.508) or for research under an IRB waiver (164.512(i)).",
        "No rule specific to other countries: a disclosure abroad is a disclosure like any other and needs "
        "the same permission. A limited data set may be shared under a data use agreement (164.514(e)).",
        "De-identified data (164.514(a)-(b): safe harbor or expert determination) is outside the Rule. The "
        "VA, a federal agency, is also bound by the Privacy Act of 1974 (5 U.S.C. 552a).", scope="health"),
    Law("PIPL", "People's Republic of China",
        "Personal Information Protection Law (个人信息保护法)",
        "Adopted 20 August 2021 (Order of the President No. 91); in force since 1 November 2021",
        "http://www.npc.gov.cn/npc/c30834/202108/a8c4e3672c74491a80b53a172bb753fe.shtml",
        "Art. 28: medical and health information is sensitive personal information, processed only for a "
        "specific purpose with sufficient necessity and strict protection; Art. 29: with separate consent.",
        "Art. 38: providing personal information abroad needs a CAC security assessment, a certification, or "
        "the CAC standard contract (or another condition set by law); Art. 39: the individual must be told "
        "who the foreign recipient is and give separate consent; Art. 40: critical-information-"
        "infrastructure operators and large processors must store data in China and pass a security "
        "assessment before sending it abroad.",
        "Anonymised information is not personal information (Art. 4)."),
    Law("PDPA-TW", "Taiwan (the bank of chapter 08)",
        "Personal Data Protection Act (個人資料保護法)",
        "Personal Data Protection Act, last amended 31 May 2023",
        "https://law.moj.gov.tw/ENG/LawClass/LawAll.aspx?pcode=I0050021",
        "Art. 2: personal data includes medical records and financial conditions; Art. 6: medical, "
        "healthcare and genetic data are special data that may be processed only in listed cases.",
        "Art. 21: transfers abroad are allowed in principle, but the competent authority may restrict a "
        "non-government agency's transfer, e.g. where major national interests are involved, a treaty so "
        "provides, the recipient country lacks sound protection, or the transfer circumvents the Act.",
        "Art. 19(1)(4): statistics and academic research may use data processed so that it cannot "
        "identify a specific person."),
)

_KEYS = tuple(x.key for x in LAWS)

# The course's data holders: (short name, holder, data, kind of data, country, laws that bind it).
PARTIES = (
    ("Cleveland", "Cleveland Clinic Foundation", "heart disease (chapters 00, 05)", "health", "USA", ("HIPAA",)),
    ("Hungary", "Hungarian Institute of Cardiology, Budapest", "heart disease (chapters 00, 05)", "health", "Hungary",
     ("GDPR",)),
    ("Switzerland", "University Hospitals of Zurich and Basel", "heart disease (chapters 00, 05)", "health",
     "Switzerland", ("FADP",)),
    ("VA Long Beach", "VA Medical Center, Long Beach", "heart disease (chapters 00, 05)", "health", "USA", ("HIPAA",)),
    ("Taiwan bank", "A Taiwanese card issuer", "credit-card default (chapter 08)", "financial", "Taiwan", ("PDPA-TW",)),
    ("Tetouan", "Tetouan's electricity distribution zones", "zone load, 10-minute totals (chapter 08)", "aggregate",
     "Morocco", ()),
)
_SHORT = tuple(p[0] for p in PARTIES)


def law(key: str) -> Law:
    """The law with this key ("GDPR", "FADP", "HIPAA", "PIPL", "PDPA-TW")."""
    v.choice("key", key, _KEYS)
    return LAWS[_KEYS.index(key)]


def law_table(columns=("jurisdiction", "citation", "sensitive_data", "cross_border", "url")):
    """One row per law with the chosen columns (a DataFrame indexed by the law's key)."""
    import pandas as pd

    fields = ("jurisdiction", "name", "citation", "url", "sensitive_data", "cross_border", "not_covered")
    if isinstance(columns, str) or not isinstance(columns, (list, tuple)) or not columns:
        raise TypeError(f"columns must be a non-empty list of field names, got {columns!r}")
    for c in columns:
        v.choice("columns", c, fields)
    return pd.DataFrame([{c: getattr(x, c) for c in columns} for x in LAWS], index=pd.Index(_KEYS, name="law"))


def parties_table():
    """The course's data holders, their country and the laws that bind them."""
    import pandas as pd

    return pd.DataFrame([{"holder": holder, "data": data, "country": country,
                          "laws": ", ".join(laws) if laws else "none: aggregate load, not personal data"}
                         for _, holder, data, _, country, laws in PARTIES], index=pd.Index(_SHORT, name="party"))


def _party(name: str, what: str) -> tuple:
    v.choice(what, name, _SHORT)
    return PARTIES[_SHORT.index(name)]


def regimes_involved(sender: str, receiver: str) -> tuple:
    """The laws whose texts a transfer of records from ``sender`` to ``receiver`` (short names of
    ``PARTIES``) involves: the sender's (it decides whether the records may leave) and the receiver's,
    if it covers that kind of data (it governs the records on arrival). No personal data, no law."""
    s, r = _party(sender, "sender"), _party(receiver, "receiver")
    if s[0] == r[0]:
        raise ValueError(f"sender and receiver are the same party ({sender!r}); nothing moves")
    kind = s[3]
    if kind == "aggregate":
        return ()
    laws = list(s[5])
    laws += [x for x in r[5] if x not in laws and (law(x).scope == "personal" or kind == "health")]
    return tuple(laws)


def transfer_matrix(parties=_SHORT):
    """A DataFrame sender × receiver of the laws a transfer involves ("–" on the diagonal); a transfer
    that crosses a border is marked "↗"."""
    import pandas as pd

    names = list(v.names("parties", parties, _SHORT))
    country = {p[0]: p[4] for p in PARTIES}
    out = pd.DataFrame(index=pd.Index(names, name="from"), columns=pd.Index(names, name="to"), dtype=object)
    for a in names:
        for b in names:
            if a == b:
                out.loc[a, b] = "–"
                continue
            laws = regimes_involved(a, b)
            text = " + ".join(laws) if laws else "no personal data"
            out.loc[a, b] = text + (" ↗" if country[a] != country[b] else "")
    return out
