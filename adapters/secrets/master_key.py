"""The master key that seals meter secrets: HES_MASTER_KEY, or a key file.

On the embedded default the key is generated once into ``<data dir>/master.key``
(mode 0600). A PostgreSQL deployment with several hosts sets HES_MASTER_KEY (base64
of 32 random bytes) on every host, so that all of them can open what any of them sealed.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path


class MasterKeyError(RuntimeError):
    pass


def load_master_key(data_dir: Path) -> bytes:
    encoded = os.environ.get("HES_MASTER_KEY")
    if encoded:
        return _decoded(encoded, "HES_MASTER_KEY")
    path = data_dir / "master.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # Written whole under a private name, then linked into place: a second process
        # starting at the same moment either wins the link or reads the complete key.
        draft = data_dir / f".master.key.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(32)).decode("ascii") + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process was first: use its key
        finally:
            draft.unlink()
    return _decoded(path.read_text().strip(), str(path))


def _decoded(encoded: str, origin: str) -> bytes:
    try:
        key = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise MasterKeyError(f"the master key in {origin} is not valid base64") from None
    if len(key) != 32:
        raise MasterKeyError(f"the master key in {origin} must be 32 bytes, not {len(key)}")
    return key
