"""The Icinga 2 CheckCommand's arguments, made from the plugin's own options.

contrib/icinga2/pg_autovacuum.conf holds them between two markers;
``make contrib`` writes them there and a test fails when they differ, so an
option cannot be added, renamed or redescribed in one place only.  Each
option's custom variable is pg_autovacuum_<its dest>: a host or service sets
vars.pg_autovacuum_idle_warning for --idle-warning.
"""
from __future__ import unicode_literals

import argparse
import re

BEGIN = '    // arguments: generated from --help by make contrib\n'
END = '    // arguments: end\n'
# The Monitoring Plugins' reserved options keep their short form.
SHORT = ('-H', '-p', '-U', '-d', '-t', '-v')


def arguments(parser):
    """The arguments = { ... } entries, one per option of PARSER."""
    entries = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            continue
        option = ([o for o in action.option_strings if o in SHORT] or
                  [o for o in action.option_strings if o.startswith('--')])[0]
        variable = '$pg_autovacuum_%s$' % action.dest
        switch = action.nargs == 0  # store_true, count: present or not
        entries.append('    "%s" = {\n      %s = "%s"\n      description = '
                       '"%s"\n    }\n' % (option, 'set_if' if switch else 'value',
                                          variable, _quoted(_help(action))))
    return ''.join(entries)


def _help(action):
    text = (action.help or '') % dict(vars(action), default=action.default)
    return ' '.join(text.split())


def _quoted(text):
    return text.replace('\\', '\\\\').replace('"', '\\"')


def with_arguments(config, parser):
    """CONFIG, the text of the .conf, with its generated part made anew."""
    pattern = re.escape(BEGIN) + '.*?' + re.escape(END)
    if not re.search(pattern, config, re.S):
        raise ValueError('no "%s" marker in the configuration' % BEGIN.strip())
    return re.sub(pattern, lambda match: BEGIN + arguments(parser) + END,
                  config, flags=re.S)
