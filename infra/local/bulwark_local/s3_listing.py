"""S3 listings that cost a page, not the bucket: ListObjectVersions and ListObjectsV2 at 1M keys.

AWS serves a listing a page at a time and "List performance is not substantially affected by
the total number of keys in your bucket" (the AWS SDK for .NET's ListVersions reference). moto
5.2 answers every ListObjectVersions page by deep-copying every version of every key in the
bucket and sorting them all, and every ListObjectsV2 page by sorting every key: over 1,000,000
keys a page takes over a minute and a listing's 1,000 pages a day.

Here each bucket's key store keeps its key names sorted: built at the first listing after a
key was added out of order, kept as keys are removed and as keys are appended in order (what a
bulk load does). A page bisects to its marker and reads only as far as it needs. The answers
are moto's, element for element (tests/test_s3_listing.py compares the two over every page of
buckets with versions, delete markers, prefixes and delimiters), quirks included:

- versions of one key are ordered newest first by their LastModified in milliseconds, and
  versions written in the same millisecond keep the order they were written in (oldest first);
- a KeyMarker given without a VersionIdMarker drops the first version at or after it;
- ListObjectsV2 rolls a key whose current version is a delete marker into a CommonPrefix;
- a ContinuationToken this server never issued is left to moto (which fails it).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from typing import Any

from moto.core.utils import unix_time_millis
from moto.s3.models import FakeDeleteMarker, FakeKey, FakeTableStorageBucket, S3Backend
from moto.s3.utils import _VersionedKeyStore

_SORTED = "_bulwark_sorted_names"  # the store's key names in order, or None: to be rebuilt
_original_list_object_versions = S3Backend.list_object_versions
_original_list_objects_v2 = S3Backend.list_objects_v2


def sorted_names(store: _VersionedKeyStore) -> list[str]:
    """The store's key names in order (rebuilt once after an out-of-order insertion)."""
    names = store.__dict__.get(_SORTED)
    if names is None:
        names = sorted(dict.keys(store))
        store.__dict__[_SORTED] = names
    return names


def _adding(store: _VersionedKeyStore, name: str) -> None:
    names = store.__dict__.get(_SORTED)
    if names is None or dict.__contains__(store, name):
        return
    if not names or name > names[-1]:
        names.append(name)
    else:
        store.__dict__[_SORTED] = None


def _removed(store: _VersionedKeyStore, name: str) -> None:
    names = store.__dict__.get(_SORTED)
    if names is None or dict.__contains__(store, name):
        return
    at = bisect_left(names, name)
    if at < len(names) and names[at] == name:
        del names[at]


def _forget(store: _VersionedKeyStore) -> None:
    store.__dict__[_SORTED] = None


def _keeping_order() -> None:
    """Wrap every way moto changes a bucket's key store so that its sorted names stay true."""
    cls = _VersionedKeyStore

    def adds(method: Any) -> Any:
        def wrapped(self: Any, key: str, *args: Any, **kwargs: Any) -> Any:
            _adding(self, key)
            return method(self, key, *args, **kwargs)

        return wrapped

    def removes(method: Any) -> Any:
        def wrapped(self: Any, key: str, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, key, *args, **kwargs)
            finally:
                _removed(self, key)

        return wrapped

    def forgets(method: Any) -> Any:
        def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
            _forget(self)
            return method(self, *args, **kwargs)

        return wrapped

    cls.__setitem__ = adds(cls.__setitem__)  # type: ignore[method-assign]
    cls.setlist = adds(cls.setlist)  # type: ignore[method-assign]
    cls.pop = removes(cls.pop)  # type: ignore[method-assign]
    cls.__delitem__ = removes(dict.__delitem__)  # type: ignore[method-assign,assignment]
    for name in ("clear", "update", "setdefault", "popitem"):
        setattr(cls, name, forgets(getattr(dict, name)))


class _Listed:
    """A stored version as one listing shows it: whether it is its key's latest is the
    listing's to say (moto deep-copied every version to set it), the rest is the version's."""

    __slots__ = ("version", "is_latest")

    def __init__(self, version: Any, is_latest: bool) -> None:
        self.version = version
        self.is_latest = is_latest

    def __getattr__(self, name: str) -> Any:
        return getattr(self.version, name)


def _versions_from(store: _VersionedKeyStore, start: str, prefix: str) -> Iterator[tuple[Any, bool]]:
    """(version, is it its key's latest) of every key from `start` on, in moto's order, until
    the keys no longer begin with `prefix`."""
    names = sorted_names(store)
    at = bisect_left(names, start)
    while at < len(names):
        name = names[at]
        at += 1
        if prefix and name > prefix and not name.startswith(prefix):
            return
        versions = dict.get(store, name) or []
        # moto's order: newest first by the millisecond, ties as written (a stable sort)
        for n, version in enumerate(sorted(versions, key=lambda v: -unix_time_millis(v.last_modified))):
            yield version, n == 0


def list_object_versions(
    self: S3Backend,
    bucket_name: str,
    delimiter: str | None = None,
    key_marker: str | None = None,
    max_keys: int | None = 1000,
    prefix: str = "",
    version_id_marker: str | None = None,
) -> tuple[list[Any], list[str], list[Any], str | None, str | None]:
    """moto's ListObjectVersions, its loop unchanged, reading from the page's first key on."""
    bucket = self.get_bucket(bucket_name)
    prefix = prefix or ""
    common_prefixes: set[str] = set()
    requested_versions: list[Any] = []
    delete_markers: list[Any] = []
    next_key_marker: str | None = None
    next_version_id_marker: str | None = None
    last_item_added: Any = None
    skip_versions = True
    start = key_marker if key_marker is not None else prefix
    for stored, is_latest in _versions_from(bucket.keys, start, prefix):
        version = _Listed(stored, is_latest)
        name = stored.name
        if skip_versions:
            if key_marker is None:
                skip_versions = False
            elif not version_id_marker:
                skip_versions = name < key_marker
                continue
            elif name == key_marker and stored.version_id == version_id_marker:
                skip_versions = False
                continue
            else:
                continue
        if not name.startswith(prefix):
            continue
        is_common_prefix = False
        if delimiter and delimiter in name[len(prefix):]:
            end_of_delimiter = len(prefix) + name[len(prefix):].index(delimiter) + len(delimiter)
            prefix_including_delimiter = name[0:end_of_delimiter]
            if prefix_including_delimiter == key_marker:
                continue
            common_prefixes.add(prefix_including_delimiter)
            name = prefix_including_delimiter
            is_common_prefix = True
        elif last_item_added:
            name = last_item_added.name
        if max_keys is not None and len(requested_versions) + len(delete_markers) + len(common_prefixes) >= max_keys:
            next_key_marker = name
            if is_common_prefix:
                next_version_id_marker = None
            elif last_item_added is not None:
                next_version_id_marker = last_item_added.version_id
            else:
                next_version_id_marker = None
            break
        if not is_common_prefix:
            last_item_added = version
            if not isinstance(stored, FakeKey):
                delete_markers.append(version)
            else:
                requested_versions.append(version)
    return requested_versions, sorted(common_prefixes), delete_markers, next_key_marker, next_version_id_marker


def list_objects_v2(
    self: S3Backend,
    bucket: Any,
    prefix: str | None,
    delimiter: str | None,
    continuation_token: str | None,
    start_after: str | None,
    max_keys: int,
) -> tuple[list[Any], bool, str | None]:
    """moto's ListObjectsV2 (keys and common prefixes merged in order, after the token, cut at
    MaxKeys), reading from the first key after the token until the page is full."""
    if isinstance(bucket, FakeTableStorageBucket) or (continuation_token and continuation_token not in self._pagination_tokens):
        return _original_list_objects_v2(self, bucket, prefix, delimiter, continuation_token, start_after, max_keys)
    after = self._pagination_tokens[continuation_token] if continuation_token else (start_after or None)
    if max_keys == 0:
        return self._truncate_result([], max_keys)  # type: ignore[no-any-return]
    prefix = prefix or ""
    store = bucket.keys
    names = sorted_names(store)
    at = max(bisect_left(names, prefix), bisect_right(names, after) if after is not None else 0)
    entries: list[Any] = []
    last_folder = None
    while at < len(names) and len(entries) <= max_keys:
        name = names[at]
        at += 1
        if not name.startswith(prefix):
            if name > prefix:
                break
            continue
        rest = name[len(prefix):]
        if delimiter and delimiter in rest:
            # moto rolls a key into its common prefix before it drops delete markers
            folder = f"{prefix}{rest.split(delimiter)[0]}{delimiter}"
            if folder != last_folder and (after is None or folder > after):
                entries.append(folder)
            last_folder = folder
            continue
        versions = dict.get(store, name)
        if versions and not isinstance(versions[-1], FakeDeleteMarker):
            entries.append(versions[-1])
    return self._truncate_result(entries, max_keys)  # type: ignore[no-any-return]


def install() -> None:
    if getattr(S3Backend, "_bulwark_listing", False):
        return
    _keeping_order()
    S3Backend.list_object_versions = list_object_versions  # type: ignore[method-assign,assignment]
    S3Backend.list_objects_v2 = list_objects_v2  # type: ignore[method-assign,assignment]
    S3Backend._bulwark_listing = True  # type: ignore[attr-defined]
