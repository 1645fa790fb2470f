"""Offline stand-in for the get-pip.py bootstrap script that ansible-test downloads.

ansible-test creates each of its virtual environments without pip and then runs a cached copy
of get-pip.py (``~/.ansible/test/cache/get_pip_<version>.py``) with the pip version it wants
and a few options. Where that download is not reachable, ``make seed-ansible-test`` puts this
file in the cache instead: it installs the pip bundled with Python through ``ensurepip`` and
then lets that pip install the exact packages ansible-test asked for from the package index.
"""

import subprocess
import sys

SKIPPED_OPTIONS = {"--no-setuptools", "--no-wheel"}


def main():
    """Bootstrap pip, then install the requested packages with it."""
    # ensurepip runs in a child process: in-process it sets PIP_CONFIG_FILE=/dev/null in our own
    # environment, which would hide the machine's pip configuration (index, CA bundle) from the
    # install below.
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    args = [arg for arg in sys.argv[1:] if arg not in SKIPPED_OPTIONS]
    packages = [arg for arg in args if not arg.startswith("-")]
    if packages:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet"] + args)


if __name__ == "__main__":
    main()
