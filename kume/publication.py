"""A run's turn to publish: one publication at a time, and nothing a dead process leaves behind
blocks the next one.

- The file lock on the output root (``tasks.publish.publication_lock``) always: the kernel
  releases it when its holder's process ends, however it ends.
- On a real Prefect server (``kume serve``, ``prefect worker``, ``PREFECT_API_URL`` set), also
  the one slot of the global concurrency limit ``kume-publish``, first: it serialises the runs
  of every worker, whatever machine they publish from. The slot is taken with a lease of
  ``KUME_PUBLISH_LEASE_SECONDS`` (60, the shortest Prefect's server accepts) that Prefect
  renews while the holder lives (a thread, every 3/4 of it); the lease of a holder that died
  expires and the server's Repossessor service, which looks for expired leases every
  ``PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS`` (15), frees its slot: at most about 75 s
  after the death. A waiting run asks again when the server says (at most every 30 s).
- On a temporary server of the run's own (``kume run``, tests: no ``PREFECT_API_URL``, or
  kume run's own server, see ``kume.embedded_server``), no slot. That server keeps its leases
  in its memory and does not run the Repossessor, so a slot held by a killed run would stay
  taken in the SQLite database for good; and the lock already serialises the publications of
  an output root, which is all a single machine's runs share. A slot left taken there by an
  older kume is thus never waited for.

A run that has to wait logs it, naming the holder, and a wait longer than
``KUME_PUBLISH_LOCK_TIMEOUT_SECONDS`` (600, for the slot and the lock together) fails the run
with one line (``PublishError``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from datetime import UTC, datetime
from uuid import UUID

from kume.embedded_server import EMBEDDED_SERVER_VARIABLE
from kume.settings import Settings
from tasks.errors import PublishError
from tasks.publish.lock import describe_holder, lock_holder, publication_lock

PUBLISH_LIMIT = "kume-publish"  # Prefect global concurrency limit: one publication at a time


def on_embedded_server() -> bool:
    """Whether this process talks to a temporary Prefect server of its own: Prefect's embedded
    one (no ``PREFECT_API_URL``) or the one ``kume run`` started (its URL is in
    ``KUME_EMBEDDED_SERVER``)."""
    from prefect.settings import PREFECT_API_URL

    api_url = PREFECT_API_URL.value()
    return not api_url or api_url == os.environ.get(EMBEDDED_SERVER_VARIABLE)


def ensure_publish_limit() -> None:
    """Create the one-slot publication limit on the Prefect server unless it is there."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(PUBLISH_LIMIT)
        except ObjectNotFound:
            with suppress(ObjectAlreadyExists):  # another run created it meanwhile
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=PUBLISH_LIMIT, limit=1))


def release_stale_publish_slots() -> int:
    """On a Prefect server that has just started and keeps its leases in memory (Prefect's
    default), no lease of ``kume-publish`` can exist yet: any taken slot is left over (by a
    server that stopped while a run held it, or by an older kume's embedded runs in the same
    database) and would never be freed. Frees them; returns how many there were."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            limit = client.read_global_concurrency_limit_by_name(PUBLISH_LIMIT)
        except ObjectNotFound:
            return 0
        if limit.active_slots:
            client.update_global_concurrency_limit(PUBLISH_LIMIT, GlobalConcurrencyLimitUpdate(active_slots=0))
        return limit.active_slots


def _clock(moment: float) -> str:
    """A time.monotonic() moment as wall-clock UTC."""
    return datetime.fromtimestamp(time.time() - (time.monotonic() - moment), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@contextmanager
def publication_slot(
    settings: Settings, holder: dict, timeout_seconds: float, log: Callable[[str], None]
) -> Iterator[None]:
    """The one slot of ``kume-publish`` on a real Prefect server, with a lease that Prefect
    renews while this process lives (``settings.publish_lease_seconds``), held for ``holder``'s
    flow run. Waits up to ``timeout_seconds``, logging that it waits; then ``PublishError``."""
    from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError
    from prefect.concurrency.sync import concurrency
    from prefect.settings import PREFECT_API_URL

    ensure_publish_limit()
    api_url = PREFECT_API_URL.value()
    options = {
        "occupy": 1,
        "lease_duration": lease_seconds(settings),
        "holder": _lease_holder(holder.get("flow_run_id")),
        "strict": True,  # the limit exists (above): never publish without the slot
        # a renewal that fails (the server briefly unreachable) must not abort a publication
        # half-way: the file lock still keeps the output root to this run
        "raise_on_lease_renewal_failure": False,
    }
    started = time.monotonic()
    with ExitStack() as stack:
        try:
            stack.enter_context(concurrency(PUBLISH_LIMIT, max_retries=0, **options))
        except ConcurrencySlotAcquisitionError as error:
            if getattr(getattr(error.__cause__, "response", None), "status_code", None) != 423:  # not "taken"
                raise PublishError(f"cannot take the publication slot {PUBLISH_LIMIT} at {api_url}: {error}") from None
            who = _slot_holder(settings)
            log(f"publication: waiting for the {PUBLISH_LIMIT} slot at {api_url}, taken by {who}")
            left = max(timeout_seconds - (time.monotonic() - started), 0.1)
            try:
                stack.enter_context(concurrency(PUBLISH_LIMIT, timeout_seconds=left, **options))
            except TimeoutError:  # Prefect's AcquireConcurrencySlotTimeoutError
                raise PublishError(
                    f"the publication slot {PUBLISH_LIMIT} at {api_url} stayed taken for {timeout_seconds:g} s "
                    f"(waiting since {_clock(started)}; taken by {_slot_holder(settings)})"
                ) from None
            except ConcurrencySlotAcquisitionError as error:
                raise PublishError(f"cannot take the publication slot {PUBLISH_LIMIT} at {api_url}: {error}") from None
            log(f"publication: took the {PUBLISH_LIMIT} slot after waiting {time.monotonic() - started:.0f} s")
        yield


MINIMUM_LEASE_SECONDS = 60  # Prefect's server refuses shorter leases (increment-with-lease: ge=60)


def lease_seconds(settings: Settings) -> float:
    return max(settings.publish_lease_seconds, MINIMUM_LEASE_SECONDS)


def _lease_holder(flow_run_id: str | None):
    from prefect.client.schemas.objects import ConcurrencyLeaseHolder

    try:
        return ConcurrencyLeaseHolder(type="flow_run", id=UUID(str(flow_run_id))) if flow_run_id else None
    except ValueError:
        return None


def _slot_holder(settings: Settings) -> str:
    """Who has the slot, as far as this machine can tell: the publication holding the lock on
    the same output root, if any."""
    held, record = lock_holder(settings.out_dir)
    if held:
        return describe_holder(record)
    return (
        f"a run that holds no lock on {settings.out_dir} (it publishes elsewhere, or it died and its lease "
        f"expires within {lease_seconds(settings):g} s)"
    )


@contextmanager
def publication_turn(settings: Settings, manifest: dict, log: Callable[[str], None]) -> Iterator[None]:
    """This run's turn to publish into ``settings.out_dir``: the ``kume-publish`` slot on a real
    Prefect server, then the file lock on the output root (on the run's own temporary server,
    the lock alone). One deadline, ``settings.publish_lock_timeout_seconds``, for both."""
    timeout = settings.publish_lock_timeout_seconds
    started = time.monotonic()
    holder = {"run_id": manifest.get("run_id"), "flow_run_id": manifest.get("flow_run_id")}
    with ExitStack() as stack:
        if not on_embedded_server():
            stack.enter_context(publication_slot(settings, holder, timeout, log))
            timeout = max(round(timeout - (time.monotonic() - started), 1), 0)  # what is left for the lock
        # reentrant: the publish() inside the turn takes the same lock again
        stack.enter_context(publication_lock(settings.out_dir, timeout, holder=holder, log=log, reentrant=True))
        yield
