# -*- coding: utf-8 -*-
"""Each finding in one place: the registry's contract with its modules."""
from __future__ import unicode_literals

import inspect
import re

from check_pg_autovacuum import cli
from check_pg_autovacuum.findings import NAMES, REGISTRY


def test_each_finding_is_named_as_its_module_and_declares_itself():
    for finding in REGISTRY:
        assert finding.__name__.rsplit('.', 1)[1] == finding.NAME
        assert finding.SUMMARY.startswith('  %s ' % finding.NAME)
        assert finding.PERFDATA and finding.PRIORITY
        assert callable(finding.add_options) and callable(finding.build)


def test_no_finding_imports_another():
    for finding in REGISTRY:
        source = inspect.getsource(finding)
        imported = re.findall(r'^from \.(\w*) import|^from \. import (.*)$',
                              source, re.M)
        named = set(name for pair in imported for name in pair if name)
        assert not named & set(NAMES), (finding.NAME, named & set(NAMES))


def test_help_lists_every_finding_its_options_and_perfdata():
    text = cli.make_parser().format_help()
    for finding in REGISTRY:
        assert finding.SUMMARY.strip() in text, finding.NAME
        for label, _ in finding.PERFDATA:
            assert re.search(r'^  %s ' % label, text, re.M), label
    assert 'comma-separated: %s)' % ', '.join(NAMES) in ' '.join(text.split())
