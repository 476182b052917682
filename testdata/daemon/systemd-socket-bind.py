#!/usr/bin/env python3
"""Bind a socket unit's sockets the way systemd (252) binds them at boot.

TestDaemonsAgree (cmd/lbdoctor/daemon_linux_test.go) runs this in a network
namespace as the "daemon" of a socket unit: systemd is not PID 1 there, so
there is no real socket activation, but the kernel judges the same
socket() / setsockopt() / bind() / listen() sequence that systemd's
socket_address_listen() (src/shared/socket-util.c, called by
src/core/socket.c) issues:

  socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK)
  IPV6_V6ONLY               when BindIPv6Only= is not "default" (IPv6 only)
  SO_BINDTODEVICE           BindToDevice=            (IP sockets)
  SO_REUSEPORT              ReusePort=yes            (IP sockets)
  IP_FREEBIND/IPV6_FREEBIND FreeBind=yes             (IP sockets)
  IP_TRANSPARENT/IPV6_...   Transparent=yes          (IP sockets)
  SO_REUSEADDR              always
  bind(), then listen() for stream and seqpacket sockets

The unit is read for the few keys above and the Listen*= lines; addresses
are parsed as systemd.socket(5) documents them (a bare port is [::]:PORT).
On a failure it prints systemd's own line
  UNIT: Failed to create listening socket (ADDR): STRERROR
and exits 1, closing what it bound (the unit fails as a whole); on success
it prints "listening" and holds the sockets until it is killed.
"""
import errno
import os
import signal
import socket
import sys

IP_FREEBIND = 15
IPV6_FREEBIND = 78
IP_TRANSPARENT = 19
IPV6_TRANSPARENT = 75
SO_BINDTODEVICE = 25


def parse_bool(v):
    v = v.lower()
    if v in ("1", "yes", "y", "true", "t", "on"):
        return True
    if v in ("0", "no", "n", "false", "f", "off"):
        return False
    raise ValueError(v)


def read_unit(path):
    listens, opts = [], {"FreeBind": False, "Transparent": False, "ReusePort": False,
                         "BindIPv6Only": "default", "BindToDevice": ""}
    section = ""
    for line in open(path):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line[1:-1]
            continue
        if section != "Socket" or "=" not in line:
            continue
        k, v = (s.strip() for s in line.split("=", 1))
        if k in ("ListenStream", "ListenDatagram", "ListenSequentialPacket"):
            if v == "":
                listens = []
            else:
                listens.append((k, v))
        elif k in ("FreeBind", "Transparent", "ReusePort"):
            opts[k] = parse_bool(v)
        elif k == "BindIPv6Only":
            opts[k] = v.lower()
        elif k == "BindToDevice":
            opts[k] = v
    return listens, opts


def parse_address(v):
    """(family, sockaddr, printed) as socket_address_parse() reads v."""
    if v.startswith("/"):
        return socket.AF_UNIX, v, v
    if v.isdigit():
        return socket.AF_INET6, ("::", int(v)), "[::]:%s" % v
    if v.startswith("["):
        host, port = v[1:].split("]:", 1)
        return socket.AF_INET6, (host, int(port)), "[%s]:%s" % (host, port)
    host, port = v.rsplit(":", 1)
    return socket.AF_INET, (host, int(port)), "%s:%s" % (host, port)


def listen_one(key, value, opts):
    family, addr, printed = parse_address(value)
    kind = {"ListenStream": socket.SOCK_STREAM, "ListenDatagram": socket.SOCK_DGRAM,
            "ListenSequentialPacket": socket.SOCK_SEQPACKET}[key]
    s = socket.socket(family, kind | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)
    try:
        if family == socket.AF_INET6 and opts["BindIPv6Only"] != "default":
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if opts["BindIPv6Only"] in ("ipv6-only", "yes", "true", "1", "on") else 0)
        if family in (socket.AF_INET, socket.AF_INET6):
            if opts["BindToDevice"]:
                s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, opts["BindToDevice"].encode())
            if opts["ReusePort"]:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if opts["FreeBind"]:
                if family == socket.AF_INET:
                    s.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
                else:
                    s.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)
            if opts["Transparent"]:
                if family == socket.AF_INET:
                    s.setsockopt(socket.IPPROTO_IP, IP_TRANSPARENT, 1)
                else:
                    s.setsockopt(socket.IPPROTO_IPV6, IPV6_TRANSPARENT, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_UNIX:
            # systemd creates the parent directories and removes a stale
            # socket file first.
            os.makedirs(os.path.dirname(addr), 0o755, exist_ok=True)
            try:
                os.unlink(addr)
            except FileNotFoundError:
                pass
        s.bind(addr)
        if kind != socket.SOCK_DGRAM:
            s.listen(socket.SOMAXCONN)
    except OSError as e:
        s.close()
        raise OSError(e.errno, "%s" % printed) from None
    return s


def main():
    unit_path = sys.argv[1]
    unit = os.path.basename(unit_path)
    listens, opts = read_unit(unit_path)
    held = []
    for key, value in listens:
        try:
            held.append(listen_one(key, value, opts))
        except OSError as e:
            print("%s: Failed to create listening socket (%s): %s" % (unit, e.strerror, os.strerror(e.errno)), file=sys.stderr, flush=True)
            print("%s: Failed to listen on sockets: %s" % (unit, os.strerror(e.errno)), file=sys.stderr, flush=True)
            for s in held:
                s.close()
            sys.exit(1)
    print("listening", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
