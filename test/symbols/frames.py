# Prints every frame of the selected thread as gdb sees it, one line each, for test/symbols:
# FRAME <pc> <type> <function> <file> <line>  (file "-" and line 0 when gdb has no line info).
f = gdb.newest_frame()
while f is not None:
    sal = f.find_sal()
    name = f.name() or "-"
    path = sal.symtab.filename if sal.symtab is not None else "-"
    print("FRAME %#x %d %s %s %d" % (f.pc(), f.type(), name, path, sal.line))
    f = f.older()
