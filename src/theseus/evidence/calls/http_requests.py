"""requests: ``requests.adapters.HTTPAdapter.send``.

The adapter returns a response whose body is still on the wire (``response.raw``, a urllib3
response); recording puts a tap in front of ``raw`` that keeps what the agent reads through
it, so ``stream=True`` stays streamed and the bytes consumed are the bytes recorded. requests
reads with ``decode_content=True``, so the recorded body is already decoded; a direct
``raw.read()`` reads the encoded bytes, and the tap says so. Replay builds a
``requests.Response`` over a small in-memory ``raw``, which ``iter_content``, ``.content``,
``.json()`` and redirects all read as they read urllib3's.
"""

from __future__ import annotations

import functools
import http
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from theseus.evidence.calls.failures import rebuild_error
from theseus.evidence.calls.http_httpx import MARK
from theseus.evidence.calls.scope import Scope, current
from theseus.evidence.calls.wire import HttpRequest, Served

__all__ = ["patch"]


def patch(module: ModuleType) -> None:
    """Patch ``requests.adapters.HTTPAdapter.send``; a second call does nothing."""
    adapters = module.adapters
    adapter_cls = adapters.HTTPAdapter
    if getattr(adapter_cls.send, MARK, False):
        return
    original = adapter_cls.send

    @functools.wraps(original)
    def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        scope = current()
        if scope is None:
            return original(self, request, *args, **kwargs)
        if scope.replaying:
            return _response(module, self, scope.serve_http(_request_of(request)), request)
        return _record(scope, original, self, request, args, kwargs)

    setattr(send, MARK, True)
    adapter_cls.send = send


def _request_of(request: Any) -> HttpRequest:
    body = request.body
    if body is None:
        data: bytes | None = b""
    elif isinstance(body, bytes):
        data = body
    elif isinstance(body, str):
        data = body.encode("utf-8")
    else:  # a generator or a file: streamed, not read here
        data = None
    headers = [(str(k), str(v)) for k, v in request.headers.items()]
    return HttpRequest(str(request.method), str(request.url), headers, data)


def _record(scope: Scope, original: Any, adapter: Any, request: Any, args: Any, kwargs: Any) -> Any:
    try:
        capture = scope.start_http(_request_of(request))
    except Exception as exc:
        scope.warn("calls", exc)
        capture = None
    if capture is None:
        return original(adapter, request, *args, **kwargs)
    try:
        response = original(adapter, request, *args, **kwargs)
    except BaseException as exc:
        try:
            capture.failed(exc)
        except Exception as problem:
            scope.warn("calls", problem)
        raise
    try:
        headers = [(str(k), str(v)) for k, v in response.headers.items()]
        capture.head(response.status_code, headers, decoded=True)
        response.raw = _Tap(response.raw, capture, scope)
    except Exception as exc:
        scope.warn("calls", exc)
    return response


class _Tap:
    """``response.raw`` as the agent reads it, each byte it gets kept for the record."""

    def __init__(self, raw: Any, capture: Any, scope: Scope) -> None:
        self._raw, self._capture, self._scope = raw, capture, scope

    def _keep(self, data: bytes, decode: Any) -> None:
        try:
            if not decode:
                self._capture.decoded = False
            self._capture.feed(data)
        except Exception as exc:
            self._scope.warn("calls", exc)

    def stream(
        self, amt: int | None = 2**16, decode_content: bool | None = None
    ) -> Iterator[bytes]:
        for chunk in self._raw.stream(amt, decode_content=decode_content):
            self._keep(chunk, decode_content)
            yield chunk
        self._capture.finish(complete=True)

    def read(self, *args: Any, **kwargs: Any) -> bytes:
        data: bytes = self._raw.read(*args, **kwargs)
        decode = kwargs.get("decode_content", args[1] if len(args) > 1 else None)
        self._keep(data, decode)
        amt = kwargs.get("amt", args[0] if args else None)
        if amt is None or not data:
            self._capture.finish(complete=True)
        return data

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            self._capture.finish(complete=False)

    def release_conn(self) -> None:
        try:
            self._raw.release_conn()
        finally:
            self._capture.finish(complete=False)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


class _Body:
    """The ``raw`` of a replayed response: the recorded bytes, read like urllib3's."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._data = b"".join(chunks)
        self._at = 0

    def read(self, amt: int | None = None, decode_content: bool | None = None, **_: Any) -> bytes:
        end = len(self._data) if amt is None else min(len(self._data), self._at + amt)
        data, self._at = self._data[self._at : end], end
        return data

    def close(self) -> None:
        self._at = len(self._data)

    def release_conn(self) -> None:
        pass


def _response(module: ModuleType, adapter: Any, served: Served, request: Any) -> Any:
    if served.error is not None:
        raise rebuild_error(served.error, {"request": request})
    response = module.models.Response()
    response.status_code = served.status
    response.headers = module.structures.CaseInsensitiveDict(served.headers)
    response.encoding = module.utils.get_encoding_from_headers(response.headers)
    response.raw = _Body(served.chunks)
    try:
        response.reason = http.HTTPStatus(served.status).phrase
    except ValueError:
        response.reason = ""
    response.url = request.url
    response.request = request
    response.connection = adapter
    return response
