"""Many rows at once: PostgreSQL's ``COPY`` (through psycopg 3) where the
database is PostgreSQL, Django's ``bulk_create`` elsewhere (SQLite).

A cycle writes a log row for every object and a link for most; at 100,000
users, building an ``INSERT`` with a parameter per column per row costs more
than the database does. ``COPY`` streams the rows instead. Where a row may
already exist (a log row already recorded, a link to update) the rows are
copied into a scratch table first and moved with one ``INSERT … ON CONFLICT``
(rows expected to be new are first tried as a plain ``COPY``, see
:func:`_copied_if_new`).
Either way all the rows land or none do (a savepoint inside the caller's
transaction), and an error is Django's own.

Rows come as unsaved model instances or, where a cycle writes many, as plain
dicts of column values keyed by field ``attname`` (``job_id``, not ``job``):
building a model instance costs more than copying its row. A dict leaves out
what the model's defaults fill in.
"""

from __future__ import annotations

import functools
import itertools
import json
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence

import orjson
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from .batching import chunked

BULK = 2000
_scratch = itertools.count()


@functools.cache
def _fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    """The columns an insert writes: every concrete one except an automatic primary key."""
    return tuple(f for f in model._meta.concrete_fields if not (f.primary_key and isinstance(f, models.AutoField)))


def _converters(fields: Sequence[models.Field]) -> list:
    """For each column, how an instance's value becomes what COPY sends, decided once per call: plain
    values as they are, JSON as its text, automatic dates as now, anything else as Django prepares it."""
    now = timezone.now()
    # these exact classes (not subclasses, which may prepare values their own way) send values as they are
    plain = {models.CharField, models.TextField, models.IntegerField, models.PositiveIntegerField,
             models.PositiveSmallIntegerField, models.BooleanField, models.UUIDField, models.FloatField}
    converters = []
    for f in fields:
        attname = f.attname
        if isinstance(f, models.DateTimeField) and (f.auto_now or f.auto_now_add):
            converters.append(lambda obj, attname=attname: _stamped(obj, attname, now))
        elif isinstance(f, models.JSONField):
            converters.append(lambda obj, attname=attname, f=f: _json(getattr(obj, attname), f))
        elif type(f) in plain or (isinstance(f, models.ForeignKey) and type(f.target_field) in plain | {
                models.AutoField, models.BigAutoField}):
            converters.append(operator.attrgetter(attname))
        else:
            converters.append(lambda obj, f=f: f.get_db_prep_save(f.pre_save(obj, add=True), connection))
    return converters


def _stamped(obj: models.Model, attname: str, now):
    """An automatic date, set on the instance as ``save()`` would."""
    setattr(obj, attname, now)
    return now


def _json(value, f: models.JSONField):
    if value is None and f.null:
        return None
    if f.encoder is None:
        # orjson writes the same JSON as json.dumps, several times faster (a cycle's log rows are mostly JSON)
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    return json.dumps(value, cls=f.encoder)


def _value_converters(fields: Sequence[models.Field]) -> list:
    """For each column, how a plain row (a dict by attname) gives what COPY sends: its value (psycopg adapts
    strings, numbers, UUIDs and aware datetimes itself), JSON as its text, a missing value as the field's
    default, an automatic date as now."""
    now = timezone.now()
    converters = []
    for f in fields:
        attname = f.attname
        if isinstance(f, models.DateTimeField) and (f.auto_now or f.auto_now_add):
            converters.append(lambda row, attname=attname: row.get(attname) or now)
        elif isinstance(f, models.JSONField):
            default = f.get_default()
            converters.append(lambda row, attname=attname, f=f, default=default: _json(row.get(attname, default), f))
        else:  # what a model instance would hold: the field's default, else "" or None
            default = f.get_default()
            converters.append(lambda row, attname=attname, default=default: row.get(attname, default))
    return converters


def _rows(objs: Sequence, fields: Sequence[models.Field]) -> Iterator[list]:
    if not objs:
        return
    converters = _value_converters(fields) if isinstance(objs[0], Mapping) else _converters(fields)
    for obj in objs:
        yield [convert(obj) for convert in converters]


def _instances(model: type[models.Model], objs: list) -> list[models.Model]:
    """Model instances for these rows (Django's bulk_create wants instances)."""
    return [model(**obj) if isinstance(obj, Mapping) else obj for obj in objs]


def _copy(table: str, columns: Sequence[str], rows: Iterable[list]) -> None:
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    # psycopg's own errors become Django's (IntegrityError, OperationalError, ...), as for any query
    statement = f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN"
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _through_scratch(model: type[models.Model], objs: list, conflict: str) -> None:
    """Copy rows into a scratch table shaped like the model's, then move them with one statement
    ending in ``conflict`` (an ``ON CONFLICT`` clause)."""
    fields = _fields(model)
    columns = [f.column for f in fields]
    table = model._meta.db_table
    scratch = f"bulk_{table}_{next(_scratch)}"
    quote = connection.ops.quote_name
    quoted = ", ".join(quote(c) for c in columns)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE {quote(scratch)} AS SELECT {quoted} FROM {quote(table)} "
                           f"WITH NO DATA")
        _copy(scratch, columns, _rows(objs, fields))
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {quote(table)} ({quoted}) SELECT {quoted} FROM {quote(scratch)} {conflict}")
            cursor.execute(f"DROP TABLE {quote(scratch)}")


def _copied_if_new(model: type[models.Model], objs: list) -> bool:
    """Copy the rows straight into the table if none of them breaks a unique constraint (all or none, in a
    savepoint); False if one does, and nothing was written. For rows that are almost always new (a cycle's log
    rows, the links of the accounts it created), this spares PostgreSQL the scratch table: a second copy of
    every row, and a table created and dropped per batch."""
    fields = _fields(model)
    try:
        with transaction.atomic():
            _copy(model._meta.db_table, [f.column for f in fields], _rows(objs, fields))
    except IntegrityError:
        return False
    return True


def _bulk_create(model: type[models.Model], objs: list, **options) -> None:
    """Elsewhere than PostgreSQL: Django's bulk_create, in batches, all or none."""
    objs = _instances(model, objs)
    with transaction.atomic():
        for batch in chunked(objs, BULK):
            model.objects.bulk_create(batch, **options)


def insert_rows(model: type[models.Model], objs: Iterable, *, ignore_conflicts: bool = False) -> None:
    """Insert these unsaved model instances or plain rows (primary keys are not read back). With
    ``ignore_conflicts``, rows that would break a unique constraint are left out, as
    ``bulk_create(ignore_conflicts=True)`` does."""
    objs = list(objs)
    if not objs:
        return
    if connection.vendor != "postgresql":
        _bulk_create(model, objs, ignore_conflicts=ignore_conflicts)
        return
    if ignore_conflicts:
        if not _copied_if_new(model, objs):
            _through_scratch(model, objs, "ON CONFLICT DO NOTHING")
        return
    fields = _fields(model)
    with transaction.atomic():
        _copy(model._meta.db_table, [f.column for f in fields], _rows(objs, fields))


def upsert_rows(model: type[models.Model], objs: Iterable, *, unique_fields: Sequence[str],
                update_fields: Sequence[str], likely_new: bool = False) -> None:
    """Insert these instances or plain rows, or update ``update_fields`` of the row already holding the same
    ``unique_fields``, as ``bulk_create(update_conflicts=True, ...)`` does. ``likely_new``: the caller expects
    none of the rows to exist yet (they are tried as a plain insert first)."""
    objs = list(objs)
    if not objs:
        return
    if likely_new and connection.vendor == "postgresql" and _copied_if_new(model, objs):
        return
    if connection.vendor != "postgresql":
        _bulk_create(model, objs, update_conflicts=True, unique_fields=unique_fields, update_fields=update_fields)
        return
    quote = connection.ops.quote_name
    meta = model._meta
    unique = ", ".join(quote(meta.get_field(name).column) for name in unique_fields)
    updates = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in (meta.get_field(n).column for n in update_fields))
    _through_scratch(model, objs, f"ON CONFLICT ({unique}) DO UPDATE SET {updates}")


def delete_rows(model: type[models.Model], field: str, values: Iterable, **equal) -> None:
    """Delete the rows whose ``field`` is one of ``values`` (and whose other fields equal ``equal``),
    without Django's cascade collector: only for models nothing points at. On PostgreSQL the values go
    as one array parameter rather than one parameter each."""
    values = list(dict.fromkeys(values))
    if not values:
        return
    if connection.vendor != "postgresql":
        for chunk in chunked(values, BULK):
            model.objects.filter(**{f"{field}__in": chunk}, **equal).delete()
        return
    meta, quote = model._meta, connection.ops.quote_name
    target = meta.get_field(field)
    conditions, params = [], []
    for name, value in equal.items():
        f = meta.get_field(name)
        conditions.append(f"{quote(f.column)} = %s")
        params.append(value.pk if isinstance(value, models.Model) else value)
    conditions.append(f"{quote(target.column)} = ANY(%s::{target.db_type(connection)}[])")
    params.append([str(v) for v in values])
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {quote(meta.db_table)} WHERE {' AND '.join(conditions)}", params)
