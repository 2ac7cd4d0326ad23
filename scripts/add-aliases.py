#!/usr/bin/env python3
"""Adds [Alias("notary.<Name>")] to every [GenerateSerializer] type and every grain interface
under src/ that lacks one (idempotent). Orleans writes these aliases instead of the CLR type
names, so persisted state and messages survive a class rename or a namespace move.
Used once when the aliases were introduced and by anyone adding types in bulk; the test
SerializationAliasTests fails on any type without one."""
import pathlib, re, sys

root = pathlib.Path(__file__).resolve().parent.parent
decl = re.compile(r'^\s*(?:public|internal)\s+(?:sealed\s+|static\s+|readonly\s+|partial\s+|abstract\s+)*(?:record\s+struct|record|class|struct|interface)\s+(\w+)(<[^>]*>)?')
changed = 0
for path in sorted((root / 'src').rglob('*.cs')):
    if '/obj/' in str(path) or '/bin/' in str(path):
        continue
    lines = path.read_text().split('\n')
    out = []
    i = 0
    dirty = False
    while i < len(lines):
        line = lines[i]
        m = re.match(r'^(\s*)\[GenerateSerializer([^\]]*)\]\s*$', line)
        if m and 'Alias(' not in line:
            # find the declaration
            j = i + 1
            while j < len(lines) and (lines[j].strip().startswith('[') or lines[j].strip().startswith('///')):
                j += 1
            d = decl.match(lines[j])
            if not d:
                sys.exit(f'{path}:{j+1}: no declaration after [GenerateSerializer]')
            name = d.group(1) + (f'`{d.group(2).count(",") + 1}' if d.group(2) else '')
            already = any('Alias(' in lines[k] for k in range(i, j))
            if not already:
                line = f'{m.group(1)}[GenerateSerializer{m.group(2)}, Alias("notary.{name}")]'
                dirty = True
        out.append(line)
        i += 1
    # grain interfaces
    text = '\n'.join(out)
    def add_iface(mm):
        global changed
        indent, name = mm.group(1), mm.group(2)
        return f'{indent}[Alias("notary.{name}")]\n{mm.group(0)}'
    iface = re.compile(r'^(\s*)public\s+interface\s+(I\w+Grain|ICertificateSubscriber)\b[^\n]*:[^\n]*$', re.M)
    new = []
    for mm in iface.finditer(text):
        start = mm.start()
        before = text[:start].rstrip('\n').split('\n')
        # skip doc comments / attributes directly above
        k = len(before) - 1
        has = False
        while k >= 0 and (before[k].strip().startswith('[') or before[k].strip().startswith('///')):
            if 'Alias(' in before[k]:
                has = True
            k -= 1
        if not has:
            new.append(mm)
    for mm in reversed(new):
        text = text[:mm.start()] + add_iface(mm) + text[mm.end():]
        dirty = True
    if dirty:
        path.write_text(text)
        changed += 1
        print(f'aliased {path.relative_to(root)}')
print(f'{changed} files changed')
