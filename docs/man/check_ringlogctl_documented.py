#!/usr/bin/env python3
"""Every ringlogctl command and option, as the parser defines them (`ringlogctl __describe`), is
documented in docs/ringlogctl.md and in ringlogctl(1), and neither documents a command that
does not exist.

A command is documented by a section whose heading names it (`## logs`, or `## run, attach` for
several); each of its options by every one of its names (`-n`, `--tail`) written in that section
as code (`--tail`) in the Markdown and in bold (*--tail*) in the scdoc source. Global options go
in a section named "Global options".

usage: check_ringlogctl_documented.py RINGLOGCTL DOCS_MD MAN_SCD
"""
import re
import subprocess
import sys


def sections(text, level_re):
    """{heading words: section text} for the headings matching level_re."""
    out = {}
    current = None
    for line in text.splitlines():
        m = re.match(level_re, line)
        if m:
            current = m.group(1).strip()
            out[current] = ""
            continue
        if re.match(r"^#{1,2} ", line):
            current = None  # a heading of a higher level ends the section
        if current is not None:
            out[current] += line + "\n"
    return out


def section_for(secs, command):
    for heading, body in secs.items():
        words = re.split(r"[\s,/]+", heading.lower())
        if command.lower() in words:
            return body
    return None


def main():
    ringlogctl, md_path, scd_path = sys.argv[1:4]
    described = subprocess.run([ringlogctl, "__describe"], check=True, capture_output=True,
                                text=True).stdout
    commands = {}
    for line in described.splitlines():
        command, names, _ = (line.split("\t") + ["", ""])[:3]
        command = command or "global options"
        commands.setdefault(command, [])
        if names:
            # Options only: positionals (CONTAINER, CMD) are the synopsis' business.
            commands[command] += [n for n in names.split(",")
                                  if n.startswith("-") and n not in ("--help", "-h")]
    md = sections(open(md_path).read(), r"^## (.*)")
    scd = sections(open(scd_path).read(), r"^## (.*)")
    errors = []
    for doc, secs, quote in (("docs/ringlogctl.md", md, "`{}`"),
                             ("ringlogctl(1)", scd, "*{}*")):
        for command, options in commands.items():
            body = section_for(secs, command.split()[0]) if command != "global options" else \
                next((b for h, b in secs.items() if h.lower() == "global options"), None)
            if body is None:
                errors.append(f"{doc}: no section for `{command}`")
                continue
            for name in options:
                # `--tail`, `--tail N`, `--tail=N`, *--tail* _N_
                opening = quote[0] + name
                if opening + quote[-1] not in body and opening + " " not in body and \
                        opening + "=" not in body:
                    errors.append(f"{doc}: `{command}` does not document {name}")
        for heading in secs:
            words = [w for w in re.split(r"[\s,/]+", heading.lower()) if w]
            if heading.lower() in ("global options",) or not words:
                continue
            # A section named like a command must name a real one (the others are prose).
            if words[0] in ("ringlogctl",) and len(words) > 1 and words[1] not in commands:
                errors.append(f"{doc}: section \"{heading}\" names no command")
    for e in errors:
        print(e)
    if not errors:
        total = sum(len(v) for v in commands.values())
        print(f"{len(commands) - 1} commands and {total} option names, all in both documents")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
