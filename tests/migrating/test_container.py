"""The Dockerfile and the README's Container section describe the same install and run steps."""

import re

from tests.support.databases import REPO_ROOT

DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()
README = (REPO_ROOT / "README.md").read_text()
ENTRYPOINT = (REPO_ROOT / "docker" / "entrypoint.sh").read_text()


def _container_section():
    return README.split("### Container", 1)[1].split("\n## ", 1)[0]


def test_image_installs_the_project_from_the_lock_as_the_readme_says():
    assert re.search(r"^RUN pip install --require-hashes -r requirements\.lock", DOCKERFILE, re.M)
    assert re.search(r"^    && pip install --no-deps \. ", DOCKERFILE, re.MULTILINE)
    section = _container_section()
    assert "`pip install --require-hashes -r requirements.lock`" in section
    assert "`pip install --no-deps .`" in section


def test_image_runs_migrate_with_database_url_as_the_readme_says():
    assert 'CMD ["migrate", "--no-input"]' in DOCKERFILE
    assert 'exec python manage.py "$@"' in ENTRYPOINT
    assert "    LEDGERFLOW_ENV=production" in DOCKERFILE
    section = _container_section()
    assert "`python manage.py migrate --no-input`" in section
    assert "`LEDGERFLOW_ENV=production`" in section
    assert "docker run --rm -e DATABASE_URL=" in section


def test_entrypoint_refuses_to_start_without_database_url():
    assert 'if [ -z "${DATABASE_URL:-}" ]' in ENTRYPOINT
    assert "exit 2" in ENTRYPOINT
