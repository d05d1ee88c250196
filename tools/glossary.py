"""GLOSSARY.md, generated from data/glossary.csv.

    python -m tools.glossary          # rewrite it
    python -m tools.glossary --check  # exit 1 if it is out of date (a test runs the same comparison)
"""
from __future__ import annotations

import sys

from utils.glossary import GLOSSARY_MD, markdown

if __name__ == "__main__":
    text = markdown()
    current = GLOSSARY_MD.read_text(encoding="utf-8") if GLOSSARY_MD.exists() else ""
    if sys.argv[1:] == ["--check"]:
        if current != text:
            print(f"{GLOSSARY_MD.name} is out of date; run `python -m tools.glossary`", file=sys.stderr)
            sys.exit(1)
        print(f"{GLOSSARY_MD.name} is up to date")
    else:
        GLOSSARY_MD.write_text(text, encoding="utf-8")
        print(f"wrote {GLOSSARY_MD.name} ({text.count(chr(10)) - 6} terms)")
