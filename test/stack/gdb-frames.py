# Prints every thread's frames as gdb sees them, as one JSON line prefixed by "FRAMES-JSON":
# [{"tid": N, "frames": [{"pc": "0x...", "name": str|None, "type": "normal"|"inline"|"sigtramp"|"tailcall"|...}]}]
# Sourced by test/stack/helpers.ts after the target (core or live process) is loaded.
import gdb
import json

TYPES = {
    gdb.NORMAL_FRAME: "normal",
    gdb.DUMMY_FRAME: "dummy",
    gdb.INLINE_FRAME: "inline",
    gdb.TAILCALL_FRAME: "tailcall",
    gdb.SIGTRAMP_FRAME: "sigtramp",
    gdb.ARCH_FRAME: "arch",
    gdb.SENTINEL_FRAME: "sentinel",
}

threads = []
for inferior in gdb.inferiors():
    for thread in inferior.threads():
        thread.switch()
        frames = []
        frame = gdb.newest_frame()
        while frame is not None and len(frames) < 1000:
            frames.append({"pc": hex(frame.pc()), "name": frame.name(), "type": TYPES.get(frame.type(), "other")})
            try:
                frame = frame.older()
            except gdb.error:
                break
        threads.append({"tid": thread.ptid[1], "frames": frames})
print("FRAMES-JSON" + json.dumps(threads))
