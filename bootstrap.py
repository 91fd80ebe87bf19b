"""Prepare bin/buildout for the Python that runs this script.

    python3 bootstrap.py        -> bin/buildout       (buildout.cfg)
    python2.7 bootstrap.py      -> py27/bin/buildout  (buildout-2.x.cfg)

Without -c the configuration that fits the running interpreter is used;
``-c CONFIG`` picks another.

The classic bootstrap.py downloads ez_setup from a host that no longer
answers.  Instead we let this interpreter's own pip install the zc.buildout
pinned in the configuration's [versions] into a directory inside the
checkout, and run buildout's own ``bootstrap`` command from there.  That
directory has to stay: bin/buildout imports zc.buildout from it.
"""
import os
import subprocess
import sys

try:
    from configparser import RawConfigParser
except ImportError:  # Python 2.7
    from ConfigParser import RawConfigParser

HERE = os.path.dirname(os.path.abspath(__file__))


def read_config(path):
    """Return (buildout options, version pins), following ``extends``."""
    parser = RawConfigParser()
    parser.optionxform = str  # distribution names are case-sensitive here
    parser.read(path)
    options, pins = {}, {}
    if parser.has_option('buildout', 'extends'):
        for parent in parser.get('buildout', 'extends').split():
            parent_options, parent_pins = read_config(
                os.path.join(os.path.dirname(path), parent))
            options.update(parent_options)
            pins.update(parent_pins)
    if parser.has_section('buildout'):
        options.update(parser.items('buildout'))
    if parser.has_section('versions'):
        pins.update(parser.items('versions'))
    return options, pins


def default_config():
    """Ours for this interpreter: Python 2.7 needs its own pins."""
    return 'buildout-2.x.cfg' if sys.version_info[0] == 2 else 'buildout.cfg'


def main(argv):
    config = default_config()
    if argv[:1] == ['-c'] and len(argv) == 2:
        config = argv[1]
    elif argv:
        sys.exit('usage: bootstrap.py [-c CONFIG]')
    config = os.path.join(HERE, config)
    options, pins = read_config(config)
    # Where the config puts its bin/, the bootstrap eggs go beside it.
    bin_dir = options.get('bin-directory', 'bin')
    target = os.path.join(HERE, os.path.dirname(bin_dir.rstrip('/')),
                          'bootstrap-eggs')
    constraints = os.path.join(target + '.constraints.txt')
    if not os.path.isdir(os.path.dirname(constraints)):
        os.makedirs(os.path.dirname(constraints))
    with open(constraints, 'w') as out:
        for name, version in sorted(pins.items()):
            out.write('%s==%s\n' % (name, version))
    quiet_pip = dict(os.environ, PIP_ROOT_USER_ACTION='ignore')
    subprocess.check_call([
        sys.executable, '-m', 'pip', 'install', '--quiet',
        '--disable-pip-version-check', '--no-warn-script-location',
        '--upgrade', '--target', target, '-c', constraints, 'zc.buildout'],
        env=quiet_pip)
    if sys.version_info[0] == 2:
        # pip --target skips the .pth file that makes ``zc`` a namespace.
        with open(os.path.join(target, 'zc', '__init__.py'), 'w') as init:
            init.write("__import__('pkg_resources')"
                       ".declare_namespace(__name__)\n")
    sys.path.insert(0, target)
    import zc.buildout.buildout
    zc.buildout.buildout.main(['-q', '-c', config, 'bootstrap'])
    buildout = os.path.join(os.path.relpath(os.path.join(HERE, bin_dir)),
                            'buildout')
    print('Now run: %s%s  (the plugin and the tests land in %s)' % (
        buildout, '' if os.path.basename(config) == 'buildout.cfg'
        else ' -c ' + os.path.relpath(config), os.path.dirname(buildout)))


if __name__ == '__main__':
    main(sys.argv[1:])
