"""Sphinx configuration of the course website (built by ``python -m tools.book``; see its docstring).

Everything the pages load is under _static (vendored by tools.book into build/vendor/static): the
site works offline.
"""
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "build" / "vendor" / "static"
project = "Federated Learning Across Borders"
author = "the course's authors"
copyright = "the course's authors; code Apache-2.0, text and figures CC BY 4.0"

extensions = ["myst_nb"]
myst_enable_extensions = ["dollarmath", "amsmath", "html_image"]
myst_heading_anchors = 3
nb_execution_mode = "off"  # tools.book executed every chapter already
nb_merge_streams = True
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

html_theme = "sphinx_book_theme"
html_title = project
html_static_path = [str(STATIC)]
html_js_files = ["plotly.min.js"]
html_theme_options = {"show_navbar_depth": 1, "home_page_in_toc": True}
html_show_sourcelink = False
html_context = {"default_mode": "light"}  # the theme logs a console error on a first visit without it

# MathJax and the widget manager from _static, never a CDN.
mathjax_path = "mathjax/tex-mml-chtml.js"
nb_ipywidgets_js = {
    "require.js": {},
    "widgets/embed-amd.js": {"data-jupyter-widgets-cdn": "_static/widgets/"},
}


def setup(app):
    # Chapter 01 shows the essay's diagram as a Mermaid block (JupyterLab draws it); Pygments has no
    # Mermaid lexer, so the site shows the block as plain text instead of failing the -W build.
    from pygments.lexers.special import TextLexer

    app.add_lexer("mermaid", TextLexer)
    # The widget manager finds its font files from the URL RequireJS gives its own module, by default
    # next to the page; map its module names to _static/widgets/ (a global `require` object is read by
    # require.js as its configuration; data-content_root is the page's relative path to the site root).
    app.add_js_file(None, priority=100, body=(
        "(function () {"
        " var widgets = new URL((document.documentElement.dataset.content_root || './') + '_static/widgets',"
        " document.baseURI).href;"
        " window.require = {paths: {'@jupyter-widgets/html-manager/dist': widgets, '@jupyter-widgets': widgets}};"
        " window.__jupyter_widgets_assets_path__ = widgets + '/';"
        "})();"))
