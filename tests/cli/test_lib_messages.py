"""The library's messages name the data (file, field, value) and, where the caller must give
something, the library option, never a command-line flag: the GDAL driver and C API users see
them too (issue 17). Every string literal in lib/src is looked at; CLI wording lives in cli/."""
import os
import re

from kotest import SRC, main

# (file name, text) pairs left to their owners: osmium's own arguments, which the import's
# prefilter passes to osmium tags-filter (argv, not a message).
KNOWN = {("import.c", "--overwrite"), ("import.c", "--no-progress")}

LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]+")


def literals(text):
    """String literals outside comments, adjacent ones joined as the compiler does."""
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    out, last_end, cur = [], None, None
    for m in LITERAL.finditer(text):
        if cur is not None and text[last_end:m.start()].strip() == "":
            cur += m.group(1)
        else:
            if cur is not None:
                out.append(cur)
            cur = m.group(1)
        last_end = m.end()
    if cur is not None:
        out.append(cur)
    return out


def test_no_cli_flag_in_library_messages(tmp):
    lib = os.path.join(SRC, "lib", "src")
    found, scanned = [], 0
    for top, _, files in sorted(os.walk(lib)):
        for name in sorted(f for f in files if f.endswith((".c", ".h"))):
            scanned += 1
            path = os.path.join(top, name)
            for s in literals(open(path, encoding="utf-8").read()):
                if FLAG.search(s) and not any(n == name and k in s for n, k in KNOWN):
                    found.append((os.path.relpath(path, lib), s))
    assert scanned >= 40, f"only {scanned} sources under {lib}"  # the scan sees the library
    assert not found, "\n".join(f"{n}: {s}" for n, s in found)


def test_the_scan_sees_flags(tmp):
    """Control: the scan finds a flag in a message and ignores decrements and comments."""
    src = 'x = "give --dem to place it"; /* "--not" */ n--; y = "a" "--b";'
    assert [s for s in literals(src) if FLAG.search(s)] == ["give --dem to place it"]


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_")])
