#!/usr/bin/env python3
"""Fails when a library includes a header of a library it does not depend on.

The dependencies are CMake's own: every add_library/add_executable under the folders checked,
with its sources (headers listed too), and its target_link_libraries. An include is allowed when
its header belongs to the including target itself, to a target it links, or to a target those
link PUBLIC or INTERFACE (what CMake propagates). Includes are written from the source root
("service/ring/ring_log.h"); "ringlog/…" is the client's include folder; "ringlog-dbus/…" is the
generated D-Bus glue (ringlog-dbus-glue).

usage: check_includes.py SOURCE_ROOT [FOLDER …]   (default folders: client service drivers)
"""
import os
import re
import sys

COMMAND = re.compile(r'\b(add_library|add_executable|target_link_libraries)\s*\(([^)]*)\)', re.S)
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
KINDS = {'STATIC', 'SHARED', 'INTERFACE', 'OBJECT', 'MODULE'}
SCOPES = {'PUBLIC', 'PRIVATE', 'INTERFACE'}
GENERATED = {'ringlog-dbus/': 'ringlog-dbus-glue'}


def read_targets(root, folders):
    owner = {}     # file (relative to root) -> target
    links = {}     # target -> [(scope, dependency)]
    checked = set()
    for top in folders:
        for folder, _, files in os.walk(os.path.join(root, top)):
            if 'CMakeLists.txt' not in files:
                continue
            text = re.sub(r'#[^\n]*', '', open(os.path.join(folder, 'CMakeLists.txt')).read())
            for command, args in COMMAND.findall(text):
                words = args.split()
                name, rest = words[0], words[1:]
                if command == 'target_link_libraries':
                    scope = 'PUBLIC'
                    for w in rest:
                        if w in SCOPES:
                            scope = w
                        else:
                            links.setdefault(name, []).append((scope, w))
                    continue
                checked.add(name)
                links.setdefault(name, [])
                for w in rest:
                    if w in KINDS or w.startswith('$') or not re.search(r'\.(c|cpp|h)$', w):
                        continue
                    path = os.path.relpath(os.path.join(folder, w), root)
                    owner[path] = name
    return owner, links, checked


def visible(target, links):
    """What `target` may include: itself, its links, and what they pass on."""
    seen = {target}
    todo = [d for _, d in links.get(target, [])]
    while todo:
        dep = todo.pop()
        if dep in seen:
            continue
        seen.add(dep)
        todo += [d for scope, d in links.get(dep, []) if scope in ('PUBLIC', 'INTERFACE')]
    return seen


def main():
    root = os.path.abspath(sys.argv[1])
    folders = sys.argv[2:] or ['client', 'service', 'drivers']
    owner, links, checked = read_targets(root, folders)
    problems = []
    for path, target in sorted(owner.items()):
        if target not in checked:
            continue
        allowed = visible(target, links)
        text = open(os.path.join(root, path), errors='replace').read()
        for name in INCLUDE.findall(text):
            generated = next((t for p, t in GENERATED.items() if name.startswith(p)), None)
            candidates = [name, os.path.join('client/include', name),
                          os.path.join(os.path.dirname(path), name)]
            found = next((os.path.normpath(c) for c in candidates
                          if os.path.isfile(os.path.join(root, c))), None)
            header_owner = generated or (owner.get(found) if found else None)
            if header_owner is None:
                problems.append(f'{path}: includes "{name}", which is in no library'
                                + ('' if found else ' (not found from the source root)'))
            elif header_owner not in allowed:
                problems.append(f'{path} ({target}): includes "{name}" of {header_owner}, '
                                f'which {target} does not link')
    for p in problems:
        print(p)
    print(f'{len(owner)} files of {len(checked)} targets checked: '
          f'{len(problems)} includes across a boundary')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
