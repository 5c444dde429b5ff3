# -*- coding: utf-8 -*-
"""Real peers for the notification tests: an SMTP server (aiosmtpd) on loopback with STARTTLS or TLS
on a certificate made here with `cryptography`, and an HTTP receiver (http.server) for webhooks."""
import contextlib
import datetime
import email
import email.policy
import http.server
import ipaddress
import json
import os
import socket
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_certificates(folder):
    """A CA and a server certificate for localhost / 127.0.0.1; returns (ca_pem, cert_pem, key_pem) paths."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'chorus-corail test CA')])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'localhost')])).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName('localhost'),
                                                        x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = [os.path.join(str(folder), n) for n in ('ca.pem', 'server.pem', 'server.key')]
    with open(paths[0], 'wb') as handle:
        handle.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths[1], 'wb') as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths[2], 'wb') as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return paths


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class MailHub(object):
    """Collects what the SMTP server accepted: envelope recipients and parsed messages."""

    def __init__(self, user=None, password=None):
        self.mails = []
        self.logins = []
        self._user, self._password = user, password
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self._lock:
            self.mails.append({'from': envelope.mail_from, 'rcpt': list(envelope.rcpt_tos), 'message': message,
                               'tls': session.ssl is not None, 'raw': envelope.original_content})
        return '250 OK'

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == self._user
              and auth_data.password.decode() == self._password)
        self.logins.append((mechanism, ok))
        return AuthResult(success=ok, handled=False)

    def clear(self):
        with self._lock:
            self.mails = []

    def to(self, address):
        return [m for m in self.mails if address in m['rcpt']]


@contextlib.contextmanager
def smtp_server(cert, key, security='starttls', user=None, password=None):
    """An SMTP server on 127.0.0.1: STARTTLS required (with login) or TLS from the start; yields (hub, port)."""
    hub = MailHub(user, password)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    port = free_port()
    kwargs = dict(hostname='127.0.0.1', port=port, authenticator=hub.authenticate if user else None,
                  auth_required=bool(user), auth_require_tls=security != 'tls')  # implicit TLS: aiosmtpd cannot tell
    if security == 'tls':
        controller = Controller(hub, ssl_context=context, server_hostname='localhost', **kwargs)
    else:
        controller = Controller(hub, tls_context=context, require_starttls=True, **kwargs)
    controller.start()
    try:
        yield hub, port
    finally:
        controller.stop()


class _Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        self.server.posts.append({'path': self.path, 'headers': dict(self.headers), 'body': body,
                                  'json': json.loads(body.decode('utf-8'))})
        self.send_response(self.server.answer)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def webhook_receiver(answer=202):
    """An HTTP server on 127.0.0.1 that records every POST; yields the server (``.posts``, ``.url``)."""
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Receiver)
    server.posts = []
    server.answer = answer
    server.url = 'http://127.0.0.1:%d/workflows/abc/triggers/manual/paths/invoke?sig=SIG-not-shown' % server.server_port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
