"""Every module of the package imports on its own, first: a user's `from remud_gen.dataset.shards import ...` must
not depend on which other module happened to be imported before it (an import cycle only shows in some orders)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_each_module_imports_first_in_a_fresh_package() -> None:
    script = textwrap.dedent(
        """
        import importlib, pkgutil, sys
        import remud_gen
        names = [m.name for m in pkgutil.walk_packages(remud_gen.__path__, "remud_gen.")
                 if not m.name.endswith("__main__")]
        failed = []
        for name in names:
            for loaded in [k for k in sys.modules if k.startswith("remud_gen.")]:
                del sys.modules[loaded]
            try:
                importlib.import_module(name)
            except ImportError as exc:
                failed.append(f"{name}: {exc}")
        print(len(names))
        print("\\n".join(failed))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True)
    count, *failed = out.stdout.strip().splitlines()
    assert int(count) > 100
    assert not failed, "\n".join(failed)
