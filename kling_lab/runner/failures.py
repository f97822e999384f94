"""Plain sentences for what went wrong on the wire or on disk (never an exception's repr or a path)."""

from __future__ import annotations

import errno

import httpx

from kling_lab.providers.base import HostProtocolError


def describe_exception(exc: BaseException) -> str:
    """A short phrase for a transport or protocol failure, to finish a sentence with."""
    if isinstance(exc, httpx.TimeoutException):
        return "the host took too long to answer"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return "the connection was cut"
    if isinstance(exc, HostProtocolError):
        return f"the host's answer could not be read: {exc}"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    return type(exc).__name__


def storage_error(exc: OSError) -> str:
    """Why a clip could not be saved, and what to do about it."""
    if exc.errno == errno.ENOSPC:
        return "The disk is full, so the clip could not be saved. Free some space, then press Retry."
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "The data folder is read-only, so the clip could not be saved. Fix its permissions, then press Retry."
    return f"The clip could not be saved ({exc.strerror or type(exc).__name__})."
