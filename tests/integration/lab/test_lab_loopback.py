"""Every server the lab starts listens on the loopback range only."""
import ipaddress

from tests.lab.common import STATE_DIR, lab_processes, listening_sockets


def _is_loopback(address):
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return address == "localhost"


def test_lab_listens_on_loopback_only(lab_tls, lab_k8s, lab_prometheus):
    lab_pids = set(lab_processes(STATE_DIR))
    assert lab_pids, "no lab process found: the lab fixtures should have started it"
    lab_sockets = [s for s in listening_sockets() if s[2] in lab_pids]
    assert lab_sockets, "the lab's servers were not seen listening"
    outside = [s for s in lab_sockets if not _is_loopback(s[0])]
    assert outside == [], f"lab sockets outside 127.0.0.0/8: {outside}"
