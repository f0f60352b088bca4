#!/usr/bin/env python3
"""Runs the standalone Milvus 2.3.5 server of PyPI's `milvus` wheel (set up by scripts/setup.sh
in $RECALL_LAB_CACHE/milvusenv) as a long-lived, cleanly stoppable process: for the tests
(tests/lib.rs `MilvusServer`), the benchmarks (scripts/bench_milvus.sh) and trying the Milvus
engine on one machine. The wheel's own launcher cannot run two servers at once, ignores SIGTERM
while starting and leaves its server behind when killed; this one fixes those.

  milvus_server.py --base-dir DIR [--port PORT] [--ready-file FILE] [--grace SECS]

* Prints one line `MILVUS_READY port=<grpc> pid=<server pid> http=<healthz/metrics port> secs=<t>`
  on stdout (and atomically writes it to --ready-file) once /healthz answers OK.
* SIGTERM / SIGINT (also during startup): SIGTERM to the server, wait --grace s, then SIGKILL;
  exits 0. If the server dies on its own the launcher exits 2; startup failure exits 1.
* If the launcher itself is SIGKILLed, the kernel SIGKILLs the server (PR_SET_PDEATHSIG).
* Several instances can run at once (distinct --base-dir): every port, including embedded
  etcd's client *and peer* port (the peer port 2380 is hard-wired unless etcd.config.path is
  set), is a kernel-chosen free port, so concurrent starts rarely collide (retry on exit 1).
* Start on a fresh data dir: restarting on an old base-dir/data waits ~50 s for the previous
  run's etcd sessions to expire. Keeping base-dir/bin (unpacked binaries) saves ~3 s.
"""
import argparse, ctypes, os, signal, socket, subprocess, sys, time, types, urllib.request

import milvus
from milvus import MilvusServer, MilvusServerConfig

PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL("libc.so.6", use_errno=True)


def _child_setup():
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # runs in the child before exec


class _PopenWithDeathSig(subprocess.Popen):
    def __init__(self, *a, **kw):
        kw.setdefault("preexec_fn", _child_setup)
        super().__init__(*a, **kw)


# milvus/__init__.py calls `subprocess.Popen(...)`: hand it a Popen that sets the death signal.
milvus.subprocess = types.SimpleNamespace(**{**vars(subprocess), "Popen": _PopenWithDeathSig})

STOP = False


def _on_signal(_sig, _frm):
    global STOP
    STOP = True


def free_ports(n: int) -> list:
    """n distinct ports the kernel considers free right now (all held open while choosing)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def patched_template(base_dir: str) -> str:
    """The wheel's config template + `etcd.config.path` (our etcd ports) + loopback component IPs."""
    src = os.path.join(os.path.dirname(milvus.__file__), "data", "config.yaml.template")
    text = open(src, encoding="utf-8").read()
    anchor = "  use:\n    embed: true"
    assert anchor in text, "template changed"
    text = text.replace(anchor, "  config:\n    path: {{ etcd_config_path }}\n" + anchor, 1)
    # Components register and dial each other at <role>.ip; unset = first non-loopback IPv4
    # (eth0). Pin them to loopback so no traffic targets a non-loopback address.
    blank_ip = "  ip: # if not specify address"
    assert text.count(blank_ip) == 7, "template changed"
    text = text.replace(blank_ip, "  ip: 127.0.0.1 # if not specify address")
    os.makedirs(os.path.join(base_dir, "configs"), exist_ok=True)
    dst = os.path.join(base_dir, "configs", "milvus.yaml.template")
    open(dst, "w", encoding="utf-8").write(text)
    return dst


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-dir", required=True)
    ap.add_argument("--port", type=int, default=0, help="gRPC port (fails if busy); 0 = pick a free one")
    ap.add_argument("--ready-file", default="")
    ap.add_argument("--grace", type=float, default=5.0, help="seconds after SIGTERM before SIGKILL")
    ap.add_argument("--timeout", type=float, default=120.0, help="startup timeout, seconds")
    ap.add_argument("--exit-with-parent", action="store_true",
                    help="stop when the process that started this one exits (a test binary)")
    args = ap.parse_args()
    parent = os.getppid()

    def orphaned() -> bool:
        return args.exit_with_parent and os.getppid() != parent
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    base = os.path.abspath(args.base_dir)
    os.makedirs(base, exist_ok=True)
    cfg = MilvusServerConfig(template=patched_template(base))
    port_keys = [k for k in cfg.configurable_items if k.endswith("_port")]
    picked = free_ports(len(port_keys) + 2)
    etcd_peer, webservice_port = picked[-2], picked[-1]
    ports = dict(zip(port_keys, picked))  # includes etcd_port and proxy_port
    if args.port:
        ports["proxy_port"] = args.port
    etcd_client = ports["etcd_port"]
    etcd_yaml = os.path.join(base, "configs", "etcd.yaml")
    # milvus 2.3.5 bug: glog_conf_file is only set when no template is given
    cfg.glog_conf_file = os.path.join(os.path.dirname(milvus.__file__), "data", "glog.conf")
    server = MilvusServer(cfg, wait_for_started=False)
    server.set_base_dir(base)
    with open(etcd_yaml, "w", encoding="utf-8") as f:
        f.write(
            "name: default\n"
            f"data-dir: {os.path.join(base, 'data', 'etcd.data')}\n"
            f"listen-client-urls: http://127.0.0.1:{etcd_client}\n"
            f"advertise-client-urls: http://127.0.0.1:{etcd_client}\n"
            f"listen-peer-urls: http://127.0.0.1:{etcd_peer}\n"
            f"initial-advertise-peer-urls: http://127.0.0.1:{etcd_peer}\n"
            f"initial-cluster: default=http://127.0.0.1:{etcd_peer}\n"
        )
    server.config.set("etcd_config_path", etcd_yaml)
    # Give every port its own kernel-chosen free port. (The wheel's default is to scan upward from
    # 19529/19531/53100/9091/... which races when two instances start at the same moment.)
    # kwargs-style settings are bound strictly: start fails if one got taken meanwhile.
    server.config.update(**ports)
    server.webservice_port = webservice_port  # /healthz + /metrics; start() keeps it if still free

    t0 = time.monotonic()
    try:
        server.start()  # resolves ports, writes configs/milvus.yaml, unpacks bin/ (first run), spawns
    except Exception as e:  # e.g. "set data_node_port=..., but bind failed" (port taken meanwhile)
        print(f"MILVUS_FAILED {e}", file=sys.stderr, flush=True)
        stop(server, args.grace)
        return 1
    proc = server.server_proc
    url = f"http://127.0.0.1:{server.webservice_port}/healthz"
    ok = False
    while not STOP and not orphaned() and proc.poll() is None and time.monotonic() - t0 < args.timeout:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if b"OK" in r.read():
                    ok = True
                    break
        except OSError:
            pass
        time.sleep(0.1)
    if not ok:
        why = "signal" if STOP else (f"exit code {proc.returncode}" if proc.poll() is not None else "timeout")
        print(f"MILVUS_FAILED {why}; see {base}/logs/milvus-stdout.log and milvus-stderr.log", file=sys.stderr, flush=True)
        stop(server, args.grace)
        return 0 if STOP else 1

    line = (f"MILVUS_READY port={server.listen_port} pid={proc.pid} "
            f"http={server.webservice_port} secs={time.monotonic() - t0:.1f}")
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as f:
            f.write(line + "\n")
        os.replace(args.ready_file + ".tmp", args.ready_file)
    print(line, flush=True)

    while not STOP and not orphaned():
        if proc.poll() is not None:
            print(f"MILVUS_EXITED code={proc.returncode}", file=sys.stderr, flush=True)
            stop(server, args.grace)
            return 2
        time.sleep(0.2)
    stop(server, args.grace)
    return 0


def stop(server: MilvusServer, grace: float) -> None:
    proc = server.server_proc
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    server.stop()  # closes the log files (and would kill a survivor)


if __name__ == "__main__":
    sys.exit(main())
