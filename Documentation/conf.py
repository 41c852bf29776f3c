# SPDX-License-Identifier: GPL-2.0
# Sphinx configuration: sphinx-build -W -b html Documentation build/docs
# ("make docs"; make check fails on any warning).
import os

project = "mmapper"
author = "mmapper developers"
with open(os.path.join(os.path.dirname(__file__), "..", "VERSION")) as f:
    release = f.read().strip()
version = release
root_doc = "index"
exclude_patterns = ["examples", "ABI"]
highlight_language = "none"
html_theme = "alabaster"
html_static_path = []
