"""Entry point of a sandboxed run: install an audit hook, then run the answer (never imported by modelsat).

Usage (by `sandbox.run_python`): python -I -B sandbox_guard.py SCRATCH_DIR answer.py

The hook (PEP 578) refuses, with PermissionError: opening a file for writing, deleting, renaming,
linking or changing the mode of anything outside SCRATCH_DIR; creating or connecting sockets;
starting programs (subprocess, os.system, exec, spawn, fork); loading native code with ctypes.
An answer that exits early (`sys.exit`) fails: its tests never ran.
"""

import os
import sys

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
PATH_EVENTS = {  # audit event -> indices of the path arguments
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.rename": (0, 1),
    "os.truncate": (0,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.mkdir": (0,),
    "os.link": (0, 1),
    "os.symlink": (0, 1),
    "os.utime": (0,),
    "shutil.rmtree": (0,),
    "shutil.move": (0, 1),
    "shutil.copyfile": (1,),
}
REFUSED = {
    "socket.__new__",
    "socket.connect",
    "socket.bind",
    "socket.sendto",
    "socket.sendmsg",
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "pty.spawn",
    "ctypes.dlopen",
    "ctypes.dlsym",
}


def main() -> None:
    """Install the hook and run the answer file as module `answer`."""
    scratch = os.path.realpath(sys.argv[1])
    with open(sys.argv[2], encoding="utf-8") as handle:
        source = handle.read()

    def inside(path: object) -> bool:
        if isinstance(path, int):  # an already open descriptor
            return True
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        real = os.path.realpath(os.path.join(scratch, str(path)))
        return real == scratch or real.startswith(scratch + os.sep)

    def hook(event: str, args: tuple) -> None:
        if event in REFUSED:
            raise PermissionError(f"sandbox: {event} is not allowed")
        if event == "open":
            path, mode, flags = args
            writes = (mode is not None and any(c in str(mode) for c in "wax+")) or (
                isinstance(flags, int) and flags & WRITE_FLAGS
            )
            if writes and path is not None and not inside(path):
                raise PermissionError(f"sandbox: writing {path!r} outside the scratch directory")
        elif event in PATH_EVENTS:
            for index in PATH_EVENTS[event]:
                if index < len(args) and args[index] is not None and not inside(args[index]):
                    raise PermissionError(f"sandbox: {event} on {args[index]!r} outside the scratch directory")

    sys.addaudithook(hook)
    code = compile(source, "answer.py", "exec")
    try:
        exec(code, {"__name__": "answer", "__file__": "answer.py"})
    except SystemExit as exc:
        print(f"sandbox: the answer exited ({exc.code!r}) before its tests finished", file=sys.stderr)
        sys.exit(3)


if __name__ == "__main__":
    main()
