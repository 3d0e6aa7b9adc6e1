"""Run a command from this small process and write the command's own peak RSS to a file.

Usage: python -S peak.py OUT_FILE CMD [ARG ...]. Exits as the command did.

Why: the kernel folds the memory high-water mark of the process that starts a command into the command's own
(`ru_maxrss` survives exec). Spawned straight from the benchmark, which may itself have peaked at hundreds of MB
(building a 1,000-page PDF), a command's peak RSS read that peak instead of its own. Started from here, the floor
is this process's few MB.
"""

import os
import signal
import sys


def main() -> int:
    out, cmd = sys.argv[1], sys.argv[2:]
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    # The benchmark signals the whole process group (as a terminal's Ctrl-C does): the command acts on it, this
    # process only waits for the command to finish.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _, status, usage = os.wait4(pid, 0)
    with open(out, "w") as fh:
        fh.write(str(usage.ru_maxrss))
    code = os.waitstatus_to_exitcode(status)
    if code < 0:  # killed by a signal: end the same way, so the benchmark sees what the command saw
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


if __name__ == "__main__":
    sys.exit(main())
