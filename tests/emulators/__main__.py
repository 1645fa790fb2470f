"""``python -m tests.emulators up``: start the AWS and Azure emulators and print their environment.

Run from the repository root. Both emulators listen on loopback only. The command prints
``export NAME=value`` lines (evaluate them in a shell, or use ``--env-file`` and source the file),
comment lines with the control endpoints, and finally ``# ready``; then it stays in the
foreground until interrupted (Ctrl-C or SIGTERM) and stops both emulators.

If the Azure emulator cannot be imported or started, AWS still starts and the output says why
Azure is unavailable.
"""

import argparse
import os
import shlex
import signal
import sys
import threading

from tests.emulators.moto_server import DEFAULT_REGION, MotoEmulator

READY_MARKER = "# ready"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m tests.emulators", description=__doc__.split("\n\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the emulators, print their environment, wait until interrupted")
    up.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default: %(default)s)")
    up.add_argument("--region", default=DEFAULT_REGION, help="AWS region in the environment (default: %(default)s)")
    up.add_argument("--port-moto", type=int, default=0, help="port of moto itself (default: any free port)")
    up.add_argument("--port-aws-proxy", type=int, default=0,
                    help="port of the AWS fault proxy, the endpoint clients use (default: any free port)")
    up.add_argument("--port-azure", type=int, default=0, help="port of the Azure emulator (default: any free port)")
    up.add_argument("--moto-mode", choices=("process", "thread"), default="process",
                    help="run moto as a child process or in this process (default: %(default)s)")
    up.add_argument("--seed", type=int, default=None, help="seed of the fault proxy's random generator")
    up.add_argument("--workdir", default=None, help="directory for logs and certificates (default: a temporary one)")
    up.add_argument("--env-file", default=None, help="also write the export lines to this file")
    up.add_argument("--no-aws", action="store_true", help="do not start the AWS emulator")
    up.add_argument("--no-azure", action="store_true", help="do not start the Azure emulator")
    return parser.parse_args(argv)


def start_aws(args):
    """Start moto and the fault proxy; returns (emulator, comment lines)."""
    workdir = os.path.join(args.workdir, "aws") if args.workdir else None
    emulator = MotoEmulator(host=args.host, port=args.port_moto, proxy_port=args.port_aws_proxy, region=args.region,
                            mode=args.moto_mode, workdir=workdir, seed=args.seed).start()
    control = emulator.proxy.control_url
    notes = [
        "# AWS: moto %s (log: %s)" % (emulator.url, emulator.log_path or "this process"),
        "# AWS endpoint (fault proxy): %s" % emulator.endpoint_url,
        "# AWS fault proxy control: %s/faults  %s/log  %s/stats  %s/reset" % (control, control, control, control),
        "# AWS state reset: POST %s/moto-api/reset" % emulator.url,
    ]
    return emulator, notes


def start_azure(args):
    """Start the Azure emulator if it is available; returns (emulator or None, comment lines)."""
    try:
        from tests.emulators.azure import AzureEmulator  # pylint: disable=import-outside-toplevel
    except ImportError as exc:
        return None, ["# Azure emulator unavailable: cannot import tests.emulators.azure (%s)" % exc]
    workdir = os.path.join(args.workdir, "azure") if args.workdir else None
    try:
        emulator = AzureEmulator(host=args.host, port=args.port_azure, workdir=workdir).start()
    except Exception as exc:  # pylint: disable=broad-exception-caught
        return None, ["# Azure emulator unavailable: it failed to start (%s: %s)" % (type(exc).__name__, exc)]
    return emulator, [
        "# Azure: %s (CA bundle: %s)" % (emulator.url, emulator.ca_bundle),
        "# Azure guide: docs/testing-azure.md",
    ]


def export_lines(env):
    return ["export %s=%s" % (name, shlex.quote(str(value))) for name, value in env.items() if value is not None]


def write_env_file(path, lines):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write("# Written by python -m tests.emulators up; valid while it runs.\n")
        handle.write("\n".join(lines) + "\n")
    os.chmod(temporary, 0o600)  # it holds the emulators' dummy secrets
    os.replace(temporary, path)


def up(args, out=sys.stdout):
    """Start, print, wait, stop. Returns the exit code."""
    stop = threading.Event()

    def on_signal(signum, frame):  # pylint: disable=unused-argument
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    running = []
    try:
        env, notes = {}, ["# hybrid.cluster emulators; stop with Ctrl-C"]
        if not args.no_aws:
            aws, aws_notes = start_aws(args)
            running.append(aws)
            env.update(aws.env())
            notes += aws_notes
        if not args.no_azure:
            azure, azure_notes = start_azure(args)
            if azure is not None:
                running.append(azure)
                env.update(azure.env())
            notes += azure_notes
        lines = export_lines(env)
        if args.env_file:
            write_env_file(args.env_file, lines)
            notes.append("# environment written to %s" % args.env_file)
        out.write("\n".join(notes + lines + [READY_MARKER]) + "\n")
        out.flush()
        while not stop.wait(0.5):
            pass
    finally:
        for emulator in reversed(running):
            emulator.stop()
    return 0


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "up":
        return up(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
