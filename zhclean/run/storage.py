"""Can this process use a location? Checked before a run starts, with one line that says
what is wrong (:class:`UsageError`, exit 2) instead of a traceback minutes later.

The flow's process checks its input and output in the preflight; with ``--dask-address``
every worker checks them too (``zhclean.flows.cluster``), and the message says where it
failed (``on worker tcp://…: cannot use s3://…: no credentials …``).

On object storage that is a few requests: the bucket, the input prefix, and a probe
object written and deleted under the output. They go through a client of their own that
gives up quickly (one attempt, 5 s to connect), so an endpoint that does not answer fails
the preflight in seconds, not after botocore's retries; the run's own client keeps them.
"""

from __future__ import annotations

import os
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from zhclean.core.location import is_remote
from zhclean.run.errors import UsageError

PROBE = "_runs/.probe-"  # under the output: written and deleted at once


def check_location(location: str, *, is_input: bool) -> None:
    """Raise :class:`UsageError` unless this process can read ``location`` (an input:
    it must exist) or write it (an output: on a local disk, it must exist already)."""
    if is_remote(location):
        check_remote(location, must_exist=is_input, writable=not is_input)
    else:
        _check_local(Path(location), is_input)


def check_remote(location: str, *, must_exist: bool, writable: bool) -> None:
    bucket = location.partition("://")[2].partition("/")[0]
    try:
        fs = _quick_fs(location.partition("://")[0], *_client_settings())
        fs.call_s3("head_bucket", Bucket=bucket)
        if must_exist and not fs.exists(location):
            raise UsageError(f"input directory not found: {location}")
        if writable:
            probe = f"{location.rstrip('/')}/{PROBE}{uuid.uuid4().hex}"
            fs.pipe_file(probe, b"")
            fs.rm(probe)
    except UsageError:
        raise
    except Exception as err:  # botocore's and s3fs's errors share no base class
        raise UsageError(f"cannot use {location}: {describe(err, bucket)}") from err


def describe(err: BaseException, bucket: str) -> str:
    """An object-store error in the words an operator acts on."""
    name = type(err).__name__
    text = " ".join(str(err).split())
    if name in ("NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"):
        return (
            f"no credentials ({text}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "or AWS_PROFILE"
        )
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError"):
        endpoint = os.environ.get("AWS_ENDPOINT_URL") or "the S3 endpoint"
        return f"cannot reach {endpoint} ({text}): check AWS_ENDPOINT_URL and the network"
    if isinstance(err, FileNotFoundError):
        return f"the bucket {bucket} does not exist: create it first"
    if isinstance(err, PermissionError):
        return f"access denied ({text}): check the credentials and the bucket's policy"
    return f"{name}: {text}"


def _client_settings() -> tuple[str | None, str | None, int]:
    """What a check's client is bound to: a changed endpoint, key or process needs a new one."""
    env = os.environ
    return env.get("AWS_ENDPOINT_URL"), env.get("AWS_ACCESS_KEY_ID"), os.getpid()


@cache
def _quick_fs(scheme: str, endpoint: str | None, key: str | None, pid: int) -> Any:
    """A client for checks: one attempt, short timeouts (one per process, scheme, endpoint
    and key: a client made for another endpoint would check the wrong store)."""
    import fsspec

    try:
        fs = fsspec.filesystem(
            scheme,
            skip_instance_cache=True,
            use_listings_cache=False,
            config_kwargs={
                "connect_timeout": 5,
                "read_timeout": 10,
                "retries": {"max_attempts": 1, "mode": "standard"},
            },
        )
    except (ImportError, ValueError) as err:
        raise UsageError(
            f"no filesystem for {scheme}:// locations ({err}); install the cluster extra: "
            "pip install -c requirements.lock -e '.[cluster]'"
        ) from err
    fs.retries = 1  # s3fs's own retry loop
    return fs


def _check_local(path: Path, is_input: bool) -> None:
    what = "input" if is_input else "output"
    if not path.is_dir():
        raise UsageError(f"{what} directory not found: {path}")
    mode = os.R_OK | os.X_OK if is_input else os.W_OK | os.X_OK
    if not os.access(path, mode):
        raise UsageError(
            f"{what} directory is not {'readable' if is_input else 'writable'}: {path}"
        )
