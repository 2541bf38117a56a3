"""Every link in the README and docs/ resolves inside the repository: a clone is all a reader has."""

import re
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def anchors(path):
    """GitHub's anchors for the headings of a Markdown file."""
    found = set()
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            title = re.sub(r"[^\w\- ]", "", title).replace(" ", "-")
            found.add(title)
    return found


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves_inside_the_repository(document):
    broken = []
    for target in LINK.findall(document.read_text()):
        if re.match(r"^[a-z]+:", target):
            continue  # an absolute URL (https:, mailto:)
        path_part, _, anchor = target.partition("#")
        linked = (document.parent / path_part).resolve() if path_part else document
        resolves = linked.is_relative_to(ROOT) and linked.exists()
        anchored = not anchor or linked.suffix != ".md" or anchor in anchors(linked)
        if not (resolves and anchored):
            broken.append(target)
    assert broken == []


def test_no_document_points_outside_the_repository():
    outside = [str(doc.relative_to(ROOT)) for doc in DOCUMENTS if "../shared" in doc.read_text()]
    assert outside == []
