"""What a run may carry to a dask worker: credentials travel only over a private link.

A run executed by a dask worker travels there pickled: the task, its
:class:`~iqx.experiment.task.RunRequest` and the tracker. Dask comms are not encrypted
unless the cluster is configured with TLS (``tls://`` addresses), so a credential in any of
them would cross the network in clear text. The rule:

- **Private links** carry everything: runs executed in this process (serial runs,
  ``in_process`` pools), an in-process cluster (``inproc://``, what
  :meth:`ExperimentSetup.execute` starts itself), a scheduler on a loopback address
  (``tcp://127.0.0.1:8786``) and a TLS scheduler (``tls://``).
- **Other links** (``tcp://host:8786``) carry no credential value. The request's
  ``cloud_options`` lose their ``aws_*`` keys and its scrub list is empty; each worker
  resolves credentials itself (boto3's chain: its environment, ``~/.aws``, an instance role,
  or the named profile ``cloud_options["profile_name"]``) and scrubs the ones of its own
  environment from logs. A setup that could only work by sending a secret is refused before
  any run starts, with the way out named: a task that reads S3 on the workers (SageMaker)
  while the credentials are only in ``cloud_options``, a task object holding credentials,
  or a tracking URI with a user name or password in it (the tracker travels with each run;
  MLflow reads ``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD`` on each machine).
- A script task's ``env`` (``PythonScriptTaskExecution(env=...)``) travels with the task.
  Its ordinary variables (``OMP_NUM_THREADS``, a data root ...) are the script's
  configuration and travel on any link: dropping them would silently change the run. Its
  credentials (:func:`env_credentials`: a credential's name, or a value that is one of this
  process's credentials) make the setup refused over other links, like a task holding
  ``aws_*`` options: a script started by a worker inherits the worker's environment, so the
  way out is to set them there. Over private links they travel and are scrubbed from logs.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

from iqx.errors import ExperimentError
from iqx.experiment.cloud import SECRET_OPTION_KEYS

__all__ = [
    "check_private",
    "env_credentials",
    "environment_secrets",
    "for_link",
    "link_of",
    "private_link",
    "scheduler_link",
]

#: environment variables whose values are credentials (scrubbed from logs on each machine)
SECRET_ENV = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_PASSWORD",
    "DATABRICKS_TOKEN",
)


def environment_secrets() -> tuple[str, ...]:
    """Credential values of this process's environment (a worker's own, on a worker)."""
    return tuple(os.environ[k] for k in SECRET_ENV if os.environ.get(k))


#: words of a variable name that say it holds a credential (``WANDB_API_KEY``, ``HF_TOKEN``)
_CREDENTIAL_WORDS = re.compile(
    r"(?:^|_)(?:SECRET|SECRETS|TOKEN|PASSWORD|PASSWD|PASSPHRASE|CREDENTIALS?|APIKEY|"
    r"(?:API|ACCESS|PRIVATE|SECRET|AUTH)_KEY(?:_ID)?)(?:_|$)",
    re.IGNORECASE,
)


def env_credentials(env: Mapping[str, Any] | None, known: tuple[str, ...] = ()) -> list[str]:
    """Names of the variables of ``env`` that hold credentials (never their values).

    A variable is a credential when its name is one (:data:`SECRET_ENV`, or a name with a
    word such as ``SECRET``, ``TOKEN``, ``PASSWORD``, ``API_KEY``, ``ACCESS_KEY``), or when
    its value is a credential of this process's environment or one of ``known`` (e.g. the
    ``aws_*`` values of ``cloud_options``) under another name.
    """
    values = {v for v in (*environment_secrets(), *known) if v}
    return [
        str(k)
        for k, v in (env or {}).items()
        if str(k).upper() in SECRET_ENV or _CREDENTIAL_WORDS.search(str(k)) or str(v) in values
    ]


def link_of(pool: Any) -> str | None:
    """The scheduler address runs travel to, or None when they run in this process."""
    client = getattr(pool, "client", None)
    if client is None or getattr(pool, "in_process", False):
        return None
    scheduler = getattr(client, "scheduler", None)
    return str(getattr(scheduler, "address", "") or "") or "unknown://"


def scheduler_link(setup: Any) -> str | None:
    """The address runs of ``setup`` will travel to, known before anything is contacted.

    None when they run in this process or on the in-process cluster ``execute`` starts
    itself (no ``scheduler``, or a task that runs its runs in process).
    """
    scheduler = getattr(setup, "scheduler", None)
    if scheduler is None or not getattr(setup.task, "parallel_runs", True):
        return None
    if isinstance(scheduler, str):
        return scheduler if "://" in scheduler else f"tcp://{scheduler}"
    inner = getattr(scheduler, "scheduler", None)  # a distributed.Client
    address = getattr(inner, "address", None) or getattr(scheduler, "scheduler_address", None)
    return str(address) if address else "unknown://"


def private_link(address: str | None) -> bool:
    """True for no link, ``inproc://``, ``tls://`` and loopback addresses."""
    if address is None:
        return True
    scheme, _, rest = address.partition("://")
    if scheme in ("inproc", "tls"):
        return True
    host = urllib.parse.urlsplit(f"//{rest}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _held(options: Mapping[str, Any] | None) -> list[str]:
    return [k for k in SECRET_OPTION_KEYS if (options or {}).get(k)]


def check_private(setup: Any, task: Any, address: str | None) -> None:
    """Refuse (before any run starts) a setup that would send a secret over ``address``.

    Raises
    ------
    ExperimentError
        The link is neither local nor TLS and a credential would have to travel; the
        message names the credential's place (never its value) and the ways out.
    """
    if private_link(address):
        return
    fix = (
        f"dask comms to {address} are not encrypted: configure the cluster with TLS "
        "(a tls:// scheduler address), run on a local cluster, or"
    )
    uri = urllib.parse.urlsplit(str(setup.tracker.uri))
    if uri.password or uri.username:
        raise ExperimentError(
            f"the tracking URI holds a user name or password and would travel to every "
            f"worker; {fix} set MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD on the "
            "driver and the workers and leave them out of the URI"
        )
    own = _held(getattr(task, "cloud_options", None))
    if own:
        raise ExperimentError(
            f"the task holds credentials ({', '.join(own)} in its cloud_options) and would "
            f"travel to every worker; {fix} give the workers credentials of their own "
            "(environment, ~/.aws, an instance role, cloud_options['profile_name'])"
        )
    known = tuple(str(setup.cloud_options[k]) for k in _held(setup.cloud_options))
    in_env = env_credentials(getattr(task, "env", None), known)
    if in_env:
        raise ExperimentError(
            f"the task's env holds credentials ({', '.join(in_env)}) and would travel to "
            f"every worker; {fix} set them in the workers' own environment (the script a "
            "worker starts inherits it) and leave them out of env="
        )
    held = _held(setup.cloud_options)
    if held and getattr(task, "needs_storage", False):
        raise ExperimentError(
            f"{type(task).__name__} reads S3 on the workers, but the credentials are in "
            f"cloud_options ({', '.join(held)}), which are not sent to workers; {fix} give "
            "the workers credentials of their own (environment, ~/.aws, an instance role, "
            "cloud_options['profile_name'] naming a profile they have)"
        )


def for_link(request: Any, address: str | None) -> Any:
    """``request`` as it may travel over ``address``: without credentials unless private."""
    if private_link(address):
        return request
    options = {k: v for k, v in dict(request.cloud_options).items() if k not in SECRET_OPTION_KEYS}
    return dataclasses.replace(request, cloud_options=options, secrets=())
