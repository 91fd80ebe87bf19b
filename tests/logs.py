"""Server log entries as PostgreSQL writes them, for tests to append to files."""
import json

PREFIX = '2026-11-26 03:24:%02d.564 UTC [%d] '


def cancel(table='abc-hans.public.object_state', action='vacuum', second=23,
           pid=9201):
    prefix = PREFIX % (second, pid)
    return (prefix + 'ERROR:  canceling autovacuum task\n' +
            prefix + 'CONTEXT:  while scanning block 0 of relation '
            '"public.%s"\n\tautomatic %s of table "%s"\n'
            % (table.split('.')[-1], action, table))


def statement(text, second=24, pid=9300):
    return (PREFIX % (second, pid)) + 'app@abc-hans LOG:  statement: %s\n' % text


def skip(table='object_state', second=25, pid=9202):
    return (PREFIX % (second, pid)) + (
        'LOG:  skipping vacuum of "%s" --- lock not available\n' % table)


def csv_cancel(table='abc-hans.public.object_state', backend_type='autovacuum worker',
               message='canceling autovacuum task'):
    context = 'automatic vacuum of table ""%s""' % table
    return ('2026-11-26 03:24:23.564 UTC,,,9201,,6745a1b0.23f1,1,,'
            '2026-11-26 03:24:20 UTC,3/12,0,ERROR,57014,"%s",,,,,"%s",,,,"",'
            '%s,,0\n' % (message, context, backend_type))


def json_cancel(table='abc-hans.public.object_state', message='canceling autovacuum task'):
    return json.dumps({
        'timestamp': '2026-11-26 03:24:23.564 UTC', 'pid': 9201,
        'error_severity': 'ERROR', 'state_code': '57014', 'message': message,
        'context': 'automatic vacuum of table "%s"' % table,
        'backend_type': 'autovacuum worker'}) + '\n'


def append(path, text):
    with open(str(path), 'ab') as log:
        log.write(text.encode('utf-8') if not isinstance(text, bytes) else text)
