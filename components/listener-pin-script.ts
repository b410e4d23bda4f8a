/**
 * Why a Traefik upgrade can drop no request: the old and the new Traefik listen on the same public ports in the same
 * network namespace (`reusePort`), and by default the kernel spreads new connections over both by a hash. A new
 * Traefik answers 404 to everything until its Docker provider has loaded the routes (about 0.2 s), so the share that
 * reached it in that window failed (measured: 1–4 of 600 requests).
 *
 * This program pins each public listening port to its group's oldest listener: it joins the port's `SO_REUSEPORT`
 * group with a socket of its own, attaches a classic BPF program that always picks index 0 of the group
 * (`SO_ATTACH_REUSEPORT_CBPF`, Linux 4.5+), and closes that socket again. Index 0 is the listener that joined first,
 * and when it closes the kernel moves another into its slot. So a new Traefik receives nothing while the old one
 * listens; when the old one stops listening, the connections queued on it move to the new one
 * (`net.ipv4.tcp_migrate_req=1`, set on the pause container) and every later one goes there. The program belongs to
 * the group, which lives as long as any of its sockets, so it holds across upgrades; a Traefik that starts alone
 * (first deploy, a restart) starts a new group, which the edge keeper pins again (components/edge-keeper-script.ts).
 *
 * Ports: every TCP port listened on at a wildcard address (0.0.0.0 or ::, in the family Traefik used) in the
 * namespace: Traefik's public entrypoints. Loopback listeners (Traefik's API, which the rollout gate and the handover
 * ask) are left alone: there each Traefik must still be reachable. Runs as Traefik's user (a reuseport group admits
 * only one user) with python3's standard library: `python3 -c <this>` in the pause container's namespace.
 */
export const PIN_LISTENERS_SCRIPT = `import ctypes, socket, sys

SO_ATTACH_REUSEPORT_CBPF = 51
BPF_RET_K = 0x06


class Instruction(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Instruction))]


# "return 0": the group's first socket, its oldest listener.
code = (Instruction * 1)(Instruction(BPF_RET_K, 0, 0, 0))
program = bytes(Program(1, ctypes.cast(code, ctypes.POINTER(Instruction))))


def wildcard_listeners(table, wildcard):
    try:
        lines = open(table).read().splitlines()[1:]
    except OSError:
        return []
    ports = set()
    for fields in (line.split() for line in lines):
        address, port = fields[1].split(":")
        if fields[3] == "0A" and address == wildcard:
            ports.add(int(port, 16))
    return sorted(ports)


failed = 0
for family, table, wildcard, any_address, name in (
    (socket.AF_INET, "/proc/net/tcp", "0" * 8, "0.0.0.0", "tcp"),
    (socket.AF_INET6, "/proc/net/tcp6", "0" * 32, "::", "tcp6"),
):
    for port in wildcard_listeners(table, wildcard):
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((any_address, port))
            sock.listen(1)
            sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, program)
            print("pinned %s port %d to its oldest listener" % (name, port))
        except OSError as error:
            failed += 1
            print("could not pin %s port %d: %s" % (name, port, error), file=sys.stderr)
        finally:
            sock.close()
sys.exit(1 if failed else 0)
`;
