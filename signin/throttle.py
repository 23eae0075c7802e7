"""Failed sign-in attempts, counted across every worker process: in the database by default
(table login_throttle), in Redis when RATELIMIT_STORAGE_URI names one.

Two kinds of key, so that throttling cannot be turned against an account's owner:

- a **limit** for one account from one address (or from one trusted device): after
  `LOGIN_MAX_FAILURES` failures in `LOGIN_FAILURE_WINDOW_MINUTES`, that address is refused for
  that account until the window ends. Whoever hammers an account locks out only themselves.
- a **delay** for the account as a whole, and for an address across accounts (password
  spraying): after `LOGIN_DELAY_AFTER` (account) or `LOGIN_ADDRESS_DELAY_AFTER` (address)
  failures, each failure imposes a wait before the next attempt is looked at —
  `LOGIN_DELAY_SECONDS`, doubled with each further failure, at most `LOGIN_DELAY_MAX_SECONDS`.
  The owner is delayed, never locked out; the count restarts after `LOGIN_DELAY_RESET_MINUTES`
  without a failure, or at the owner's next sign-in. A browser in which the owner has signed
  in before carries a signed device cookie; its attempts skip both delays and are limited on
  their own key instead, so an attacker elsewhere does not delay the owner at all.

Every attempt is *reserved* before the password is checked, under a lock on its keys (a row
lock in the database, WATCH/MULTI in Redis): concurrent attempts cannot all read "not yet at
the limit", and at most the limit are ever looked at. The reservation is then settled as a
failure or as a success. A reservation whose request died is forgotten after a minute."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from models import LoginThrottle
from models.types import utcnow

LIMIT, DELAY = "limit", "delay"
# A reservation older than this belongs to a request that died: it no longer counts.
HOLD = timedelta(seconds=60)


@dataclass(frozen=True)
class Rules:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    delay_after: int = 5
    address_delay_after: int = 20
    delay: float = 1.0
    delay_max: float = 900.0
    reset_after: timedelta = timedelta(minutes=60)

    @classmethod
    def from_config(cls, config: Any) -> Rules:
        return cls(
            max_failures=int(config["LOGIN_MAX_FAILURES"]),
            window=timedelta(minutes=float(config["LOGIN_FAILURE_WINDOW_MINUTES"])),
            delay_after=int(config["LOGIN_DELAY_AFTER"]),
            address_delay_after=int(config["LOGIN_ADDRESS_DELAY_AFTER"]),
            delay=float(config["LOGIN_DELAY_SECONDS"]),
            delay_max=float(config["LOGIN_DELAY_MAX_SECONDS"]),
            reset_after=timedelta(minutes=float(config["LOGIN_DELAY_RESET_MINUTES"])),
        )

    def wait_after(self, failures: int, threshold: int) -> float:
        """The wait imposed after the `failures`-th failure: none before the threshold, then
        the first delay, doubled with each further failure, capped."""
        if failures < threshold:
            return 0.0
        return min(self.delay * 2 ** min(failures - threshold, 40), self.delay_max)


@dataclass(frozen=True)
class Key:
    name: str
    kind: str  # LIMIT or DELAY
    threshold: int


def keys_for(rules: Rules, account: str, address: str, device: str | None = None) -> list[Key]:
    """The keys an attempt on `account` from `address` counts under. With a trusted device (the
    owner's browser), the device's own limit replaces the address limit and both delays."""
    if device:
        return [Key(f"device:{account}|{device}", LIMIT, rules.max_failures)]
    return [
        Key(f"account:{account}", DELAY, rules.delay_after),
        Key(f"account-address:{account}|{address}", LIMIT, rules.max_failures),
        Key(f"address:{address}", DELAY, rules.address_delay_after),
    ]


def account_key_prefixes(account: str) -> list[str]:
    return [f"account:{account}", f"account-address:{account}|", f"device:{account}|"]


@dataclass(frozen=True)
class State:
    failures: int = 0
    pending: int = 0
    pending_since: datetime | None = None
    window_start: datetime | None = None
    last_failure_at: datetime | None = None
    refused: int = 0


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # seconds, when refused
    refused_key: str = ""
    refused_count: int = 0  # how many attempts this key refused in a row (1 = the first)

    @property
    def worth_logging(self) -> bool:
        """The first refusal, then the 10th, 100th …: a hammering attacker cannot flood the log."""
        n = self.refused_count
        while n >= 10 and n % 10 == 0:
            n //= 10
        return n == 1


def _normalise(rules: Rules, key: Key, state: State, now: datetime) -> State:
    """The state with what has expired forgotten."""
    if state.pending and (state.pending_since is None or now - state.pending_since >= HOLD):
        state = replace(state, pending=0, pending_since=None)
    if key.kind == LIMIT:
        if state.window_start is None or now - state.window_start >= rules.window:
            state = replace(state, failures=0, window_start=now)
    elif state.last_failure_at is not None and now - state.last_failure_at >= rules.reset_after:
        state = replace(state, failures=0, last_failure_at=None)
    if state.window_start is None:
        state = replace(state, window_start=now)
    return state


def _check(rules: Rules, key: Key, state: State, now: datetime) -> float:
    """Seconds until an attempt under `key` may be looked at (0: now)."""
    if key.kind == LIMIT:
        if state.failures + state.pending < key.threshold:
            return 0.0
        assert state.window_start is not None
        return max((state.window_start + rules.window - now).total_seconds(), 1.0)
    if state.failures + state.pending < key.threshold:
        return 0.0
    if state.pending:
        return 1.0  # another attempt is being looked at; its answer sets the wait
    wait = rules.wait_after(state.failures, key.threshold)
    ready = (state.last_failure_at or now) + timedelta(seconds=wait)
    return max((ready - now).total_seconds(), 0.0)


Change = Callable[[dict[str, State], datetime], tuple[dict[str, State | None], Any]]


class Store(Protocol):
    def modify(self, names: list[str], change: Change) -> Any:
        """Read the states of `names` under a lock, apply `change`, write what it returns
        (None deletes) and return its result, atomically across processes."""

    def purge(self) -> None:
        """Forget keys unused for a day."""

    def clear_account(self, account: str) -> int:
        """Forget every key of `account`; returns how many there were."""


class Throttle:
    def __init__(self, store: Store, rules: Rules):
        self.store = store
        self.rules = rules

    def reserve(self, keys: list[Key]) -> Verdict:
        """Take a place for one attempt under every key, or none and say how long to wait."""
        by_name = {k.name: k for k in keys}

        def change(states: dict[str, State], now: datetime) -> tuple[dict[str, State | None], Verdict]:
            fresh = {name: _normalise(self.rules, by_name[name], states[name], now) for name in states}
            waits = {name: _check(self.rules, by_name[name], state, now) for name, state in fresh.items()}
            blocking = max(waits, key=lambda n: waits[n])
            if waits[blocking] > 0:
                refused = replace(fresh[blocking], refused=fresh[blocking].refused + 1)
                verdict = Verdict(False, int(waits[blocking] + 0.999), blocking, refused.refused)
                return {blocking: refused}, verdict
            taken = {name: replace(state, pending=state.pending + 1, pending_since=now, refused=0)
                     for name, state in fresh.items()}
            return dict(taken), Verdict(True)

        return self.store.modify(sorted(by_name), change)

    def settle(self, keys: list[Key], *, failed: bool) -> None:
        """The attempt reserved under `keys` was answered: a failure counts, a success does not."""
        by_name = {k.name: k for k in keys}

        def change(states: dict[str, State], now: datetime) -> tuple[dict[str, State | None], None]:
            result: dict[str, State | None] = {}
            for name, state in states.items():
                state = _normalise(self.rules, by_name[name], state, now)
                state = replace(state, pending=max(state.pending - 1, 0))
                if failed:
                    state = replace(state, failures=state.failures + 1, last_failure_at=now)
                result[name] = state
            return result, None

        self.store.modify(sorted(by_name), change)

    def succeed(self, keys: list[Key]) -> None:
        """The attempt reserved under `keys` ended in a sign-in: the account's failures are
        forgotten (its owner is in); an address's count stays, less this attempt's place."""
        by_name = {k.name: k for k in keys}

        def change(states: dict[str, State], now: datetime) -> tuple[dict[str, State | None], None]:
            result: dict[str, State | None] = {}
            for name, state in states.items():
                if name.startswith("address:"):
                    state = _normalise(self.rules, by_name[name], state, now)
                    result[name] = replace(state, pending=max(state.pending - 1, 0))
                else:
                    result[name] = None
            return result, None

        self.store.modify(sorted(by_name), change)
        self.store.purge()


# --- the database store ----------------------------------------------------------------------


class DatabaseStore:
    """Rows of login_throttle, changed in their own short transaction (like a Redis store, and
    never inside the request's): insert-if-missing first, which takes SQLite's write lock, then
    SELECT … FOR UPDATE, which takes PostgreSQL's row locks, always in key order."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def modify(self, names: list[str], change: Change) -> Any:
        table = LoginThrottle.__table__
        now = utcnow()
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        with self.engine.begin() as conn:
            if names:
                conn.execute(insert(table).values([
                    {"key": n, "failures": 0, "pending": 0, "refused": 0, "window_start": now, "updated_at": now}
                    for n in names
                ]).on_conflict_do_nothing())
            rows = conn.execute(select(table).where(table.c.key.in_(names)).order_by(table.c.key)
                                .with_for_update()).all()
            states = {r.key: State(r.failures, r.pending, r.pending_since, r.window_start, r.last_failure_at,
                                   r.refused) for r in rows}
            written, result = change(states, now)
            for name, state in written.items():
                if state is None:
                    conn.execute(delete(table).where(table.c.key == name))
                else:
                    conn.execute(table.update().where(table.c.key == name).values(
                        failures=state.failures, pending=state.pending, pending_since=state.pending_since,
                        window_start=state.window_start or now, last_failure_at=state.last_failure_at,
                        refused=state.refused, updated_at=now))
        return result

    def purge(self) -> None:
        """Drop keys nobody used for a day (typed-in unknown names, old addresses); in a
        transaction of its own, holding no other lock meanwhile."""
        table = LoginThrottle.__table__
        with self.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.updated_at < utcnow() - timedelta(days=1)))

    def clear_account(self, account: str) -> int:
        table = LoginThrottle.__table__
        with self.engine.begin() as conn:
            removed = 0
            for prefix in account_key_prefixes(account):
                condition = table.c.key == prefix if not prefix.endswith("|") else table.c.key.startswith(
                    prefix, autoescape=True)
                removed += conn.execute(delete(table).where(condition)).rowcount
            return removed


# --- the Redis store -------------------------------------------------------------------------


def _stamp(value: datetime | None) -> str:
    return "" if value is None else f"{value.timestamp():.6f}"


def _unstamp(value: bytes | str | None) -> datetime | None:
    if not value:
        return None
    text = value.decode() if isinstance(value, bytes) else value
    return datetime.fromtimestamp(float(text), UTC)


class RedisStore:
    """One hash per key under `canyue:login:`, changed in a WATCH/MULTI transaction (retried when
    another process changed a watched key meanwhile); keys expire a day after their last use."""

    PREFIX = "canyue:login:"

    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url)

    def modify(self, names: list[str], change: Change) -> Any:
        import redis

        keys = [self.PREFIX + n for n in names]
        while True:
            with self.client.pipeline() as pipe:
                try:
                    if keys:
                        pipe.watch(*keys)
                    states = {}
                    for name, key in zip(names, keys, strict=True):
                        raw = pipe.hgetall(key)
                        get = lambda field, raw=raw: raw.get(field.encode()) or raw.get(field)  # noqa: E731
                        states[name] = State(
                            int(get("failures") or 0), int(get("pending") or 0), _unstamp(get("pending_since")),
                            _unstamp(get("window_start")), _unstamp(get("last_failure_at")), int(get("refused") or 0),
                        )
                    written, result = change(states, utcnow())
                    pipe.multi()
                    for name, state in written.items():
                        key = self.PREFIX + name
                        if state is None:
                            pipe.delete(key)
                            continue
                        pipe.hset(key, mapping={
                            "failures": state.failures, "pending": state.pending,
                            "pending_since": _stamp(state.pending_since), "window_start": _stamp(state.window_start),
                            "last_failure_at": _stamp(state.last_failure_at), "refused": state.refused,
                        })
                        pipe.expire(key, 86400)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue

    def purge(self) -> None:
        """Redis expires its keys a day after their last use."""

    def clear_account(self, account: str) -> int:
        removed = 0
        for prefix in account_key_prefixes(account):
            pattern = self.PREFIX + prefix + ("*" if prefix.endswith("|") else "")
            for key in self.client.scan_iter(match=pattern):
                removed += int(self.client.delete(key))
        return removed
