"""`python -m oompa_lsp` starts the language server (the same as the `oompa-lsp` command)."""

import sys

from oompa_lsp.lsp.server import main

if __name__ == "__main__":
    sys.exit(main())
