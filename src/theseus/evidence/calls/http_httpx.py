"""httpx and httpx2: ``HTTPTransport.handle_request`` / ``AsyncHTTPTransport.handle_async_request``.

``httpx2`` is the fork of httpx with the same API that the openai and anthropic SDKs use
(an agent's own ``httpx`` client is the original), so one patch serves both, applied to
each module's classes. Recording wraps the response's byte stream: the agent reads the
response as it arrives (a streamed model answer stays streamed) and the bytes it consumed
are what is recorded. Replay builds the library's own ``Response`` from the evidence, its
stream cut at event boundaries for server-sent events, so the SDKs parse it as they would
the network's.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

from theseus.evidence.calls.failures import rebuild_error
from theseus.evidence.calls.scope import Scope, current
from theseus.evidence.calls.wire import HttpRequest, Served

__all__ = ["patch"]

MARK = "__theseus_patched__"


def patch(module: ModuleType) -> None:
    """Patch ``module``'s (httpx or httpx2) default transports; a second call does nothing."""
    sync_cls, async_cls = module.HTTPTransport, module.AsyncHTTPTransport
    if getattr(sync_cls.handle_request, MARK, False):
        return
    kit = _Kit(module)
    original = sync_cls.handle_request
    original_async = async_cls.handle_async_request

    @functools.wraps(original)
    def handle_request(self: Any, request: Any) -> Any:
        scope = current()
        if scope is None:
            return original(self, request)
        if scope.replaying:
            return kit.response(scope.serve_http(_request_of(kit, request)), request)
        return kit.record(scope, original, self, request)

    @functools.wraps(original_async)
    async def handle_async_request(self: Any, request: Any) -> Any:
        scope = current()
        if scope is None:
            return await original_async(self, request)
        if scope.replaying:
            return kit.response(scope.serve_http(_request_of(kit, request)), request)
        return await kit.record_async(scope, original_async, self, request)

    setattr(handle_request, MARK, True)
    setattr(handle_async_request, MARK, True)
    sync_cls.handle_request = handle_request
    async_cls.handle_async_request = handle_async_request


def _request_of(kit: _Kit, request: Any) -> HttpRequest:
    try:
        body: bytes | None = request.content
    except kit.not_read:  # a streamed upload: not read here, as the agent did not buffer it
        body = None
    headers = [(str(k), str(v)) for k, v in request.headers.multi_items()]
    return HttpRequest(request.method, str(request.url), headers, body)


class _Kit:
    """One module's classes, and the stream wrappers made from them (httpx checks types)."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.not_read: type[Exception] = module.RequestNotRead
        sync_base, async_base = module.SyncByteStream, module.AsyncByteStream

        class Tap(sync_base):  # type: ignore[misc, valid-type]
            def __init__(self, inner: Any, capture: Any, scope: Scope) -> None:
                self.inner, self.capture, self.scope = inner, capture, scope

            def __iter__(self) -> Iterator[bytes]:
                try:
                    for chunk in self.inner:
                        _feed(self.scope, self.capture, chunk)
                        yield chunk
                except GeneratorExit:
                    raise
                except BaseException:
                    self.capture.finish(complete=False)
                    raise
                self.capture.finish(complete=True)

            def close(self) -> None:
                try:
                    self.inner.close()
                finally:
                    self.capture.finish(complete=False)

        class AsyncTap(async_base):  # type: ignore[misc, valid-type]
            def __init__(self, inner: Any, capture: Any, scope: Scope) -> None:
                self.inner, self.capture, self.scope = inner, capture, scope

            async def __aiter__(self) -> AsyncIterator[bytes]:
                try:
                    async for chunk in self.inner:
                        _feed(self.scope, self.capture, chunk)
                        yield chunk
                except GeneratorExit:
                    raise
                except BaseException:
                    self.capture.finish(complete=False)
                    raise
                self.capture.finish(complete=True)

            async def aclose(self) -> None:
                try:
                    await self.inner.aclose()
                finally:
                    self.capture.finish(complete=False)

        class Replayed(sync_base, async_base):  # type: ignore[misc, valid-type]
            def __init__(self, chunks: list[bytes]) -> None:
                self.chunks = chunks

            def __iter__(self) -> Iterator[bytes]:
                yield from self.chunks

            async def __aiter__(self) -> AsyncIterator[bytes]:
                for chunk in self.chunks:
                    yield chunk

        self.tap, self.async_tap, self.replayed = Tap, AsyncTap, Replayed

    def record(self, scope: Scope, original: Any, transport: Any, request: Any) -> Any:
        capture = _start(scope, self, request)
        if capture is None:
            return original(transport, request)
        try:
            response = original(transport, request)
        except BaseException as exc:
            _failed(scope, capture, exc)
            raise
        return self._tapped(scope, capture, response, self.tap)

    async def record_async(self, scope: Scope, original: Any, transport: Any, request: Any) -> Any:
        capture = _start(scope, self, request)
        if capture is None:
            return await original(transport, request)
        try:
            response = await original(transport, request)
        except BaseException as exc:
            _failed(scope, capture, exc)
            raise
        return self._tapped(scope, capture, response, self.async_tap)

    def _tapped(self, scope: Scope, capture: Any, response: Any, tap: Any) -> Any:
        try:
            headers = [(str(k), str(v)) for k, v in response.headers.multi_items()]
            capture.head(response.status_code, headers, decoded=False)
            response.stream = tap(response.stream, capture, scope)
        except Exception as exc:
            scope.warn("calls", exc)
        return response

    def response(self, served: Served, request: Any) -> Any:
        """The library's response for a served call, or the recorded error raised."""
        if served.error is not None:
            raise rebuild_error(served.error, {"request": request})
        return self.module.Response(
            served.status,
            headers=served.headers,
            stream=self.replayed(served.chunks),
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )


def _start(scope: Scope, kit: _Kit, request: Any) -> Any:
    try:
        return scope.start_http(_request_of(kit, request))
    except Exception as exc:
        scope.warn("calls", exc)
        return None


def _feed(scope: Scope, capture: Any, chunk: bytes) -> None:
    try:
        capture.feed(chunk)
    except Exception as exc:
        scope.warn("calls", exc)


def _failed(scope: Scope, capture: Any, exc: BaseException) -> None:
    try:
        capture.failed(exc)
    except Exception as problem:
        scope.warn("calls", problem)
