"""The platform's XMPP transport: one secured connection per device, serving and calling services.

An :class:`Endpoint` logs in over TLS only (the server's certificate checked against a configured CA,
never a plaintext fallback), with a password or with a client certificate (SASL EXTERNAL,
XEP-0178). It answers IQ requests for the namespaces it serves, from allowed senders only, and
calls peers with IQ requests of its own. It stays connected: when the connection drops, or the
server stops answering its pings, it logs in again with exponential backoff.

Delivery guarantee of :meth:`Endpoint.request`: *at least once on the wire, at most once at the
receiver's handler*. A request keeps one id across its attempts and is sent again, with that id,
after every reconnection, when the peer is momentarily unavailable, and every `retry_interval`
seconds, until a result or a definite error arrives or the timeout passes (then it fails with
:class:`RequestTimeout`, or with the peer-unavailable error last seen). A serving endpoint
remembers the answers to the last `remember` requests by (sender, id) and replays the answer to a
repeated request instead of calling its handler again. So while both processes live, each request
is applied exactly once; across a restart of the receiving process the binding's own identifiers
(an OpenADR event id and modification number, say) must deduplicate.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import uuid
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from slixmpp import JID, ClientXMPP, Iq, Message
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.stanza import StreamFeatures
from slixmpp.xmlstream import StanzaBase, XMLStream
from slixmpp.xmlstream.xmlstream import NotConnectedError

log = logging.getLogger(__name__)

Payload = ET.Element | str
"""What a request or a result carries: an element, or one element already written as XML text.

Text goes on the wire as it is, so a binding whose library writes XML (openleadr) sends that library's
own text without parsing and writing it again. Whoever hands over text vouches that it is one
well-formed element (e.g. because it passed a schema check): anything else would break the XML stream.
"""
Handler = Callable[[str, ET.Element], Awaitable[Payload | None]]
"""Serves one IQ request: (sender's bare JID, payload) -> the result's payload, or None for an empty result."""
MessageHandler = Callable[[str, ET.Element], Awaitable[None]]
"""Receives one message: (sender's bare JID, payload)."""
current_sender: ContextVar[str] = ContextVar("current_sender")
"""Inside a handler: the full JID (with resource) of the stanza being handled, to send to it later."""

# RFC 6120 section 8.3.3: the defined stanza error conditions and the error type each usually has.
CONDITIONS = {
    "bad-request": "modify",
    "conflict": "cancel",
    "feature-not-implemented": "cancel",
    "forbidden": "auth",
    "gone": "cancel",
    "internal-server-error": "cancel",
    "item-not-found": "cancel",
    "jid-malformed": "modify",
    "not-acceptable": "modify",
    "not-allowed": "cancel",
    "not-authorized": "auth",
    "policy-violation": "modify",
    "recipient-unavailable": "wait",
    "redirect": "modify",
    "registration-required": "auth",
    "remote-server-not-found": "cancel",
    "remote-server-timeout": "wait",
    "resource-constraint": "wait",
    "service-unavailable": "cancel",
    "subscription-required": "auth",
    "undefined-condition": "cancel",
    "unexpected-request": "wait",
}
STANZA_ERRORS = "urn:ietf:params:xml:ns:xmpp-stanzas"
HOSTNAME_MISMATCH = 62  # OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH
MESSAGE_TYPES = frozenset({"normal", "chat", "headline", ""})  # messages served; not groupchat or error
# Answers that mean "the peer is not there right now" (e.g. it is reconnecting after a server
# restart), not "the peer refused": a request tries again until its timeout.
TRANSIENT = frozenset({"service-unavailable", "recipient-unavailable", "remote-server-timeout", "resource-constraint"})


# ---------------------------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True)
class Account:
    """Who the device logs in as: a password, or a client certificate and its key (SASL EXTERNAL)."""

    jid: str
    password: str | None = None
    certfile: Path | None = None
    keyfile: Path | None = None

    def __post_init__(self) -> None:
        if (self.password is None) == (self.certfile is None):
            raise ValueError(f"account {self.jid}: give either a password or a client certificate, not both or neither")
        if (self.certfile is None) != (self.keyfile is None):
            raise ValueError(f"account {self.jid}: a client certificate needs its key file (keyfile)")


@dataclass(frozen=True)
class Server:
    """Where the XMPP server listens, and the CA its certificate must chain to.

    `direct_tls` picks TLS from the first byte (XEP-0368 port); otherwise STARTTLS, which is then
    required: a server that does not offer it is refused.
    """

    host: str
    port: int
    ca_file: Path
    direct_tls: bool = False


@dataclass(frozen=True)
class Backoff:
    """Delays between reconnection attempts: `initial`, times `factor` after each failure, at most `maximum`.

    Each delay is spread by +-`jitter` (a fraction) so that many devices do not reconnect in step.
    """

    initial: float = 0.1
    factor: float = 2.0
    maximum: float = 5.0
    jitter: float = 0.2

    def delays(self) -> Iterable[float]:
        delay = self.initial
        while True:
            yield delay * random.uniform(1 - self.jitter, 1 + self.jitter)
            delay = min(delay * self.factor, self.maximum)


# ---------------------------------------------------------------------------------------------
# Errors


class TransportError(Exception):
    """The endpoint could not connect or log in."""


class EncryptionRequired(TransportError):
    """The server offered no TLS; the endpoint never talks to a server in plaintext."""


class CertificateRejected(TransportError):
    """The server's certificate does not chain to the configured CA or does not name the server."""


class AuthenticationFailed(TransportError):
    """The server refused the account's password or client certificate."""


class ConnectFailed(TransportError):
    """The server could not be reached or closed the connection before the session started."""


class EndpointStopped(TransportError):
    """The endpoint was stopped while a request was waiting."""


class StanzaFault(Exception):
    """Raised by a handler to answer with an XMPP stanza error instead of a result.

    `condition` is an RFC 6120 condition (e.g. "bad-request", "item-not-found", "not-allowed");
    `payload` is an optional application-specific element carried inside the error.
    """

    def __init__(self, condition: str, text: str = "", payload: Payload | None = None) -> None:
        if condition not in CONDITIONS:
            raise ValueError(f"{condition!r} is not an XMPP stanza error condition; use one of {sorted(CONDITIONS)}")
        super().__init__(f"{condition}: {text}" if text else condition)
        self.condition = condition
        self.text = text
        self.payload = payload


class RequestFailed(Exception):
    """The peer (or the server on its behalf) answered a request with an XMPP error."""

    def __init__(self, condition: str, text: str = "", payload: ET.Element | None = None) -> None:
        super().__init__(f"{condition}: {text}" if text else condition)
        self.condition = condition
        self.text = text
        self.payload = payload


class RequestTimeout(Exception):
    """No answer to a request within its timeout, however often it was sent."""


# ---------------------------------------------------------------------------------------------
# Stanza plumbing


def namespace_of(element: ET.Element) -> str:
    return element.tag[1:].partition("}")[0] if element.tag.startswith("{") else ""


XML_NS = "http://www.w3.org/XML/1998/namespace"
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ATTRIBUTE_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def xml_text(element: ET.Element, default_ns: str = "") -> str:
    """`element` (with its tail) as XML text inside a parent whose default namespace is `default_ns`.

    Each element declares its namespace as the default where it differs from its parent's, as
    slixmpp writes stanzas. Attributes in a namespace other than xml: get a prefix declared on their
    element (slixmpp's serialiser leaves them out). Faster than ET.tostring and slixmpp's tostring (escaping runs in C through str.translate,
    no namespace pre-pass): every payload sent or decoded goes through it.
    """
    out: list[str] = []
    _write(element, out, default_ns)
    return "".join(out)


def _write(element: ET.Element, out: list[str], parent_ns: str) -> None:
    tag = element.tag
    if not isinstance(tag, str):  # a comment or processing instruction (ET.Comment, ET.PI)
        out.append(ET.tostring(element, encoding="unicode"))
        return
    namespace, _, name = tag[1:].partition("}") if tag[:1] == "{" else ("", "", tag)
    out.append(f"<{name}" if namespace == parent_ns else f'<{name} xmlns="{namespace.translate(_ATTRIBUTE_ESCAPES)}"')
    prefixes = 0
    for key, value in element.attrib.items():
        if key[:1] == "{":
            attribute_ns, _, local = key[1:].partition("}")
            if attribute_ns == XML_NS:
                key = f"xml:{local}"
            else:  # a namespaced attribute needs a prefix: declare one on this element
                prefixes += 1
                key = f"a{prefixes}:{local}"
                out.append(f' xmlns:a{prefixes}="{attribute_ns.translate(_ATTRIBUTE_ESCAPES)}"')
        out.append(f' {key}="{value.translate(_ATTRIBUTE_ESCAPES)}"')
    text = element.text
    if text or len(element):
        out.append(">")
        if text:
            out.append(text.translate(_TEXT_ESCAPES))
        for child in element:
            _write(child, out, namespace)
        out.append(f"</{name}>")
    else:
        out.append("/>")
    if element.tail:
        out.append(element.tail.translate(_TEXT_ESCAPES))


def as_element(payload: Payload) -> ET.Element:
    """The payload as an element (text is parsed: for the rare paths that need an element, not the wire)."""
    return ET.fromstring(payload) if isinstance(payload, str) else payload


def _iq_text(kind: str, stanza_id: str, to: str, payload: Payload | None, default_ns: str) -> str:
    """An IQ stanza as text, built directly: slixmpp's stanza objects and serialiser are slower on this hot path.

    The server stamps `from`.
    """
    head = f'<iq type="{kind}" id="{stanza_id.translate(_ATTRIBUTE_ESCAPES)}"'
    if to:
        head += f' to="{to.translate(_ATTRIBUTE_ESCAPES)}"'
    if payload is None:
        return f"{head}/>"
    if isinstance(payload, str):
        return f"{head}>{payload}</iq>"
    return f"{head}>{xml_text(payload, default_ns)}</iq>"


def _send_now(stream: XMLStream, text: str) -> None:
    """Write a stanza to the connection at once, not through slixmpp's send queue (an event-loop turn each).

    Without a connection it is dropped, as the queue drops it: a request is sent again after the
    reconnection and its answer then replayed (see the module's note).
    """
    try:
        stream.send_raw(text)
    except NotConnectedError:
        log.debug("not connected: dropped %s", text)


def _payload(stanza: StanzaBase, namespaces: Iterable[str]) -> ET.Element | None:
    """The stanza's first child element in one of `namespaces`."""
    wanted = set(namespaces)
    return next((child for child in stanza.xml if namespace_of(child) in wanted), None)


@dataclass
class _Pending:
    to: JID
    payload: Payload
    answer: asyncio.Future[StanzaBase]


@dataclass(frozen=True)
class _Service:
    handler: Callable[[str, ET.Element], Awaitable[Any]]
    allow: frozenset[str]


def _bare(jids: Iterable[str]) -> frozenset[str]:
    return frozenset(JID(jid).bare for jid in jids)


async def disconnect(client: ClientXMPP) -> None:
    """Close a slixmpp client for good, its background send task included."""
    client.cancel_connection_attempt()
    if client.transport is not None:
        await client.disconnect(wait=1.0)
    # slixmpp cancels this task only when the client is garbage-collected, too late for the task to
    # end cleanly ("Task was destroyed but it is pending"): end it while the loop still runs.
    sending = client._run_out_filters
    if sending is not None:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)


# ---------------------------------------------------------------------------------------------
# The endpoint


class Endpoint:
    """One device's XMPP connection: serves namespaces to allowed peers and sends requests to peers."""

    def __init__(self, account: Account, server: Server, resource: str = "sgam", *, backoff: Backoff | None = None,
                 login_timeout: float = 10.0, keepalive: float = 30.0, remember: int = 10_000,
                 retry_interval: float = 2.0) -> None:
        """`keepalive`: seconds between pings of the server while online; a ping unanswered for as long means
        the link is dead (a hung server or a lost network), and the endpoint reconnects. `login_timeout`
        bounds each login attempt; `remember` is how many answers are kept for repeated requests;
        `retry_interval` is how long a request waits for an answer before sending it again."""
        self.account = account
        self.server = server
        self.resource = resource
        self.backoff = backoff or Backoff()
        self.login_timeout = login_timeout
        self.keepalive = keepalive
        self.remember = remember
        self.retry_interval = retry_interval
        self._services: dict[str, _Service] = {}
        self._message_services: dict[str, _Service] = {}
        self._features: list[str] = []
        self._items: list[tuple[str, str]] = []
        self._answers: OrderedDict[tuple[str, str], asyncio.Future[Payload | StanzaFault | None]] = OrderedDict()
        self._pending: dict[str, _Pending] = {}
        self._handling: set[asyncio.Task[None]] = set()  # requests and messages being handled
        self._client: ClientXMPP | None = None
        self._login: asyncio.Future[None] | None = None  # the current login attempt's outcome
        self._online = asyncio.Event()
        self._reconnecting: asyncio.Task[None] | None = None
        self._keeping_alive: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()  # set by stop(): ends what waits for the connection
        self.reconnections = 0  # sessions started after the first
        self.repeats = 0  # repeated requests answered from memory instead of calling the handler again

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def jid(self) -> str:
        """The full JID the server bound for this session (the configured one before `start`)."""
        if self._client is not None and self._client.boundjid.resource:
            return str(self._client.boundjid.full)
        return f"{JID(self.account.jid).bare}/{self.resource}"

    @property
    def online(self) -> bool:
        return self._online.is_set()

    async def start(self) -> None:
        """Connect and log in; raises a :class:`TransportError` subclass if that cannot be done."""
        if self._client is not None:
            raise RuntimeError("endpoint already started")
        self._stopping.clear()
        self._client = self._make_client()
        try:
            await asyncio.wait_for(self._log_in(), self.login_timeout)
        except TimeoutError:
            await self.stop()
            raise ConnectFailed(f"no session with {self.server.host}:{self.server.port} "
                                f"within {self.login_timeout} s") from None
        except TransportError:
            await self.stop()
            raise
        self._keeping_alive = asyncio.ensure_future(self._keep_alive())

    async def stop(self) -> None:
        """Log out and close the connection; waiting requests fail with :class:`EndpointStopped`, and
        handlers still running are cancelled (their requests go unanswered: the sender's retry finds them new)."""
        self._stopping.set()
        for task in (self._reconnecting, self._keeping_alive):
            if task is not None:
                task.cancel()
        self._reconnecting = self._keeping_alive = None
        for pending in self._pending.values():
            if not pending.answer.done():
                pending.answer.set_exception(EndpointStopped(f"{self.jid} stopped"))
        client, self._client = self._client, None
        self._online.clear()
        # Handlers still running would answer on a closed connection, or act after the device stopped.
        handling = [task for task in self._handling if task is not asyncio.current_task()]
        for task in handling:
            task.cancel()
        await asyncio.gather(*handling, return_exceptions=True)
        if client is not None:
            await disconnect(client)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.stop()

    def _make_client(self) -> ClientXMPP:
        certificate = self.account.certfile is not None
        client = ClientXMPP(self.jid, self.account.password or "", sasl_mech="EXTERNAL" if certificate else None)
        client.enable_direct_tls = self.server.direct_tls
        client.enable_starttls = not self.server.direct_tls
        client.enable_plaintext = False
        context = ssl.create_default_context(cafile=str(self.server.ca_file))  # hostname checked, chain required
        if certificate:
            context.load_cert_chain(str(self.account.certfile), str(self.account.keyfile))
            # Ask for this identity explicitly: without it the server logs in whoever the certificate names.
            client.credentials["authzid"] = JID(self.account.jid).bare
        client.ssl_context = context
        client.register_plugin("xep_0030")
        client.register_plugin("xep_0199")  # ping: answers the server's pings, and ours detect a dead link
        client.add_filter("in", self._refuse_plaintext)
        client.add_event_handler("session_start", self._on_session_start)
        client.add_event_handler("connection_failed", self._on_connection_failed)
        client.add_event_handler("ssl_invalid_chain", self._on_invalid_chain)
        client.add_event_handler("failed_all_auth", self._on_auth_failed)
        client.add_event_handler("disconnected", self._on_disconnected)
        client.add_filter("in", self._dispatch)
        return client

    async def _log_in(self) -> None:
        """One connection attempt, up to a started session or a TransportError."""
        assert self._client is not None
        loop = asyncio.get_running_loop()
        self._login = loop.create_future()
        self._client.connect(self.server.host, self.server.port)
        await self._login

    def _fail_login(self, error: TransportError) -> None:
        if self._login is not None and not self._login.done():
            self._login.set_exception(error)

    def _refuse_plaintext(self, stanza: StanzaBase) -> StanzaBase | None:
        """Stream features on a connection without TLS mean the server skipped STARTTLS: hang up."""
        client = self._client
        if client is not None and isinstance(stanza, StreamFeatures) and "starttls" not in stanza["features"] \
                and not isinstance(client.socket, ssl.SSLObject | ssl.SSLSocket):
            log.error("%s:%s offers no TLS; refusing to log in in plaintext", self.server.host, self.server.port)
            self._fail_login(EncryptionRequired(
                f"{self.server.host}:{self.server.port} offers no TLS (STARTTLS); the platform never logs in "
                "in plaintext: enable TLS on the server"))
            client.abort()
            return None
        return stanza

    def _dispatch(self, stanza: StanzaBase) -> StanzaBase | None:
        """Take our requests, messages and answers straight to their code; let slixmpp have the rest.

        An incoming filter runs before slixmpp tries each of its dozen handlers on a stanza (all of
        them, even after one matched): none of those is for ours, and on the hot path that costs.
        """
        if isinstance(stanza, Iq):
            kind = stanza["type"]
            if kind in ("result", "error") and stanza["id"] in self._pending:
                self._on_answer(stanza)
                return None
            payload = _payload(stanza, self._services) if kind == "set" else None
            if payload is not None:
                self._spawn(self._on_request(stanza, payload))
                return None
        elif isinstance(stanza, Message) and stanza["type"] in MESSAGE_TYPES:
            payload = _payload(stanza, self._message_services)
            if payload is not None:
                self._spawn(self._on_message(stanza, payload))
                return None
        return stanza

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._handling.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._handling.discard)

    def _on_session_start(self, _event: Any) -> None:
        assert self._client is not None
        bound = self._client.boundjid.bare
        if bound != JID(self.account.jid).bare:
            self._fail_login(AuthenticationFailed(f"the server logged in {bound}, not {self.account.jid}"))
            self._client.abort()
            return
        if self._login is not None and not self._login.done():
            self._login.set_result(None)
        self._publish_disco()
        self._client.send_presence()  # so that messages to the bare JID reach this resource
        self._online.set()
        # Requests waiting for the connection go out again now (the receiver drops duplicates).
        for request_id in list(self._pending):
            self._transmit(request_id)

    def _on_connection_failed(self, error: Any) -> None:
        if self._client is not None:
            self._client.cancel_connection_attempt()  # we pace retries ourselves (Backoff)
        self._fail_login(self._connection_error(error, "cannot connect to"))

    def _on_invalid_chain(self, error: Any) -> None:
        self._fail_login(self._connection_error(error, "cannot connect to"))
        if self._client is not None:
            self._client.abort()

    def _connection_error(self, error: Any, what: str) -> TransportError:
        where = f"{self.server.host}:{self.server.port}"
        if isinstance(error, ssl.SSLCertVerificationError):
            domain = JID(self.account.jid).domain
            hint = (f"the server must present a certificate for {domain}" if error.verify_code == HOSTNAME_MISMATCH
                    else f"check that {self.server.ca_file} is the CA that signed it")
            return CertificateRejected(f"the certificate of {where} is not trusted ({error.verify_message}); {hint}")
        return ConnectFailed(f"{what} {where}: {error}")

    def _on_auth_failed(self, _event: Any) -> None:
        how = "client certificate" if self.account.certfile else "password"
        self._fail_login(AuthenticationFailed(f"the server refused the {how} of {self.account.jid}"))

    def _on_disconnected(self, reason: Any) -> None:
        self._fail_login(self._connection_error(reason, "the connection closed:"))
        was_online = self._online.is_set()
        self._online.clear()
        if was_online and not self._stopping.is_set():
            log.warning("%s lost its connection (%s); reconnecting", self.jid, reason or "closed")
            self._reconnecting = asyncio.ensure_future(self._reconnect())

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self.keepalive)
            client = self._client
            if client is None or not self._online.is_set():
                continue
            try:
                await client.plugin["xep_0199"].ping(timeout=self.keepalive)
            except IqTimeout:
                log.warning("%s: the server did not answer a ping for %s s; dropping the connection", self.jid,
                            self.keepalive)
                client.abort()  # the disconnected event starts the reconnection
            except IqError:
                pass  # an answer, if an odd one: the link is alive

    async def _reconnect(self) -> None:
        for delay in self.backoff.delays():
            await asyncio.sleep(delay)
            if self._stopping.is_set():
                return
            try:
                await asyncio.wait_for(self._log_in(), self.login_timeout)
            except (TransportError, TimeoutError) as error:
                log.warning("%s: reconnection failed (%s); trying again", self.jid, str(error) or "timed out")
                if self._client is not None:
                    self._client.cancel_connection_attempt()
                    self._client.abort()
                continue
            self.reconnections += 1
            log.info("%s reconnected", self.jid)
            return

    # -- serving -------------------------------------------------------------------------------

    def serve(self, namespace: str, handler: Handler, allow: Iterable[str]) -> None:
        """Answer IQ sets whose payload is in `namespace` with `handler`, for the bare JIDs in `allow` only.

        Anyone else gets a `forbidden` error and the handler never sees the stanza. A handler that
        raises :class:`StanzaFault` answers with that error; any other exception is logged and
        answered with `internal-server-error`, and the endpoint goes on serving.
        """
        if namespace in self._services:
            raise ValueError(f"namespace {namespace} is already served")
        self._services[namespace] = _Service(handler, _bare(allow))

    def on_message(self, namespace: str, handler: MessageHandler, allow: Iterable[str]) -> None:
        """Pass messages whose payload is in `namespace` to `handler`, from the bare JIDs in `allow` only."""
        if namespace in self._message_services:
            raise ValueError(f"messages in namespace {namespace} already have a handler")
        self._message_services[namespace] = _Service(handler, _bare(allow))

    @staticmethod
    def _admitted(stanza: StanzaBase, payload: ET.Element, services: dict[str, _Service]) -> tuple[_Service, bool]:
        """The service the stanza's payload is for, and whether its sender is allowed."""
        service = services[namespace_of(payload)]
        allowed = stanza["from"].bare in service.allow
        if not allowed:
            log.warning("refused %s from %s: not allowed for %s", stanza.name, stanza["from"], namespace_of(payload))
        return service, allowed

    async def _on_request(self, iq: StanzaBase, payload: ET.Element) -> None:
        service, allowed = self._admitted(iq, payload, self._services)
        sender = iq["from"].bare
        if not allowed:
            self._reply(iq, StanzaFault("forbidden", f"{sender} may not use {namespace_of(payload)}"))
            return
        key = (sender, iq["id"])
        answer = self._answers.get(key)
        if answer is None:
            answer = asyncio.get_running_loop().create_future()
            self._answers[key] = answer
            while len(self._answers) > self.remember:
                self._answers.popitem(last=False)
            try:
                answer.set_result(await self._call(service, iq, payload))
            finally:
                if not answer.done():  # stop() ended the handler: repeats waiting on its answer end too
                    answer.cancel()
                    if self._answers.get(key) is answer:  # unanswered, so a later repeat is served afresh
                        del self._answers[key]
        else:
            self.repeats += 1
            log.debug("repeated request %s from %s: replaying its answer", iq["id"], iq["from"])
        self._reply(iq, await asyncio.shield(answer))

    @staticmethod
    async def _call(service: _Service, stanza: StanzaBase, payload: ET.Element) -> Payload | StanzaFault | None:
        sender = stanza["from"]
        token = current_sender.set(str(sender.full))
        try:
            result: Payload | None = await service.handler(sender.bare, payload)
            return result
        except StanzaFault as fault:
            return fault
        except (Exception, asyncio.CancelledError) as error:
            task = asyncio.current_task()
            if isinstance(error, asyncio.CancelledError) and task is not None and task.cancelling():
                raise  # this handling itself is being cancelled (stop()), not just something the handler awaited
            log.exception("handler for %s failed on a %s from %s", namespace_of(payload), stanza.name, sender)
            return StanzaFault("internal-server-error", "the service failed on this request")
        finally:
            current_sender.reset(token)

    @staticmethod
    def _reply(iq: StanzaBase, answer: Payload | StanzaFault | None) -> None:
        if not isinstance(answer, StanzaFault):  # the common case, without copying the request (iq.reply)
            stream = iq.stream
            assert stream is not None  # a received stanza knows its stream
            _send_now(stream, _iq_text("result", iq["id"], iq["from"].full, answer, stream.default_ns))
            return
        reply = iq.reply(clear=True)
        reply["type"] = "error"
        reply["error"]["type"] = CONDITIONS[answer.condition]
        reply["error"]["condition"] = answer.condition
        if answer.text:
            reply["error"]["text"] = answer.text
        if answer.payload is not None:  # slixmpp writes errors, so text becomes an element first
            reply["error"].xml.append(as_element(answer.payload))
        reply.send()

    async def _on_message(self, message: StanzaBase, payload: ET.Element) -> None:
        service, allowed = self._admitted(message, payload, self._message_services)
        if allowed:  # a refused message is only logged: a message has no answer to refuse with
            await self._call(service, message, payload)

    # -- calling -------------------------------------------------------------------------------

    async def request(self, to: str, payload: Payload, timeout: float = 10.0) -> ET.Element | None:
        """Send `payload` in an IQ set to `to` and return the result's payload (None if empty).

        Raises :class:`RequestFailed` for an error answer and :class:`RequestTimeout` when nothing
        came back in time. See the module's note for the delivery guarantee.
        """
        if self._client is None:
            raise EndpointStopped(f"{self.jid} is not started")
        target = JID(to)
        if target.user and not target.resource:
            raise ValueError(f"requests go to a full JID (account/resource), not {to}: the server would answer for the account")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        request_id = uuid.uuid4().hex
        pending = self._pending[request_id] = _Pending(target, payload, loop.create_future())
        waits = iter(self.backoff.delays())
        away: StanzaBase | None = None  # the last "peer unavailable" answer, if any
        try:
            self._transmit(request_id)
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    if away is not None:
                        raise self._failure(away)
                    raise RequestTimeout(f"no answer from {to} within {timeout} s")
                done, _ = await asyncio.wait([pending.answer], timeout=min(self.retry_interval, remaining))
                if not done:
                    self._transmit(request_id)  # lost on the way, or the peer's answer was: same id again
                    continue
                answer = pending.answer.result()
                if answer["type"] == "result":
                    return next(iter(answer.xml), None)
                if answer["error"]["condition"] not in TRANSIENT:
                    raise self._failure(answer)
                away = answer  # the peer is not there now (reconnecting?): ask again shortly
                if self._client is None:  # stopped after this answer came, so stop() could not fail it
                    raise EndpointStopped(f"{self.jid} stopped")
                pending.answer = loop.create_future()
                await asyncio.sleep(min(next(waits), max(deadline - loop.time(), 0)))
                self._transmit(request_id)
        finally:
            del self._pending[request_id]

    def _transmit(self, request_id: str) -> None:
        """Send (again) the pending request; offline, it waits for the next session to send it."""
        pending, client = self._pending[request_id], self._client
        if client is None or not self._online.is_set():
            return
        _send_now(client, _iq_text("set", request_id, pending.to.full, pending.payload, client.default_ns))

    def _on_answer(self, iq: StanzaBase) -> None:
        pending = self._pending.get(iq["id"])
        if pending is None:
            return
        sender = iq["from"]
        if sender != pending.to and not (not pending.to.resource and sender.bare == pending.to.bare):
            log.warning("ignored an answer to request %s from %s; it was sent to %s", iq["id"], sender, pending.to)
            return
        if not pending.answer.done():
            pending.answer.set_result(iq)

    @staticmethod
    def _failure(answer: StanzaBase) -> RequestFailed:
        error = answer["error"]
        extra = next((child for child in error.xml if namespace_of(child) != STANZA_ERRORS), None)
        return RequestFailed(error["condition"], error["text"], extra)

    async def send(self, to: str, payload: ET.Element) -> None:
        """Send `payload` in a message to `to` (best effort: a message has no answer and is not repeated).

        Offline, it waits for the connection, or raises :class:`EndpointStopped` if the endpoint stops meanwhile."""
        client = self._client
        if client is None:
            raise EndpointStopped(f"{self.jid} is not started")
        if not self._online.is_set():
            waits = [asyncio.ensure_future(self._online.wait()), asyncio.ensure_future(self._stopping.wait())]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for wait in waits:
                    wait.cancel()
            if self._client is not client:
                raise EndpointStopped(f"{self.jid} stopped before the message could go")
        message = client.make_message(mto=JID(to), mtype="normal")
        message.append(payload)
        client.send(message)

    # -- service discovery (XEP-0030) ----------------------------------------------------------

    def advertise(self, features: Iterable[str], items: Iterable[tuple[str, str]]) -> None:
        """Announce `features` and (jid, node) `items` to peers that discover this endpoint."""
        self._features.extend(features)
        self._items.extend(items)
        if self._online.is_set():
            self._publish_disco()

    def _publish_disco(self) -> None:
        assert self._client is not None
        disco, me = self._client.plugin["xep_0030"], self._client.boundjid.full
        for feature in self._features:
            disco.add_feature(feature, jid=me)  # adding a feature twice keeps one
        disco.set_items(jid=me, items={(jid, node, None) for jid, node in self._items})

    async def discover(self, jid: str, timeout: float = 10.0) -> tuple[set[str], list[tuple[str, str]]]:
        """Ask `jid` for its features and items: (features, [(item jid, node), ...])."""
        if self._client is None:
            raise EndpointStopped(f"{self.jid} is not started")
        disco = self._client.plugin["xep_0030"]
        try:
            info = await disco.get_info(jid=JID(jid), timeout=timeout)
            items = await disco.get_items(jid=JID(jid), timeout=timeout)
        except IqError as error:
            raise self._failure(error.iq) from None
        except IqTimeout:
            raise RequestTimeout(f"no service discovery answer from {jid} within {timeout} s") from None
        return set(info["disco_info"]["features"]), [(str(j), node or "") for j, node, _ in items["disco_items"]["items"]]
