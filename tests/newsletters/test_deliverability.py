"""EMAIL_CHECK_DELIVERABILITY: DNS decides whether a domain takes mail; a DNS timeout accepts.

A small DNS server on loopback stands in for the reader's domain's name servers.
"""

from __future__ import annotations

import socket
import threading

import dns.message
import dns.rcode
import dns.resolver
import dns.rrset
import pytest

from tests.conftest import free_port
from tests.newsletters.helpers import count_subscribers, load_lists, subscribe_api


class FakeDns:
    """Answers MX for takes-mail.example, NXDOMAIN for nowhere.example, nothing for slow.example."""

    def __init__(self) -> None:
        self.port = free_port()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while self.running:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                continue
            query = dns.message.from_wire(data)
            name = query.question[0].name.to_text()
            if name.startswith("slow.example"):
                continue  # never answers: the client times out
            response = dns.message.make_response(query)
            if name.startswith("takes-mail.example"):
                response.answer.append(
                    dns.rrset.from_text(name, 300, "IN", "MX", "10 mx.takes-mail.example.")
                )
            else:
                response.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(response.to_wire(), peer)

    def stop(self) -> None:
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def app(make_app, monkeypatch):
    server = FakeDns()
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = server.port
    monkeypatch.setattr(dns.resolver, "default_resolver", resolver)
    yield load_lists(make_app(EMAIL_CHECK_DELIVERABILITY=True, EMAIL_DNS_TIMEOUT=0.5))
    server.stop()


def test_domain_with_mail_servers_is_accepted(app, client):
    assert subscribe_api(client, "reader@takes-mail.example").status_code == 202


def test_domain_that_does_not_exist_is_invalid_email(app, client):
    response = subscribe_api(client, "reader@nowhere.example")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_email"
    assert count_subscribers(app) == 0


def test_dns_timeout_accepts_the_address(app, client):
    assert subscribe_api(client, "reader@slow.example").status_code == 202
    assert count_subscribers(app) == 1


def test_no_dns_check_when_the_setting_is_off(make_app):
    app = load_lists(make_app(EMAIL_CHECK_DELIVERABILITY=False))
    assert subscribe_api(app.test_client(), "reader@nowhere.example").status_code == 202
