"""Durations and ranges of durations, as the threshold options take them."""
import pytest

from check_pg_autovacuum.durations import (
    format_duration, parse_duration, parse_range)


@pytest.mark.parametrize('text, seconds', [
    ('90', 90), ('90s', 90), ('15m', 900), ('2h', 7200), ('1d', 86400),
    ('1w', 604800), ('1h30m', 5400), ('1.5d', 129600), (' 5M ', 300),
    ('0.5', 0.5)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


def test_whole_durations_are_ints_so_perfdata_shows_no_dot_zero():
    assert isinstance(parse_duration('1.5m'), int)


@pytest.mark.parametrize('text', ['', 'm', '1x', '-5', '1h30', '1 h', 'abc',
                                  '15 minutes'])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize('text, spec', [
    ('15m', '900'), ('@1h:2h', '@3600:7200'), ('~:1h', '~:3600'),
    ('10m:', '600:'), ('0', '0')])
def test_parse_range(text, spec):
    assert str(parse_range(text)) == spec


@pytest.mark.parametrize('text', ['1h:30m', ':', '@', 'x:1h'])
def test_parse_range_rejects(text):
    with pytest.raises(ValueError):
        parse_range(text)


def test_range_judges_seconds():
    critical = parse_range('1h')
    assert critical.match(3600) and not critical.match(3601)


@pytest.mark.parametrize('seconds, text', [
    (0, '0s'), (59, '59s'), (60, '1m'), (303, '5m3s'), (3600, '1h'),
    (42380, '11h46m'), (86400, '1d'), (273605, '3d4h'), (59.9, '59s')])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text
