#!/usr/bin/env python3
"""Fixed one-way delay for the packets iptables sends to an NFQUEUE (this kernel has no netem).

Run inside the namespace whose iptables rules use `-j NFQUEUE --queue-num Q --queue-bypass`:
    python3 nfq_delay.py --queue Q --delay-ms 40
Pure Python over a raw NETLINK_NETFILTER socket (no libnetfilter_queue): copy mode META (no
payload copied), every packet is accepted DELAY ms after it was queued, in order. If the queue is
full the kernel accepts the packet without delay (fail-open), so nothing is dropped here; losses
come only from the iptables `statistic` rules. Stops on SIGTERM/SIGINT (the kernel then accepts
whatever is still queued because the queue is unbound with the socket).
Copied from shared/recipes/nfq_delay.py; here the idle wait is 0.1 s so that it stops within a
teardown's grace period.
"""
import argparse, collections, os, select, signal, socket, struct, sys, time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN, NFQA_CFG_MASK, NFQA_CFG_FLAGS = 1, 2, 3, 4, 5
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_CFG_F_FAIL_OPEN = 1
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NF_ACCEPT = 1
SO_RCVBUFFORCE = 33


def attr(typ, payload):
    ln = 4 + len(payload)
    return struct.pack('=HH', ln, typ) + payload + b'\0' * ((4 - ln % 4) % 4)


class Queue:
    def __init__(self, num):
        self.num = num
        self.seq = 0
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        try:
            self.s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20)
        except OSError:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.s.bind((0, 0))

    def msg(self, mtype, flags, family, payload):
        self.seq += 1
        body = struct.pack('!BBH', family, 0, self.num) + payload
        return struct.pack('=IHHII', 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | mtype, flags, self.seq, 0) + body

    def bind(self, maxlen):
        """One config message (bind, META copy, queue length, fail-open); returns the ids of any
        packets that arrived before the kernel's ack."""
        payload = (attr(NFQA_CFG_CMD, struct.pack('!BBH', NFQNL_CFG_CMD_BIND, 0, socket.AF_INET)) +
                   attr(NFQA_CFG_PARAMS, struct.pack('!IB', 0, NFQNL_COPY_META)) +
                   attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack('!I', maxlen)) +
                   attr(NFQA_CFG_MASK, struct.pack('!I', NFQA_CFG_F_FAIL_OPEN)) +
                   attr(NFQA_CFG_FLAGS, struct.pack('!I', NFQA_CFG_F_FAIL_OPEN)))
        self.s.send(self.msg(NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, socket.AF_INET, payload))
        early = []
        while True:
            data = self.s.recv(1 << 16)
            early += list(self.packets(data))
            off = 0
            while off + 16 <= len(data):
                ln, typ, _, seq = struct.unpack_from('=IHHI', data, off)
                if ln < 16:
                    break
                if typ == NLMSG_ERROR and seq == self.seq:
                    (err,) = struct.unpack_from('=i', data, off + 16)
                    if err != 0:
                        raise OSError(-err, 'nfqueue bind: ' + os.strerror(-err))
                    return early
                off += (ln + 3) & ~3

    def packets(self, data):
        """Yields packet ids of every NFQNL_MSG_PACKET in one datagram."""
        off = 0
        while off + 16 <= len(data):
            ln, typ = struct.unpack_from('=IH', data, off)
            if ln < 16:
                break
            if typ == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                a = off + 20
                end = off + ln
                while a + 4 <= end:
                    alen, atyp = struct.unpack_from('=HH', data, a)
                    if alen < 4:
                        break
                    if (atyp & 0x3fff) == NFQA_PACKET_HDR:
                        yield struct.unpack_from('!I', data, a + 4)[0]
                    a += (alen + 3) & ~3
            off += (ln + 3) & ~3

    def accept(self, pid):
        self.s.send(self.msg(NFQNL_MSG_VERDICT, NLM_F_REQUEST, socket.AF_UNSPEC,
                             attr(NFQA_VERDICT_HDR, struct.pack('!II', NF_ACCEPT, pid))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--queue', type=int, default=0)
    ap.add_argument('--delay-ms', type=float, required=True)
    ap.add_argument('--maxlen', type=int, default=20000)
    a = ap.parse_args()
    q = Queue(a.queue)
    delay = a.delay_ms / 1000.0
    pending = collections.deque()  # (release time, packet id), in arrival order
    t0 = time.monotonic() + delay
    for pid in q.bind(a.maxlen):
        pending.append((t0, pid))
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    sys.stdout.write('nfq_delay: queue %d, %.1f ms\n' % (a.queue, a.delay_ms))
    sys.stdout.flush()
    n = 0
    while not stop:
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            q.accept(pending.popleft()[1])
        # short when idle too, so that SIGTERM (checked once per turn) ends it promptly
        timeout = max(0.0, pending[0][0] - now) if pending else 0.1
        try:
            r, _, _ = select.select([q.s], [], [], timeout)
        except InterruptedError:
            continue
        if not r:
            continue
        try:
            data = q.s.recv(1 << 16)
        except OSError:  # ENOBUFS: some messages lost; the kernel keeps those packets queued
            continue
        t = time.monotonic() + delay
        for pid in q.packets(data):
            pending.append((t, pid))
            n += 1
    for _, pid in pending:
        q.accept(pid)
    sys.stdout.write('nfq_delay: %d packets delayed\n' % n)


if __name__ == '__main__':
    main()
