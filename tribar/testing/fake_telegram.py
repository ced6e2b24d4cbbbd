"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests of Freqtrade's Telegram bot.

It speaks real HTTP, the way api.telegram.org does for python-telegram-bot (POST
``/bot<token>/<method>`` with form or multipart parameters, ``{"ok": …, "result": …}`` answers), for
the methods Freqtrade's ``Telegram`` class and python-telegram-bot's polling use. The test plays the
user: ``send_user_message("/status")`` queues an Update from the configured chat, the bot fetches it
by long-polling ``getUpdates``, and what the bot sends comes back as ``BotMessage``s.

    with FakeTelegramServer(chat_id=4242) as tg:
        config["telegram"] = {"enabled": True, "token": tg.token, "chat_id": str(tg.chat_id)}
        config["tribar"]["telegram_api_url"] = tg.api_url
        ...start the bot...
        replies = tg.command("/version")          # waits for the bot to poll, sends, waits
        assert "Version" in replies[0].text

Point a bot at it with ``tribar.telegram_api_url`` / ``TRIBAR_TELEGRAM_API_URL`` (see
tribar.freqtrade_patches). ``set_failure`` makes it answer 500s or drop connections, and
``stop()``/``start()`` make the port refuse connections, for failure tests.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

DEFAULT_TOKEN = "123456789:TRIBAR-fake-token"
# Parameters python-telegram-bot sends JSON-encoded inside form fields.
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "allowed_updates",
        "commands",
        "scope",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
    }
)
# Methods whose result is a Message the bot "sent" (recorded in ``messages``).
_SENDING_METHODS = frozenset({"sendMessage", "sendDocument", "sendPhoto", "editMessageText"})


class FailureMode(Enum):
    HTTP_500 = "http_500"  # answer {"ok": false, "error_code": 500}
    DROP_CONNECTION = "drop_connection"  # close the connection without answering


@dataclass(frozen=True)
class ApiCall:
    """One request the bot made, as received (after decoding the form fields)."""

    method: str
    params: dict[str, Any]
    token: str
    at: float


@dataclass(frozen=True)
class BotMessage:
    """Something the bot sent: a new message, a document, or an edit of an earlier message."""

    seq: int  # position in FakeTelegramServer.messages
    method: str
    message_id: int
    chat_id: int
    text: str
    params: dict[str, Any] = field(repr=False)
    document: bytes | None = field(default=None, repr=False)

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        markup = self.params.get("reply_markup")
        return markup if isinstance(markup, dict) else None

    def inline_buttons(self) -> list[dict[str, Any]]:
        """The inline keyboard's buttons (``text``, ``callback_data``), row after row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]


def _decode_param(name: str, value: str) -> Any:
    if name in _JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _multipart_params(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    parser = email.parser.BytesParser(policy=email.policy.HTTP)
    message = parser.parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    params: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if part.get_filename() is not None:
            files[name] = data
        else:
            params[name] = _decode_param(name, data.decode("utf-8"))
    return params, files


class FakeTelegramServer:
    """A Telegram Bot API server for one bot and one chat; see the module docstring."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        chat_id: int = 4242,
        user_id: int | None = None,
        bot_username: str = "tribar_test_bot",
        port: int = 0,
    ) -> None:
        self.token = token
        self.chat_id = chat_id
        self.user_id = user_id if user_id is not None else chat_id
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.bot_username = bot_username
        self._port = port
        self._cond = threading.Condition()
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._messages: list[BotMessage] = []
        self._calls: list[ApiCall] = []
        self._commands: dict[str, Any] = {}
        self._failure: FailureMode | None = None
        self._failure_methods: frozenset[str] | None = None
        self._failed_requests = 0
        self._polls_in_flight = 0
        self._polls_started = 0
        self._closing = False
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # Open client connections: stop() cuts kept-alive ones too, so the port really refuses.
        self._connections: set[socket.socket] = set()

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeTelegramServer:
        """Listen (again, on the same port after ``stop()``)."""
        if self._httpd is not None:
            return self
        handler = _handler_for(self)
        httpd = ThreadingHTTPServer(("127.0.0.1", self._port), handler)
        httpd.daemon_threads = True
        self._port = int(httpd.server_address[1])
        with self._cond:
            self._closing = False
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="fake-telegram"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused until ``start()``. Long polls end at once."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        with self._cond:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> FakeTelegramServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def api_url(self) -> str:
        """The server root, for ``tribar.telegram_api_url`` (like https://api.telegram.org)."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def is_listening(self) -> bool:
        return self._httpd is not None

    def freqtrade_config(self) -> dict[str, Any]:
        """Config sections that point a Freqtrade bot's Telegram at this server."""
        return {
            "telegram": {"enabled": True, "token": self.token, "chat_id": str(self.chat_id)},
            "tribar": {"telegram_api_url": self.api_url},
        }

    def freqtrade_env(self) -> dict[str, str]:
        """The same as environment variables, for a bot in a subprocess (``tribar ft trade``);
        the token goes through the environment as a real one must."""
        return {
            "FREQTRADE__TELEGRAM__ENABLED": "true",
            "FREQTRADE__TELEGRAM__TOKEN": self.token,
            "FREQTRADE__TELEGRAM__CHAT_ID": str(self.chat_id),
            "TRIBAR_TELEGRAM_API_URL": self.api_url,
        }

    # --- failure switches ------------------------------------------------------------------

    def set_failure(self, mode: FailureMode | None, methods: set[str] | None = None) -> None:
        """Fail every request (or only ``methods``, e.g. {"sendMessage"}) until set to None."""
        with self._cond:
            self._failure = mode
            self._failure_methods = frozenset(methods) if methods else None
            # Wake long polls so they fail now, as a real outage would cut them.
            self._cond.notify_all()

    @property
    def failed_requests(self) -> int:
        with self._cond:
            return self._failed_requests

    # --- the user's side -------------------------------------------------------------------

    def send_user_message(self, text: str, *, chat_id: int | None = None) -> int:
        """Queue a text message from the user in ``chat_id`` (default: the bot's chat); commands
        get the ``bot_command`` entity Telegram adds. Returns the update_id.

        A bot drops updates queued before it starts polling (Freqtrade starts with
        ``drop_pending_updates``): call ``wait_until_polling()`` first, or use ``command()``."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self._user(),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._enqueue({"message": message})

    def press_button(self, message: BotMessage, callback_data: str) -> int:
        """The user presses an inline button of ``message``: queue its callback query."""
        query = {
            "id": str(next(self._callback_ids)),
            "from": self._user(),
            "message": self._message_json(message.message_id, message.chat_id, message.text),
            "chat_instance": f"chat-{message.chat_id}",
            "data": callback_data,
        }
        return self._enqueue({"callback_query": query})

    def wait_until_polling(self, timeout: float = 30.0) -> None:
        """Block until the bot has a ``getUpdates`` long poll open."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._polls_in_flight == 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"the bot did not poll the fake Telegram server within {timeout}s "
                        f"(requests so far: {[c.method for c in self._calls][-10:]})"
                    )
                self._cond.wait(remaining)

    def wait_for_message(
        self,
        predicate: Callable[[BotMessage], bool] | None = None,
        timeout: float = 30.0,
        *,
        since: int = 0,
    ) -> BotMessage:
        """The first message the bot sent at position ``since`` or later that ``predicate``
        accepts (any, without one); waits up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self._messages[since:]:
                    if predicate is None or predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    sent = [m.text[:80] for m in self._messages[since:]]
                    raise TimeoutError(f"no matching bot message within {timeout}s; sent: {sent}")
                self._cond.wait(remaining)

    def wait_for_text(self, fragment: str, timeout: float = 30.0, *, since: int = 0) -> BotMessage:
        return self.wait_for_message(lambda m: fragment in m.text, timeout, since=since)

    def command(
        self,
        text: str,
        until: Callable[[BotMessage], bool] | None = None,
        timeout: float = 30.0,
    ) -> list[BotMessage]:
        """Send ``text`` as the user once the bot polls; return what the bot sent from then on,
        up to and including the first message ``until`` accepts (default: the first reply)."""
        self.wait_until_polling(timeout)
        since = len(self.messages)
        self.send_user_message(text)
        last = self.wait_for_message(until, timeout, since=since)
        return self.messages[since : last.seq + 1]

    # --- what the bot did ------------------------------------------------------------------

    @property
    def messages(self) -> list[BotMessage]:
        with self._cond:
            return list(self._messages)

    @property
    def calls(self) -> list[ApiCall]:
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    @property
    def pending_updates(self) -> int:
        with self._cond:
            return len(self._updates)

    # --- internals -------------------------------------------------------------------------

    def _chat(self, chat_id: int | None = None) -> dict[str, Any]:
        return {"id": chat_id if chat_id is not None else self.chat_id, "type": "private",
                "first_name": "Tester"}  # fmt: skip

    def _user(self) -> dict[str, Any]:
        return {"id": self.user_id, "is_bot": False, "first_name": "Tester"}

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "tribar test bot",
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _message_json(self, message_id: int, chat_id: int, text: str) -> dict[str, Any]:
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self._bot_user(),
            "text": text,
        }

    def _enqueue(self, payload: dict[str, Any]) -> int:
        with self._cond:
            update_id = next(self._update_ids)
            self._updates.append({"update_id": update_id, **payload})
            self._cond.notify_all()
            return update_id

    def _should_fail(self, method: str) -> FailureMode | None:
        if self._failure is None:
            return None
        if self._failure_methods is not None and method not in self._failure_methods:
            return None
        return self._failure

    def _record_call(self, call: ApiCall) -> FailureMode | None:
        with self._cond:
            self._calls.append(call)
            failure = self._should_fail(call.method)
            if failure is not None:
                self._failed_requests += 1
            return failure

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        with self._cond:
            if offset > 0:
                # Telegram forgets every update below the offset: they are confirmed.
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._polls_in_flight += 1
            self._polls_started += 1
            self._cond.notify_all()
            try:
                while not self._updates and not self._closing:
                    if self._should_fail("getUpdates") is not None:
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                return list(self._updates[:limit])
            finally:
                self._polls_in_flight -= 1

    def _record_message(
        self, method: str, params: dict[str, Any], files: dict[str, bytes]
    ) -> dict[str, Any]:
        chat_id = int(params.get("chat_id") or self.chat_id)
        if method == "editMessageText":
            message_id = int(params.get("message_id") or 0)
        else:
            message_id = next(self._message_ids)
        text = str(params.get("text") or params.get("caption") or "")
        document = files.get("document") or files.get("photo")
        with self._cond:
            self._messages.append(
                BotMessage(
                    seq=len(self._messages),
                    method=method,
                    message_id=message_id,
                    chat_id=chat_id,
                    text=text,
                    params=params,
                    document=document,
                )
            )
            self._cond.notify_all()
        result = self._message_json(message_id, chat_id, text)
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            result["reply_markup"] = markup
        if document is not None:
            result.pop("text")
            result["document"] = {
                "file_id": f"doc-{message_id}",
                "file_unique_id": f"u-doc-{message_id}",
                "file_name": str(params.get("filename") or "document"),
                "file_size": len(document),
            }
            if params.get("caption"):
                result["caption"] = params["caption"]
        return result

    def handle(self, method: str, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        """The ``result`` of one Bot API method; raises KeyError for unknown methods."""
        if method == "getMe":
            return self._bot_user()
        if method in ("deleteWebhook", "setWebhook"):
            if str(params.get("drop_pending_updates", "")).lower() == "true":
                with self._cond:
                    self._updates.clear()
            return True
        if method == "getWebhookInfo":
            return {"url": "", "has_custom_certificate": False,
                    "pending_update_count": self.pending_updates}  # fmt: skip
        if method == "getUpdates":
            return self._get_updates(params)
        if method in _SENDING_METHODS:
            return self._record_message(method, params, files)
        if method == "answerCallbackQuery":
            return True
        if method == "setMyCommands":
            self._commands[json.dumps(params.get("scope"))] = params.get("commands", [])
            return True
        if method == "deleteMyCommands":
            self._commands.pop(json.dumps(params.get("scope")), None)
            return True
        if method == "getMyCommands":
            return self._commands.get(json.dumps(params.get("scope")), [])
        if method in ("close", "logOut", "sendChatAction"):
            return True
        raise KeyError(method)


def _handler_for(server: FakeTelegramServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # tests read ``calls`` instead of stderr noise

        def setup(self) -> None:
            super().setup()
            with server._cond:
                server._connections.add(self.connection)

        def finish(self) -> None:
            with server._cond:
                server._connections.discard(self.connection)
            with contextlib.suppress(OSError):
                super().finish()

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _params(self) -> tuple[dict[str, Any], dict[str, bytes]]:
            query = dict(parse_qsl(urlsplit(self.path).query))
            params: dict[str, Any] = {k: _decode_param(k, v) for k, v in query.items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            content_type = self.headers.get("Content-Type", "")
            files: dict[str, bytes] = {}
            if content_type.startswith("multipart/form-data"):
                form, files = _multipart_params(content_type, body)
                params.update(form)
            elif content_type.startswith("application/json") and body:
                params.update(json.loads(body))
            elif body:
                for key, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True):
                    params[key] = _decode_param(key, value)
            return params, files

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: int, description: str) -> None:
            self._answer(status, {"ok": False, "error_code": status, "description": description})

        def _serve(self) -> None:
            path = urlsplit(self.path).path
            if not path.startswith("/bot") or path.count("/") != 2:
                self._error(404, "Not Found")
                return
            token, method = path[len("/bot") :].split("/", 1)
            params, files = self._params()
            failure = server._record_call(ApiCall(method, params, token, time.time()))
            if failure is FailureMode.DROP_CONNECTION:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            if failure is FailureMode.HTTP_500:
                self._error(500, "Internal Server Error: fake Telegram outage")
                return
            if token != server.token:
                self._error(401, "Unauthorized")
                return
            try:
                result = server.handle(method, params, files)
            except KeyError:
                self._error(404, "Not Found: method not found")
                return
            # The bot may have given up on a long poll (shutdown): nothing to answer then.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._answer(200, {"ok": True, "result": result})

    return Handler
