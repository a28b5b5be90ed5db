"""MkDocs hooks for the documentation site: the README becomes its home page (index.md)
and CONTRIBUTING.md a page (contributing.md), with the README's links into docs/ made
relative to the site; the pages' links back to the README (`../README.md`) point at that
home page."""

import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]


def on_files(files: Files, config: Any) -> Files:
    readme = (ROOT / "README.md").read_text()
    readme = re.sub(r"\]\(docs/", "](", readme).replace("](CONTRIBUTING.md", "](contributing.md")
    files.append(File.generated(config, "index.md", content=readme))
    contributing = (ROOT / "CONTRIBUTING.md").read_text().replace("](docs/", "](")
    contributing = contributing.replace("](README.md", "](index.md")
    files.append(File.generated(config, "contributing.md", content=contributing))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    depth = page.file.src_uri.count("/")
    home = "../" * depth + "index.md"
    return re.sub(r"\]\((?:\.\./)+README\.md", f"]({home}", markdown)
