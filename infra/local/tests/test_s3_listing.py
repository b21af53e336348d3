"""s3_listing.py's ListObjectVersions and ListObjectsV2 answer what moto's own answer, page for
page, on buckets with several versions of a key, delete markers, prefixes and delimiters; and
each bucket's sorted key names stay true as keys are added and removed."""

from __future__ import annotations

import datetime
import itertools
import random
from typing import Any

import pytest
from moto.s3.models import FakeDeleteMarker, S3Backend

from bulwark_local import s3_listing
from conftest import unique

ACCOUNT = "111122223333"
KEYS = [
    "a", "a/1", "a/2", "a/b/1", "a/b/2", "a/c", "ab", "b", "b/x", "b/y/z", "c/", "c//d", "d-1", "d/1", "d/2",
    "e", "log/2026/01/x", "log/2026/02/y", "log/2027/z", "z", "zz/top",
]


def _backend(versioned: bool) -> tuple[S3Backend, str]:
    s3_listing.install()
    s3 = S3Backend("us-east-1", ACCOUNT)
    name = unique(f"listing-{'v' if versioned else 'u'}")
    s3.create_bucket(name, "us-east-1")
    if versioned:
        s3.put_bucket_versioning(name, "Enabled")
    rng = random.Random(7)
    order = KEYS[:]
    rng.shuffle(order)  # out of order: the sorted names are rebuilt, not appended
    clock = datetime.datetime(2026, 1, 1)
    for round_ in range(3):
        for key in order:
            if round_ and rng.random() < 0.5:
                continue
            obj = s3.put_object(name, key, f"{key}-{round_}".encode())
            clock += datetime.timedelta(seconds=1)
            obj.last_modified = clock
        if versioned:
            for key in rng.sample(order, 5):  # delete markers, some then overwritten
                s3.delete_object(name, key)
                clock += datetime.timedelta(seconds=1)
                s3.get_bucket(name).keys.getlist(key)[-1].last_modified = clock
    if versioned:  # a version written in the same millisecond as the key's previous one
        tie = s3.put_object(name, "e", b"tie")
        tie.last_modified = s3.get_bucket(name).keys.getlist("e")[-2].last_modified
        gone = s3.get_bucket(name).keys.getlist("b")[0].version_id
        s3.delete_object(name, "b", version_id=gone)  # a version removed by its id
    else:
        s3.delete_object(name, "d-1")
    return s3, name


def _version_page(answer: tuple[Any, ...]) -> tuple[Any, ...]:
    versions, prefixes, markers, next_key, next_version = answer
    shown = lambda v: (v.name, v.version_id, getattr(v, "is_latest", None), isinstance(getattr(v, "version", v), FakeDeleteMarker))  # noqa: E731
    return [shown(v) for v in versions], prefixes, [shown(m) for m in markers], next_key, next_version


def _all_version_pages(list_: Any, s3: S3Backend, bucket: str, **kwargs: Any) -> list[tuple[Any, ...]]:
    pages, key_marker, version_marker = [], kwargs.pop("key_marker", None), kwargs.pop("version_id_marker", None)
    for _ in range(200):
        page = _version_page(list_(s3, bucket, key_marker=key_marker, version_id_marker=version_marker, **kwargs))
        pages.append(page)
        if page[3] is None:
            return pages
        key_marker, version_marker = page[3], page[4]
    raise AssertionError("the listing did not end")


CASES = [
    dict(prefix=prefix, delimiter=delimiter, max_keys=max_keys)
    for prefix, delimiter, max_keys in itertools.product(["", "a", "a/", "log/", "log/2026/", "c", "nothing"], [None, "/", "-"], [1, 2, 3, 7, 1000])
]


@pytest.mark.parametrize("versioned", [True, False])
def test_every_page_of_list_object_versions_is_moto_s(versioned: bool) -> None:
    s3, bucket = _backend(versioned)
    original = s3_listing._original_list_object_versions
    for case in CASES:
        want = _all_version_pages(original, s3, bucket, **case)
        assert _all_version_pages(s3_listing.list_object_versions, s3, bucket, **case) == want, case
    for key_marker in ["", "a/1", "a/b", "b", "log/2026/01/x", "zz/top", "zzz"]:  # a key marker alone
        for case in CASES[::4]:
            want = _version_page(original(s3, bucket, key_marker=key_marker or None, **case))
            assert _version_page(s3_listing.list_object_versions(s3, bucket, key_marker=key_marker or None, **case)) == want


def test_list_object_versions_orders_by_key_then_newest_first() -> None:
    s3, bucket = _backend(True)
    pages = _all_version_pages(s3_listing.list_object_versions, s3, bucket, max_keys=4)
    listed = [v for page in pages for v in sorted(page[0] + page[2], key=lambda v: v[0])]
    assert [v[0] for v in listed] == sorted(v[0] for v in listed)
    latest = [v[0] for v in listed if v[2]]
    assert len(latest) == len(set(latest)) == len(s3.get_bucket(bucket).keys)
    assert all(page[3] is not None for page in pages[:-1]) and pages[-1][3] is None


def _object_page(answer: tuple[Any, ...]) -> tuple[Any, ...]:
    entries, truncated, token = answer
    return [(e.name, e.version_id) if not isinstance(e, str) else e for e in entries], truncated, token


def _all_object_pages(list_: Any, s3: S3Backend, bucket: str, prefix: str, delimiter: str | None, max_keys: int, start_after: str | None) -> list[Any]:
    pages, token = [], None
    for _ in range(200):
        page = _object_page(list_(s3, s3.get_bucket(bucket), prefix, delimiter, token, start_after, max_keys))
        pages.append(page)
        if not page[1]:
            return pages
        token = page[2]
    raise AssertionError("the listing did not end")


@pytest.mark.parametrize("versioned", [True, False])
def test_every_page_of_list_objects_v2_is_moto_s(versioned: bool) -> None:
    s3, bucket = _backend(versioned)
    original = s3_listing._original_list_objects_v2
    for case in CASES:
        for start_after in [None, "a/", "a/b/1", "c", "log/2026/", "zz"]:
            args = (case["prefix"], case["delimiter"], case["max_keys"], start_after)
            want = _all_object_pages(original, s3, bucket, *args)
            assert _all_object_pages(s3_listing.list_objects_v2, s3, bucket, *args) == want, args
    assert _object_page(s3_listing.list_objects_v2(s3, s3.get_bucket(bucket), "", None, None, None, 0)) == ([], False, None)


def test_the_sorted_names_follow_every_change_to_a_bucket() -> None:
    s3, bucket = _backend(True)
    store = s3.get_bucket(bucket).keys
    assert s3_listing.sorted_names(store) == sorted(store.keys())
    s3.put_object(bucket, "zzzz", b"appended in order")  # appended: the names are kept
    assert store.__dict__[s3_listing._SORTED] == sorted(store.keys())
    s3.put_object(bucket, "0-first", b"out of order")  # rebuilt at the next listing
    for version in list(store.getlist("a")):
        s3.delete_object(bucket, "a", version_id=version.version_id)  # the key goes
    store.pop("b")
    del store["ab"]
    assert s3_listing.sorted_names(store) == sorted(store.keys())
    assert "a" not in s3_listing.sorted_names(store) and "0-first" in s3_listing.sorted_names(store)
