"""Where input and output live: a local path, or an object-store URI (``s3://bucket/prefix``).

Remote locations go through fsspec (``s3fs`` for S3, credentials the standard way:
environment variables, profiles, ``AWS_ENDPOINT_URL`` for S3-compatible stores); local
paths keep using the operating system directly, with its links and locks.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any


def is_remote(location: str) -> bool:
    """True for a URI with a scheme other than ``file`` (``s3://…``)."""
    scheme, sep, _ = str(location).partition("://")
    return bool(sep) and scheme not in ("", "file")


def join(location: str, *parts: str) -> str:
    """``location`` and relative ``parts`` joined with ``/`` (URIs and POSIX paths alike)."""
    out = str(location).rstrip("/")
    for part in parts:
        if part:
            out = f"{out}/{part.strip('/')}"
    return out


@cache
def _remote_fs(scheme: str, pid: int) -> Any:
    """``pid``: a forked child gets its own (an async filesystem of its parent's is not
    fork-safe: fsspec refuses to use it)."""
    import fsspec

    try:
        # Listings are never cached: another process may have written since (a pointer,
        # a worker's part file), and a stale listing would hide it.
        return fsspec.filesystem(scheme, skip_instance_cache=True, use_listings_cache=False)
    except (ImportError, ValueError) as err:
        raise RuntimeError(
            f"no filesystem for {scheme}:// locations ({err}); install the cluster extra: "
            "pip install -c requirements.lock -e '.[cluster]'"
        ) from err


def remote_fs(location: str) -> Any:
    """The fsspec filesystem for a remote location (one per scheme and process)."""
    return _remote_fs(str(location).partition("://")[0], os.getpid())
