"""The user behind a token: lookup by ``USER_ID_FIELD``, activity check,
and the optional per-process cache (``USER_CACHE_TTL``).

With the cache off (the default) every authenticated request reads the
user row, so deactivating or deleting a user takes effect at once
everywhere. With ``USER_CACHE_TTL`` set, a process reuses an active user's
row for that long: saves and deletes in the same process clear the cache at
once, other processes see them within the TTL. Each request gets its own
model instance, rebuilt from the cached column values, so nothing a view
does to ``request.user`` leaks into another request.

The lookup runs the SQL that ``manager.get(field=value)`` runs, compiled
once per (model, field, database) and then executed directly: building and
compiling a QuerySet cost about six times as much as the query itself. The
compiled form is only used when it is exactly the ORM's (the same statement
for any value, the value in one parameter, the model's own columns only);
otherwise, and for anything unusual at run time, the ORM runs the lookup.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import connections
from django.db.models import Field, Model
from rest_framework import status

from tessera.django.conf import tessera_settings
from tessera.django.exceptions import TesseraAPIError

# str(user id) -> (monotonic deadline, database alias, concrete field values)
_cache: dict[str, tuple[float, str, tuple[Any, ...]]] = {}


@dataclass(frozen=True, eq=False)
class _Lookup:
    """``manager.get(field=value)`` compiled: its SQL, and where the value goes.

    Compared and hashed by identity: it keys the converter caches, and its
    fields (a Query, expressions) are costly to hash."""

    sql: str
    params: tuple[Any, ...]
    slot: int
    field: Field[Any, Any]
    attnames: tuple[str, ...]
    # For the backend's and the fields' converters (dates on SQLite, say),
    # which belong to each thread's connection.
    query: Any
    columns: tuple[Any, ...]


# (model, field name, database alias) -> the compiled lookup, or None when
# the ORM must run it (see _compile).
_lookups: dict[tuple[type[Model], str, str], _Lookup | None] = {}

# The attribute of a connection object that holds its converter cache:
# compiled lookup -> (its compiler, its converters). See _converters.
_CONVERTERS = "_tessera_lookup_converters"


def load_user(user_id: object) -> AbstractBaseUser:
    """The active user whose ``USER_ID_FIELD`` is `user_id`.

    Raises a 401 ``user_not_found`` or ``user_inactive``.
    """
    options = tessera_settings()
    ttl = options.user_cache_ttl.total_seconds()
    model = get_user_model()
    key = str(user_id)
    if ttl:
        hit = _cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            _, db, values = hit
            attnames = [f.attname for f in model._meta.concrete_fields]
            return model.from_db(db, attnames, values)

    try:
        user = _get(model, options.user_id_field, user_id)
    except (ObjectDoesNotExist, ValueError, TypeError, ValidationError):
        raise TesseraAPIError("user_not_found", status_code=status.HTTP_401_UNAUTHORIZED) from None
    if not getattr(user, "is_active", True):
        raise TesseraAPIError("user_inactive", status_code=status.HTTP_401_UNAUTHORIZED)
    if ttl:
        values = tuple(getattr(user, f.attname) for f in model._meta.concrete_fields)
        _cache[key] = (time.monotonic() + ttl, user._state.db or "default", values)
    return user


def forget_users() -> None:
    """Empties the user cache (on any save or delete of a user, and on settings changes)."""
    _cache.clear()


def forget_lookups() -> None:
    """Forgets the compiled lookups (on settings changes)."""
    # The converter caches on connections are keyed by lookup objects,
    # which are gone from _lookups now; those entries are never used again.
    _lookups.clear()


def _get(model: type[Model], field_name: str, value: object) -> Any:
    """``model._default_manager.get(**{field_name: value})``, through the
    compiled lookup when there is one."""
    manager = model._default_manager
    # The database a QuerySet of this manager reads from, without building one.
    db = manager.db
    key = (model, field_name, db)
    if key not in _lookups:
        _lookups[key] = _compile(model, field_name, db, value)
    lookup = _lookups[key]
    if lookup is None:
        return manager.get(**{field_name: value})
    connection = connections[db]
    # What the ORM's exact lookup does to the value: ValueError, TypeError
    # or ValidationError for one the field cannot hold.
    prepared = lookup.field.get_db_prep_value(
        lookup.field.get_prep_value(value), connection, prepared=True
    )
    if prepared is None:
        return manager.get(**{field_name: value})
    params = list(lookup.params)
    params[lookup.slot] = prepared
    with connection.cursor() as cursor:
        cursor.execute(lookup.sql, params)
        rows = cursor.fetchmany(2)
    if len(rows) != 1:
        # None: DoesNotExist; two: MultipleObjectsReturned. The ORM raises
        # exactly what it would have.
        return manager.get(**{field_name: value})
    compiler, converters = _converters(lookup, connection)
    if converters:
        rows = list(compiler.apply_converters(rows, converters))
    return model.from_db(db, list(lookup.attnames), rows[0])


def _converters(lookup: _Lookup, connection: Any) -> tuple[Any, dict[int, Any]]:
    """The compiler and the column converters of `lookup` on `connection`,
    built once per connection object: asking the backend and every field
    for their converters cost about a third of the whole lookup.

    They are kept on the connection object itself, because they refer to
    it (the compiler, and the backend's converters, hold the connection):
    a registry beside the connections would keep every thread's connection
    alive forever. Django gives each thread its own connection object per
    alias, so each cache is used by one thread."""
    cache: dict[_Lookup, tuple[Any, dict[int, Any]]] | None = connection.__dict__.get(_CONVERTERS)
    if cache is None:
        cache = {}
        setattr(connection, _CONVERTERS, cache)
    found = cache.get(lookup)
    if found is None:
        compiler = lookup.query.get_compiler(connection=connection)
        found = cache[lookup] = (compiler, compiler.get_converters(lookup.columns))
    return found


def _compile(model: type[Model], field_name: str, db: str, value: object) -> _Lookup | None:
    """The compiled lookup, when it is provably the ORM's; else None."""
    try:
        field = model._meta.pk if field_name == "pk" else model._meta.get_field(field_name)
        connection = connections[db]
        prepared = field.get_db_prep_value(field.get_prep_value(value), connection, prepared=True)
    except Exception:  # the ORM will report it, as it always has
        return None
    if prepared is None or not isinstance(field, Field) or field.column is None:
        return None
    # As QuerySet.get() runs it, less the LIMIT that fetchmany(2) stands for.
    queryset = model._default_manager.get_queryset().filter(**{field_name: value}).order_by()
    compiler = queryset.query.get_compiler(using=db)
    try:
        sql, params = compiler.as_sql()
    except Exception:
        return None
    slots = [i for i, p in enumerate(params) if p == prepared and type(p) is type(prepared)]
    klass_info = compiler.klass_info or {}
    fields = klass_info.get("select_fields", [])
    if (
        len(slots) != 1
        or compiler.annotation_col_map
        or klass_info.get("related_klass_infos")
        or not fields
        or fields != list(range(len(compiler.select)))
    ):
        return None
    columns = tuple(compiler.select[i][0] for i in fields)
    attnames = tuple(c.target.attname for c in columns)
    return _Lookup(sql, tuple(params), slots[0], field, attnames, queryset.query, columns)


def user_id_of(user: AbstractBaseUser) -> str | int:
    """The value that identifies `user` in tokens: its ``USER_ID_FIELD``."""
    value = getattr(user, tessera_settings().user_id_field)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return str(value)


def user_body(user: AbstractBaseUser) -> dict[str, Any]:
    """``{"id", "email", "username"}``: the user as the API shows it."""
    email_field = user.get_email_field_name()
    return {
        "id": user_id_of(user),
        "email": getattr(user, email_field, "") or "",
        "username": user.get_username(),
    }
