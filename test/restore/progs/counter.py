# Restore test target run by Debian's python3: two threads each count rounds into DIR/count.N
# (kept open, rewritten in place) and check the SHA-256 of a 1 MiB buffer on every round; a wrong
# hash writes DIR/fail and exits 1. Usage: python3 counter.py DIR
import hashlib
import os
import sys
import threading
import time

out = sys.argv[1]
buf = bytes(range(256)) * 4096
want = hashlib.sha256(buf).hexdigest()


def count(n):
    with open(os.path.join(out, f"count.{n}"), "w") as f:
        i = 0
        while True:
            i += 1
            if hashlib.sha256(buf).hexdigest() != want:
                with open(os.path.join(out, "fail"), "w") as x:
                    x.write(f"thread {n} round {i}: wrong hash\n")
                os._exit(1)
            f.seek(0)
            f.write(f"{i:12d}")
            f.flush()
            time.sleep(0.01)


threads = [threading.Thread(target=count, args=(n,), daemon=True) for n in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
